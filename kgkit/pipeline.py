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
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from kgkit.errors import BudgetExceededError, DocumentReadError
from kgkit.extract.base import ChunkExtraction, Extractor
from kgkit.ingest.chunking import SentenceChunker
from kgkit.ingest.ledger import Ledger
from kgkit.ingest.readers import DEFAULT_INCLUDE, DEFAULT_MAX_BYTES, SourceFile, read_document, scan_folder
from kgkit.ontology import Ontology
from kgkit.store.base import GraphStore
from kgkit.types import Chunk, Document, stable_hash

__all__ = ["IngestReport", "ingest_folder", "retry_failed", "extractor_key"]


@dataclass
class IngestReport:
    root: str
    scanned: int = 0
    unchanged: int = 0
    new: int = 0
    changed: int = 0
    deleted: int = 0
    processed: int = 0
    chunks: int = 0
    extracted_chunks: int = 0
    failed_chunks: int = 0
    triples: int = 0
    mentions: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    stopped: str | None = None
    dry_run_estimate: dict[str, Any] | None = None
    fusion: dict[str, Any] | None = None  # summary of the fusion run that followed, if any
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    dry_run: bool = False,
    progress: bool = False,
) -> IngestReport:
    """Ingest every matching file under ``root`` into ``store``; see the module docstring.

    Args:
        root: folder of documents.
        store: an open :class:`GraphStore`.
        extractor: any :class:`Extractor` (spaCy, LLM, ...).
        ontology: the ontology the extractor works with (part of the ledger's extractor key).
        ledger: the :class:`Ledger` that belongs to ``store``.
        include / exclude: glob patterns relative to ``root``.
        chunker: how documents are cut (default :class:`SentenceChunker`).
        max_bytes: files above this size are reported and skipped.
        batch_documents: documents extracted together (spaCy ``pipe`` / LLM concurrency).
        dry_run: read and chunk what would be processed, ask the extractor for an estimate
            (``extractor.estimate(chunks)`` when it has one) and write nothing.
        progress: show a rich progress bar.
    """
    t0 = time.perf_counter()
    root = Path(root)
    chunker = chunker or SentenceChunker()
    report = IngestReport(root=str(root.resolve()))
    files = scan_folder(root, include, exclude)
    report.scanned = len(files)
    root_key = report.root
    known = ledger.entries(root_key)
    key = extractor_key(extractor, ontology)
    stored_docs = store.document_ids()
    run_id = None if dry_run else ledger.start_run(root_key)

    # Deleted files: retract everything they supported. A file that still exists but is outside
    # this run's include/exclude patterns is left alone (a narrower run must not delete data).
    present = {f.doc_id for f in files}
    for doc_id, entry in known.items():
        if doc_id not in present and not Path(entry.path).exists():
            report.deleted += 1
            if not dry_run:
                store.retract_document(doc_id, delete_document=True)
                ledger.forget(doc_id)

    todo: list[SourceFile] = []
    for f in files:
        e = known.get(f.doc_id)
        # Unchanged size and mtime of a document that is done and still in the store: no work at all.
        # Skipped (unreadable) files are cheap to look at again, and may have become readable.
        fresh = e is not None and e.extractor_key == key and e.status == "done"
        if fresh and e is not None and e.size == f.size and e.mtime_ns == f.mtime_ns and (
            f.doc_id in stored_docs or e.n_chunks == 0
        ):
            report.unchanged += 1
            continue
        todo.append(f)

    pending: list[_Pending] = []
    with _progress(progress) as bar:
        task = bar.add_task("ingest", total=len(todo)) if bar else None
        for batch in _batched(todo, batch_documents):
            pending.clear()
            for f in batch:
                p = _prepare(f, known, key, stored_docs, chunker, max_bytes, ledger, report, dry_run, root_key)
                if p is not None:
                    pending.append(p)
                elif bar:
                    bar.advance(task)
            if not pending:
                continue
            if dry_run:
                _estimate(extractor, pending, report)
                if bar:
                    bar.advance(task, len(pending))
                continue
            try:
                _process(pending, store=store, extractor=extractor, ledger=ledger, key=key, root_key=root_key, report=report)
            except BudgetExceededError as err:
                report.stopped = f"budget reached: {err}. Rerun the same command with a larger --budget to continue."
                break
            if bar:
                bar.advance(task, len(pending))
    report.seconds = round(time.perf_counter() - t0, 3)
    if run_id is not None:
        ledger.finish_run(run_id, report.to_dict())
    return report


def _batched(items: Sequence[SourceFile], n: int) -> Iterator[Sequence[SourceFile]]:
    for i in range(0, len(items), max(1, n)):
        yield items[i : i + n]


def _prepare(
    f: SourceFile, known: dict[str, Any], key: str, stored_docs: set[str], chunker: SentenceChunker,
    max_bytes: int, ledger: Ledger, report: IngestReport, dry_run: bool, root_key: str,
) -> _Pending | None:
    e = known.get(f.doc_id)
    try:
        doc = read_document(f, max_bytes=max_bytes)
    except DocumentReadError as err:
        if e is not None and e.status != "skipped":
            # Readable before (e.g. permissions changed): keep its facts rather than lose them.
            report.skipped.append((str(f.path), f"{err.reason} (facts from its last readable version are kept)"))
        else:
            report.skipped.append((str(f.path), err.reason))
            if not dry_run:
                ledger.mark(f.doc_id, root=root_key, path=str(f.path), status="skipped", size=f.size,
                            mtime_ns=f.mtime_ns, extractor_key=key, reason=err.reason)
        return None
    if e is not None and e.content_hash == doc.content_hash and e.extractor_key == key and e.status == "done" \
            and (f.doc_id in stored_docs or e.n_chunks == 0):
        report.unchanged += 1  # touched, not changed
        if not dry_run:
            ledger.touch(f.doc_id, size=f.size, mtime_ns=f.mtime_ns)
        return None
    if e is None:
        report.new += 1
    else:
        report.changed += 1
    chunks = chunker.chunk(doc)
    if not chunks:
        report.skipped.append((str(f.path), "empty document: no text to extract"))
        if not dry_run:
            ledger.mark(f.doc_id, root=root_key, path=str(f.path), status="done", content_hash=doc.content_hash,
                        size=f.size, mtime_ns=f.mtime_ns, extractor_key=key, n_chunks=0, reason="empty document")
        return None
    return _Pending(f, doc, chunks, previously_stored=e is not None or f.doc_id in stored_docs)


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


def _process(
    pending: list[_Pending], *, store: GraphStore, extractor: Extractor, ledger: Ledger, key: str,
    root_key: str, report: IngestReport,
) -> None:
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
        ledger.mark(p.doc.id, root=root_key, path=p.doc.path, status="done", content_hash=p.doc.content_hash,
                    size=p.src.size, mtime_ns=p.src.mtime_ns, extractor_key=key, n_chunks=len(p.chunks),
                    n_facts=n_triples, reason=f"{n_failed} chunk(s) quarantined" if n_failed else None)
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
            path = Path(fl.path)
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
