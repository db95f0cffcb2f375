"""The ingest ledger: what was ingested, from which version of each file, and what failed.

A small SQLite database (WAL mode, one transaction per state change). A document is marked
``done`` only after the store acknowledged its writes, so a crash leaves it ``processing`` and the
next run retracts and redoes it; store writes are idempotent, so nothing is duplicated.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from kgkit.types import Chunk

__all__ = ["Ledger", "LedgerEntry", "Failure", "SkipRecord"]

# Columns added after the first release; ledgers written before get them on open.
_ADDED_COLUMNS = {"documents": (("kind", "TEXT"), ("fix", "TEXT"))}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    content_hash TEXT,
    size INTEGER,
    mtime_ns INTEGER,
    status TEXT NOT NULL,            -- processing | done | skipped | failed
    extractor_key TEXT,
    n_chunks INTEGER DEFAULT 0,
    n_facts INTEGER DEFAULT 0,
    reason TEXT,
    updated_at REAL
);
CREATE INDEX IF NOT EXISTS documents_root ON documents(root);
CREATE TABLE IF NOT EXISTS failures (
    chunk_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    chunk_index INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    stage TEXT NOT NULL,
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    updated_at REAL
);
CREATE TABLE IF NOT EXISTS skipped_paths (  -- paths the folder walk did not read; rebuilt by each run
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    fix TEXT,
    updated_at REAL,
    PRIMARY KEY (root, path)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    root TEXT, started REAL, finished REAL, report TEXT
);
CREATE TABLE IF NOT EXISTS state (  -- small facts about the workdir between runs ("fusion pending")
    key TEXT PRIMARY KEY, value TEXT
);
"""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    doc_id: str
    root: str
    path: str
    content_hash: str | None
    size: int | None
    mtime_ns: int | None
    status: str
    extractor_key: str | None
    n_chunks: int
    n_facts: int
    reason: str | None
    kind: str | None = None
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class SkipRecord:
    """A file that was not (or not fully) ingested: ``status`` is ``skipped``, ``failed`` or ``not read``."""

    root: str
    path: str
    status: str
    kind: str
    reason: str
    fix: str | None


@dataclass(frozen=True, slots=True)
class Failure:
    chunk_id: str
    doc_id: str
    path: str
    content_hash: str
    chunk_index: int
    start: int
    end: int
    stage: str
    reason: str
    attempts: int


