"""Crash safety: kill -9 in the middle of an ingest, and kill -9 of the embedded server itself."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kgkit.store.embedded import EmbeddedFalkorServer, FalkorDBStore
from kgkit.types import Entity, Provenance, Span, Triple

KGKIT = [sys.executable, "-m", "kgkit.cli"]


def _corpus(tmp_path: Path, sample_dir: Path, copies: int) -> Path:
    corpus = tmp_path / "corpus"
    for i in range(copies):
        shutil.copytree(sample_dir, corpus / f"part{i}", ignore=shutil.ignore_patterns("GOLD.yaml", "README.md", ".kgkitignore"))
    return corpus


def _stats(workdir: Path) -> dict:
    out = subprocess.run(KGKIT + ["stats", "--json", "--workdir", str(workdir)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _done(ledger_dir: Path) -> int:
    n = 0
    for db in ledger_dir.glob("*.sqlite"):
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            try:
                n += con.execute("SELECT count(*) FROM documents WHERE status = 'done'").fetchone()[0]
            except sqlite3.OperationalError:
                pass
    return n


@pytest.mark.slow
def test_kill_9_mid_ingest_then_rerun_equals_clean_run(tmp_path: Path, sample_dir: Path) -> None:
    corpus = _corpus(tmp_path, sample_dir, copies=3)
    n_files = sum(1 for p in corpus.rglob("*") if p.is_file())
    crashed, clean = tmp_path / "crashed", tmp_path / "clean"
    try:
        proc = subprocess.Popen(KGKIT + ["ingest", str(corpus), "--workdir", str(crashed), "--no-progress", "--no-fuse"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _done(crashed / "ledger") < 20 and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "ingest finished before it could be killed; make the corpus larger"
        done_at_kill = _done(crashed / "ledger")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert 0 < done_at_kill < n_files

        rerun = subprocess.run(KGKIT + ["ingest", str(corpus), "--workdir", str(crashed), "--no-progress", "--no-fuse", "--json"],
                               capture_output=True, text=True, check=True)
        report = json.loads(rerun.stdout)
        assert report["unchanged"] >= done_at_kill, "documents finished before the kill are not redone"
        assert report["processed"] <= n_files - done_at_kill + 16, "at most the in-flight batch is redone"

        subprocess.run(KGKIT + ["ingest", str(corpus), "--workdir", str(clean), "--no-progress", "--no-fuse"],
                       capture_output=True, check=True)
        assert _stats(crashed) == _stats(clean)
    finally:
        for w in (crashed, clean):
            EmbeddedFalkorServer(w / "falkordb").stop()


def test_acknowledged_writes_survive_kill_9_of_the_server(tmp_path: Path) -> None:
    data = tmp_path / "falkordb"
    store = FalkorDBStore(data_dir=data, keep_running=True)
    store.open()
    a, b = Entity("Marie Curie", "Person"), Entity("Warsaw", "Place")
    prov = Provenance("d", "d#0", Span(0, 5), "test", "1", 0.9)
    store.write_triples([Triple(a, "bornIn", b, prov, "x")])
    pid = store.server.pid()
    store.close()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    with FalkorDBStore(data_dir=data) as again:
        s = again.stats()
        assert (s.entities, s.facts, s.evidence) == (2, 1, 1)
        assert again.server.pid() != pid
