"""The ingest run: folder -> documents -> chunks -> extraction -> store, remembered in the ledger.

:func:`ingest_folder` is idempotent and resumable:

* an unchanged file (same size and mtime, or same content hash) with the same extractor is skipped
  without reading or extracting it;
* a changed file's old facts are retracted before its new version is written, so facts that came
  only from the old version disappear;
* a deleted file's facts are retracted;
* a document is marked ``done`` only after the store acknowledged its writes; a crash leaves it
  ``processing`` and the next run redoes it (all writes are idempotent ``MERGE``\\ s).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence, TypeVar

from kgkit.errors import (BudgetExceededError, DocumentReadError, ExtractionError, ReadOnlyQueryError, StoreError,
                          StoreUnavailableError)
from kgkit.extract.base import ChunkExtraction, Extractor
from kgkit.ingest.chunking import SentenceChunker
from kgkit.ingest.executors import ExecutorSpec, extractor_for, parse_executor
from kgkit.ingest.ledger import Ledger, LedgerEntry
from kgkit.ingest.paths import path_to_text, text_to_path
from kgkit.ingest.readers import (DEFAULT_INCLUDE, DEFAULT_MAX_BYTES, Reader, SourceFile, read_document, read_source,
                                  reader_table)
from kgkit.ingest.scanning import FolderScan, scan
from kgkit.ontology import Ontology
from kgkit.store.base import GraphStore
from kgkit.types import Chunk, Document, stable_hash

__all__ = ["IngestReport", "ingest_folder", "retry_failed", "extractor_key"]

# Errors that one document can cause in extraction or in the store write: the batch is redone one
# document at a time and only the document that still fails is marked failed. A store that is down
# or refuses writes is not one document's fault, so those stop the run.
_PER_DOCUMENT_ERRORS = (ExtractionError, StoreError, ValueError, UnicodeError)
_RUN_STOPPING_ERRORS = (StoreUnavailableError, ReadOnlyQueryError, BudgetExceededError)
_T = TypeVar("_T")


@dataclass
class IngestReport:
    root: str
    scanned: int = 0
    unchanged: int = 0
    new: int = 0
    changed: int = 0
    deleted: int = 0
    processed: int = 0
    failed: int = 0  # documents whose extraction or store write failed (kept for the next run)
    chunks: int = 0
    extracted_chunks: int = 0
    failed_chunks: int = 0
    triples: int = 0
    mentions: int = 0
    not_matched: int = 0  # files under the folder that match no include pattern
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason and fix)
    skipped_counts: dict[str, int] = field(default_factory=dict)  # kind -> number of paths
    failed_documents: list[tuple[str, str]] = field(default_factory=list)  # (path, error)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (path, repair made while reading)
    stopped: str | None = None
    dry_run_estimate: dict[str, Any] | None = None
    fusion: dict[str, Any] | None = None  # summary of the fusion run that followed, if any
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def add_skip(self, path: str, kind: str, explanation: str) -> None:
        self.skipped.append((path, explanation))
        self.skipped_counts[kind] = self.skipped_counts.get(kind, 0) + 1


def extractor_key(extractor: Extractor, ontology: Ontology) -> str:
    """Identity of what extraction produces: a change re-extracts every document."""
    onto = stable_hash(repr(sorted(ontology.to_dict().items(), key=lambda kv: kv[0])))
    return f"{extractor.name}:{extractor.version}:{ontology.name}:{onto}"


@dataclass
class _Pending:
    src: SourceFile
    doc: Document
    chunks: list[Chunk]
    previously_stored: bool
    warnings: tuple[str, ...] = ()


@dataclass
class _Run:
    """What every step of one ingest run shares."""

    ledger: Ledger
    report: IngestReport
    key: str  # extractor key
    root_key: str  # the resolved absolute folder, as text
    known: dict[str, LedgerEntry]
    stored_docs: set[str]
    chunker: SentenceChunker
    max_bytes: int
    dry_run: bool
    readers: Mapping[str, Reader] | None = None  # suffix -> reader (None: every registered reader's suffixes)


def _progress(enabled: bool) -> Any:
    if not enabled:
        return contextlib.nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), transient=False)


def ingest_folder(
    root: str | Path,
    *,
    store: GraphStore,
    extractor: Extractor,
    ontology: Ontology,
    ledger: Ledger,
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = (),
    chunker: SentenceChunker | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    batch_documents: int = 16,
    follow_symlinks: bool = False,
    dry_run: bool = False,
    progress: bool = False,
    readers: Mapping[str, str] | None = None,
    executor: str | Mapping[str, Any] | ExecutorSpec | None = None,
) -> IngestReport:
    """Ingest every matching file under ``root`` into ``store``; see the module docstring.

    One bad file never stops the run: a file that cannot be read is reported (path, reason, fix) and
    recorded in the ledger; a document whose extraction or store write fails is marked failed and
    retried by the next run; the other documents of its batch are written.

    Args:
        root: folder of documents; the ledger knows it by its resolved absolute path.
        store: an open :class:`GraphStore`.
        extractor: any :class:`Extractor` (spaCy, LLM, ...).
        ontology: the ontology the extractor works with (part of the ledger's extractor key).
        ledger: the :class:`Ledger` that belongs to ``store``.
        include / exclude: glob patterns relative to ``root`` (case-insensitive).
        chunker: how documents are cut (default :class:`SentenceChunker`).
        max_bytes: files above this size are reported and skipped (at most ``max_bytes + 1`` bytes are read).
        batch_documents: documents extracted together (spaCy ``pipe`` / LLM concurrency).
        follow_symlinks: follow symlinks that point outside ``root`` (by default they are reported and skipped).
        dry_run: read and chunk what would be processed, ask the extractor for an estimate
            (``extractor.estimate(chunks)`` when it has one) and write nothing.
        progress: show a rich progress bar.
        readers: suffix -> registered reader name (:data:`kgkit.registry.readers`), over the readers'
            own suffixes (:func:`kgkit.ingest.readers.reader_table`).
        executor: where extraction runs: ``local`` (default), ``ray``, or a mapping of
            :class:`kgkit.ingest.executors.ExecutorSpec` fields (``{name: ray, address: auto, workers: 8}``).
            Store writes and the ledger stay in this process whatever the executor.
    """
    spec = parse_executor(executor)
    if spec.name == "local" or dry_run:
        return _ingest(root, store=store, extractor=extractor, ontology=ontology, ledger=ledger, include=include,
                       exclude=exclude, chunker=chunker, max_bytes=max_bytes, batch_documents=batch_documents,
                       follow_symlinks=follow_symlinks, dry_run=dry_run, progress=progress, readers=readers)
    remote = extractor_for(extractor, spec)
    try:
        return _ingest(root, store=store, extractor=remote, ontology=ontology, ledger=ledger, include=include,
                       exclude=exclude, chunker=chunker, max_bytes=max_bytes, batch_documents=batch_documents,
                       follow_symlinks=follow_symlinks, dry_run=dry_run, progress=progress, readers=readers)
    finally:
        close = getattr(remote, "close", None)
        if callable(close):
            close()


def _ingest(
    root: str | Path, *, store: GraphStore, extractor: Extractor, ontology: Ontology, ledger: Ledger,
    include: Sequence[str], exclude: Sequence[str], chunker: SentenceChunker | None, max_bytes: int,
    batch_documents: int, follow_symlinks: bool, dry_run: bool, progress: bool, readers: Mapping[str, str] | None,
) -> IngestReport:
    t0 = time.perf_counter()
    found = scan(root, include, exclude, follow_symlinks=follow_symlinks)
    report = IngestReport(root=path_to_text(found.root))
    report.scanned = len(found.files)
    report.not_matched = found.not_matched
    run = _Run(ledger, report, extractor_key(extractor, ontology), report.root, ledger.entries(report.root),
               store.document_ids(), chunker or SentenceChunker(), max_bytes, dry_run, reader_table(readers))
    run_id = None if dry_run else ledger.start_run(run.root_key)
    _record_scan_skips(found, run)
    _retract_deleted(found, run, store)

    todo: list[SourceFile] = []
    for f in found.files:
        e = run.known.get(f.doc_id)
        # Unchanged size and mtime of a document that is done and still in the store: no work at all.
        # Skipped (unreadable) and failed files are cheap to look at again, and may have been fixed.
        fresh = e is not None and e.extractor_key == run.key and e.status == "done"
        if fresh and e is not None and e.size == f.size and e.mtime_ns == f.mtime_ns and (
                f.doc_id in run.stored_docs or e.n_chunks == 0):
            report.unchanged += 1
            continue
        todo.append(f)

    with _progress(progress) as bar:
        task = bar.add_task("ingest", total=len(todo)) if bar else None
        prefetch = getattr(extractor, "prefetch", None) if not dry_run else None
        prepared = ((len(b), [p for p in (_prepare(f, run) for f in b) if p is not None])
                    for b in _batched(todo, batch_documents))
        # Only a remote executor reads ahead (``prefetch_depth`` batches); a local run prepares each
        # batch when it is due.
        depth = max(1, int(getattr(extractor, "prefetch_depth", 1))) if callable(prefetch) else 0
        for (n_files, pending), ahead in _with_lookahead(prepared, depth):
            if bar and len(pending) < n_files:
                bar.advance(task, n_files - len(pending))
            if callable(prefetch):
                # The workers extract the batches ahead while this one is written to the store, so
                # they never wait for the driver (prefetching an already sent batch is a no-op).
                for _, batch in ((n_files, pending), *ahead):
                    prefetch([c for p in batch for c in p.chunks])
            if not pending:
                continue
            if dry_run:
                _estimate(extractor, pending, report)
            else:
                try:
                    _process_isolated(pending, store=store, extractor=extractor, run=run)
                except BudgetExceededError as err:
                    report.stopped = f"budget reached: {err}. Rerun the same command with a larger --budget to continue."
                    break
            if bar:
                bar.advance(task, len(pending))
    report.seconds = round(time.perf_counter() - t0, 3)
    if run_id is not None:
        ledger.finish_run(run_id, report.to_dict())
    return report


def _record_scan_skips(found: FolderScan, run: _Run) -> None:
    if not run.dry_run:
        run.ledger.clear_skips(run.root_key)
    for s in found.skipped:
        run.report.add_skip(s.path, s.kind, f"{s.reason}; {s.fix}")
        if not run.dry_run:
            run.ledger.record_skip(run.root_key, s.path, kind=s.kind, reason=s.reason, fix=s.fix)


def _retract_deleted(found: FolderScan, run: _Run, store: GraphStore) -> None:
    """Retract the documents of deleted files, and of files now known under a new document id.

    A file that still exists but is outside this run's include/exclude patterns (or is now skipped)
    is left alone: a narrower run must not delete data.
    """
    present = {f.doc_id for f in found.files}
    present_paths = {f.text_path for f in found.files}
    for doc_id, entry in run.known.items():
        if doc_id in present:
            continue
        path = text_to_path(entry.path)
        renamed = path_to_text(os.path.realpath(path)) in present_paths  # ids from before root ids were part of them
        if not renamed and not _gone(path):
            continue
        if not renamed:
            run.report.deleted += 1
        if not run.dry_run:
            store.retract_document(doc_id, delete_document=True)
            run.ledger.forget(doc_id)
            run.stored_docs.discard(doc_id)


def _gone(path: Path) -> bool:
    """Whether ``path`` no longer exists; ``False`` when that cannot be told (e.g. an unreadable folder)."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _with_lookahead(items: Iterator[_T], depth: int) -> Iterator[tuple[_T, list[_T]]]:
    """Each item with the (up to) ``depth`` items after it, reading that far ahead (0: no reading ahead)."""
    window: deque[_T] = deque()
    for item in items:
        window.append(item)
        if len(window) > depth:
            yield window.popleft(), list(window)
    while window:
        yield window.popleft(), list(window)


def _batched(items: Sequence[SourceFile], n: int) -> Iterator[Sequence[SourceFile]]:
    for i in range(0, len(items), max(1, n)):
        yield items[i : i + n]


def _prepare(f: SourceFile, run: _Run) -> _Pending | None:
    e = run.known.get(f.doc_id)
    report, path = run.report, f.text_path
    try:
        read = read_source(f, max_bytes=run.max_bytes, readers=run.readers)
    except DocumentReadError as err:
        if e is not None and e.status == "done":
            # Readable before (e.g. permissions changed): keep its facts rather than lose them.
            report.add_skip(path, err.kind, f"{err.explanation} (facts from its last readable version are kept)")
            if not run.dry_run:
                run.ledger.record_skip(run.root_key, path, kind=err.kind, reason=err.reason, fix=err.fix)
        else:
            report.add_skip(path, err.kind, err.explanation)
            if not run.dry_run:
                run.ledger.mark(f.doc_id, root=run.root_key, path=path, status="skipped", size=f.size,
                                mtime_ns=f.mtime_ns, extractor_key=run.key, reason=err.reason, kind=err.kind, fix=err.fix)
        return None
    doc = read.document
    report.warnings.extend((path, w) for w in read.warnings)
    if e is not None and e.content_hash == doc.content_hash and e.extractor_key == run.key and e.status == "done" \
            and (f.doc_id in run.stored_docs or e.n_chunks == 0):
        report.unchanged += 1  # touched, not changed
        if not run.dry_run:
            run.ledger.touch(f.doc_id, size=f.size, mtime_ns=f.mtime_ns)
        return None
    if e is None:
        report.new += 1
    else:
        report.changed += 1
    chunks = run.chunker.chunk(doc)
    if not chunks:
        report.add_skip(path, "empty", "empty document: no text to extract")
        if not run.dry_run:
            run.ledger.mark(f.doc_id, root=run.root_key, path=path, status="done", content_hash=doc.content_hash,
                            size=f.size, mtime_ns=f.mtime_ns, extractor_key=run.key, n_chunks=0, reason="empty document",
                            kind="empty")
        return None
    return _Pending(f, doc, chunks, previously_stored=e is not None or f.doc_id in run.stored_docs,
                    warnings=read.warnings)


def _estimate(extractor: Extractor, pending: list[_Pending], report: IngestReport) -> None:
    chunks = [c for p in pending for c in p.chunks]
    est: dict[str, Any] = {"documents": len(pending), "chunks": len(chunks), "characters": sum(len(c.text) for c in chunks)}
    estimate = getattr(extractor, "estimate", None)
    if callable(estimate):
        est.update(estimate(chunks))
    total = report.dry_run_estimate or {}
    for k, v in est.items():
        if isinstance(v, (int, float)):
            total[k] = total.get(k, 0) + v
        else:
            total[k] = v
    report.dry_run_estimate = total
    report.chunks += len(chunks)


def _process_isolated(pending: list[_Pending], *, store: GraphStore, extractor: Extractor, run: _Run) -> None:
    """Process a batch; if it fails, redo it one document at a time so only the culprit is lost."""
    try:
        _process(pending, store=store, extractor=extractor, run=run)
    except _RUN_STOPPING_ERRORS:
        raise
    except _PER_DOCUMENT_ERRORS as err:
        if len(pending) > 1:
            for p in pending:
                _process_isolated([p], store=store, extractor=extractor, run=run)
            return
        p = pending[0]
        reason = f"{type(err).__name__}: {err}"[:2000]
        run.ledger.mark(p.doc.id, root=run.root_key, path=p.doc.path, status="failed", content_hash=p.doc.content_hash,
                        size=p.src.size, mtime_ns=p.src.mtime_ns, extractor_key=run.key, n_chunks=len(p.chunks),
                        reason=reason, kind="failed",
                        fix="the next `kgkit ingest` retries it; if it keeps failing, exclude the file and report the error")
        run.report.failed += 1
        run.report.failed_documents.append((p.doc.path, reason))


def _process(pending: list[_Pending], *, store: GraphStore, extractor: Extractor, run: _Run) -> None:
    ledger, report, key, root_key = run.ledger, run.report, run.key, run.root_key
    for p in pending:
        ledger.mark(p.doc.id, root=root_key, path=p.doc.path, status="processing", content_hash=p.doc.content_hash,
                    size=p.src.size, mtime_ns=p.src.mtime_ns, extractor_key=key, n_chunks=len(p.chunks))
    results = extractor.extract([c for p in pending for c in p.chunks])
    by_doc: dict[str, list[ChunkExtraction]] = {}
    for r in results:
        by_doc.setdefault(r.chunk.document_id, []).append(r)
    # One write for the whole batch (fewer round trips and fsyncs); a document is marked done only
    # after that write was acknowledged, so a crash in between just redoes the batch.
    triples: list[Any] = []
    mentions: list[Any] = []
    for p in pending:
        if p.previously_stored:
            store.retract_document(p.doc.id)
        ledger.clear_failures(p.doc.id)
        for r in by_doc.get(p.doc.id, []):
            if r.ok:
                triples.extend(r.triples)
                mentions.extend(r.mentions)
    store.upsert_documents([p.doc for p in pending])
    store.write_triples(triples, mentions)
    for p in pending:
        res = by_doc.get(p.doc.id, [])
        n_triples = sum(len(r.triples) for r in res if r.ok)
        for r in res:
            if not r.ok:
                ledger.record_failure(r.chunk, path=p.doc.path, content_hash=p.doc.content_hash,
                                      stage=extractor.name, reason=r.error or "unknown error")
        n_failed = sum(1 for r in res if not r.ok)
        notes = [*p.warnings, *([f"{n_failed} chunk(s) quarantined"] if n_failed else [])]
        ledger.mark(p.doc.id, root=root_key, path=p.doc.path, status="done", content_hash=p.doc.content_hash,
                    size=p.src.size, mtime_ns=p.src.mtime_ns, extractor_key=key, n_chunks=len(p.chunks),
                    n_facts=n_triples, reason="; ".join(notes) or None)
        report.processed += 1
        report.chunks += len(p.chunks)
        report.extracted_chunks += len(res) - n_failed
        report.failed_chunks += n_failed
        report.triples += n_triples
        report.mentions += sum(len(r.mentions) for r in res if r.ok)


@dataclass
class RetryReport:
    attempted: int = 0
    recovered: int = 0
    still_failing: int = 0
    dropped_stale: int = 0
    triples: int = 0
    stopped: str | None = None


def retry_failed(*, store: GraphStore, extractor: Extractor, ledger: Ledger, limit: int | None = None) -> RetryReport:
    """Re-extract the quarantined chunks; those that succeed are written and leave the quarantine.

    A chunk whose file changed since it failed is dropped from the quarantine (the next ingest
    re-extracts the whole new version).
    """
    rep = RetryReport()
    failures = ledger.failures()[: limit or None]
    docs: dict[str, Document | None] = {}
    chunks: list[Chunk] = []
    for fl in failures:
        if fl.doc_id not in docs:
            path = text_to_path(fl.path)
            try:
                st = path.stat()
                docs[fl.doc_id] = read_document(SourceFile(path, fl.doc_id, st.st_size, st.st_mtime_ns), max_bytes=1 << 62)
            except (OSError, DocumentReadError):
                docs[fl.doc_id] = None
        doc = docs[fl.doc_id]
        if doc is None or doc.content_hash != fl.content_hash:
            ledger.resolve_failure(fl.chunk_id)
            rep.dropped_stale += 1
            continue
        chunks.append(Chunk(fl.chunk_id, fl.doc_id, fl.chunk_index, doc.text[fl.start : fl.end], fl.start, fl.end))
    rep.attempted = len(chunks)
    try:
        results = extractor.extract(chunks)
    except BudgetExceededError as err:
        rep.stopped = f"budget reached: {err}"
        return rep
    for r in results:
        doc = docs[r.chunk.document_id]
        if r.ok:
            store.write_triples(list(r.triples), list(r.mentions))
            ledger.resolve_failure(r.chunk.id)
            rep.recovered += 1
            rep.triples += len(r.triples)
        else:
            assert doc is not None
            ledger.record_failure(r.chunk, path=doc.path, content_hash=doc.content_hash, stage=extractor.name,
                                  reason=r.error or "unknown error")
            rep.still_failing += 1
    return rep