class Ledger:
    """SQLite record of ingested documents and quarantined chunks."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        for table, cols in _ADDED_COLUMNS.items():
            have = {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}
            for name, sql_type in cols:
                if name not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- documents -------------------------------------------------------------------------------
    def entries(self, root: str | None = None) -> dict[str, LedgerEntry]:
        q = "SELECT doc_id, root, path, content_hash, size, mtime_ns, status, extractor_key, n_chunks, n_facts, reason, kind, fix FROM documents"
        rows = self._db.execute(q + (" WHERE root = ?" if root else ""), (root,) if root else ()).fetchall()
        return {r[0]: LedgerEntry(*r) for r in rows}

    def get(self, doc_id: str) -> LedgerEntry | None:
        r = self._db.execute(
            "SELECT doc_id, root, path, content_hash, size, mtime_ns, status, extractor_key, n_chunks, n_facts, reason, kind, fix "
            "FROM documents WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        return LedgerEntry(*r) if r else None

    def mark(
        self, doc_id: str, *, root: str, path: str, status: str, content_hash: str | None = None,
        size: int | None = None, mtime_ns: int | None = None, extractor_key: str | None = None,
        n_chunks: int = 0, n_facts: int = 0, reason: str | None = None, kind: str | None = None, fix: str | None = None,
    ) -> None:
        self._db.execute(
            "INSERT INTO documents (doc_id, root, path, content_hash, size, mtime_ns, status, extractor_key, n_chunks, n_facts, "
            "reason, kind, fix, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(doc_id) DO UPDATE SET "
            "root=excluded.root, path=excluded.path, content_hash=excluded.content_hash, size=excluded.size, "
            "mtime_ns=excluded.mtime_ns, status=excluded.status, extractor_key=excluded.extractor_key, "
            "n_chunks=excluded.n_chunks, n_facts=excluded.n_facts, reason=excluded.reason, kind=excluded.kind, "
            "fix=excluded.fix, updated_at=excluded.updated_at",
            (doc_id, root, path, content_hash, size, mtime_ns, status, extractor_key, n_chunks, n_facts, reason, kind, fix,
             time.time()),
        )

    def touch(self, doc_id: str, *, size: int, mtime_ns: int) -> None:
        """Record a new mtime for a file whose content is unchanged (so the next scan skips hashing)."""
        self._db.execute("UPDATE documents SET size = ?, mtime_ns = ? WHERE doc_id = ?", (size, mtime_ns, doc_id))

    def forget(self, doc_id: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
            self._db.execute("DELETE FROM failures WHERE doc_id = ?", (doc_id,))

    # -- skipped paths -------------------------------------------------------------------------
    def clear_skips(self, root: str) -> None:
        """Forget the skipped paths of ``root`` (each run records them again as it meets them)."""
        self._db.execute("DELETE FROM skipped_paths WHERE root = ?", (root,))

    def record_skip(self, root: str, path: str, *, kind: str, reason: str, fix: str | None) -> None:
        self._db.execute(
            "INSERT INTO skipped_paths (root, path, kind, reason, fix, updated_at) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(root, path) DO UPDATE SET kind=excluded.kind, reason=excluded.reason, fix=excluded.fix, "
            "updated_at=excluded.updated_at", (root, path, kind, reason, fix, time.time()))

    def skipped(self, root: str | None = None) -> list[SkipRecord]:
        """Every file not (fully) ingested: unreadable or failed documents, and paths the walk skipped."""
        where, args = (" AND root = ?", (root,)) if root else ("", ())
        rows = self._db.execute(
            "SELECT root, path, status, COALESCE(kind, status), COALESCE(reason, ''), fix FROM documents "
            f"WHERE status IN ('skipped', 'failed'){where} "
            f"UNION ALL SELECT root, path, 'not read', kind, reason, fix FROM skipped_paths WHERE 1=1{where} "
            "ORDER BY 1, 2", args + args).fetchall()
        return [SkipRecord(*r) for r in rows]

    # -- quarantine ------------------------------------------------------------------------------
    def record_failure(self, chunk: Chunk, *, path: str, content_hash: str, stage: str, reason: str) -> None:
        self._db.execute(
            'INSERT INTO failures (chunk_id, doc_id, path, content_hash, chunk_index, start, "end", stage, reason, attempts, updated_at) '
            "VALUES (?,?,?,?,?,?,?,?,?,1,?) ON CONFLICT(chunk_id) DO UPDATE SET reason=excluded.reason, stage=excluded.stage, "
            "content_hash=excluded.content_hash, start=excluded.start, \"end\"=excluded.\"end\", "
            "attempts=failures.attempts + 1, updated_at=excluded.updated_at",
            (chunk.id, chunk.document_id, path, content_hash, chunk.index, chunk.start, chunk.end, stage, reason[:2000], time.time()),
        )

    def clear_failures(self, doc_id: str) -> None:
        self._db.execute("DELETE FROM failures WHERE doc_id = ?", (doc_id,))

    def resolve_failure(self, chunk_id: str) -> None:
        self._db.execute("DELETE FROM failures WHERE chunk_id = ?", (chunk_id,))

    def failures(self, doc_id: str | None = None) -> list[Failure]:
        q = 'SELECT chunk_id, doc_id, path, content_hash, chunk_index, start, "end", stage, reason, attempts FROM failures'
        rows = self._db.execute(q + (" WHERE doc_id = ?" if doc_id else "") + " ORDER BY doc_id, chunk_index",
                                (doc_id,) if doc_id else ()).fetchall()
        return [Failure(*r) for r in rows]

    # -- state -----------------------------------------------------------------------------------
    def get_state(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, key: str, value: str | None) -> None:
        """Set ``key`` (``None`` removes it)."""
        if value is None:
            self._db.execute("DELETE FROM state WHERE key = ?", (key,))
        else:
            self._db.execute("INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                             (key, value))

    # -- runs ------------------------------------------------------------------------------------
    def start_run(self, root: str) -> int:
        cur = self._db.execute("INSERT INTO runs (root, started) VALUES (?, ?)", (root, time.time()))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, report: dict[str, object]) -> None:
        self._db.execute("UPDATE runs SET finished = ?, report = ? WHERE run_id = ?",
                         (time.time(), json.dumps(report, default=str), run_id))

    def runs(self) -> Iterator[tuple[int, str, float, float | None, dict[str, object] | None]]:
        for run_id, root, started, finished, report in self._db.execute("SELECT run_id, root, started, finished, report FROM runs ORDER BY run_id"):
            yield run_id, root, started, finished, json.loads(report) if report else None
