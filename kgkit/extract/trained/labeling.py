"""Teacher -> student: label a stratified sample of a corpus's chunks with an LLM, as training examples.

``kgkit extract label DIR --pipeline pipelines/llm-openai.yaml --sample N`` reads the folder with the
pipeline's reader and chunker, picks ``N`` chunks spread over the documents (round robin over shuffled
documents, so every document contributes before any contributes twice), asks the pipeline's LLM
extractor for facts, and appends one example per chunk to ``--out``::

    {"text": chunk text, "triples": [{"sub", "rel", "obj"}], "id": chunk id, "document": doc id, "teacher": version}

A chunk whose answer is faulty (unparseable, failed after retries) goes to ``<out>.quarantine.jsonl``
with the reason and is not written as an example (an empty example would teach "no facts here").
Re-running the command resumes: chunks already written or quarantined are not asked again, and
answers are cached by the LLM client. ``--budget`` caps tokens; the run stops before crossing it and
keeps what it wrote.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kgkit.config import load_pipeline
from kgkit.errors import BudgetExceededError, ConfigError, DocumentReadError
from kgkit.extract import make_extractor
from kgkit.ingest.chunking import SentenceChunker
from kgkit.ingest.readers import DEFAULT_INCLUDE, read_document, scan_folder
from kgkit.llm.settings import resolve_llm_settings
from kgkit.ontology import load_ontology
from kgkit.types import Chunk

__all__ = ["LabelReport", "label_folder", "stratified_sample"]


@dataclass
class LabelReport:
    sampled: int = 0
    labelled: int = 0
    already_done: int = 0
    quarantined: int = 0
    triples: int = 0
    stopped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def stratified_sample(chunks: Sequence[Chunk], n: int, seed: int = 0) -> list[Chunk]:
    """``n`` chunks spread over documents: one from each (shuffled) document in turn, then the next round."""
    rng = random.Random(seed)
    by_doc: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_doc.setdefault(c.document_id, []).append(c)
    queues = [rng.sample(v, len(v)) for _, v in sorted(by_doc.items())]
    rng.shuffle(queues)
    out: list[Chunk] = []
    while len(out) < n and any(queues):
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop())
    return out


def _done_ids(*files: Path) -> set[str]:
    done: set[str] = set()
    for f in files:
        if not f.is_file():
            continue
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    done.add(str(json.loads(line)["id"]))
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a torn last line of an interrupted run: that chunk is asked again
    return done


def label_folder(folder: str | Path, *, pipeline: str | Path, out: str | Path, sample: int = 200,
                 budget_tokens: int | None = None, seed: int = 0, batch: int = 8) -> LabelReport:
    """Label ``sample`` chunks of ``folder`` with the pipeline's LLM extractor; see the module docstring.

    Raises:
        ConfigError: the pipeline's extractor is not an LLM, or the folder has no readable text.
    """
    cfg = load_pipeline(pipeline)
    if cfg.extractor.get("name") != "llm":
        raise ConfigError(f"{cfg.source}: the teacher must be an LLM extractor (extractor: {{name: llm}}); "
                          "use pipelines/llm-openai.yaml or pipelines/llm-local.yaml")
    kwargs = resolve_llm_settings(explicit={"budget_tokens": budget_tokens}, pipeline=cfg.extractor_kwargs())
    teacher = make_extractor("llm", ontology=load_ontology(cfg.ontology), **kwargs)
    chunker = SentenceChunker(**cfg.chunking)
    chunks: list[Chunk] = []
    for f in scan_folder(Path(folder), cfg.ingest.get("include", DEFAULT_INCLUDE), cfg.ingest.get("exclude", ())):
        try:
            chunks.extend(chunker.chunk(read_document(f)))
        except DocumentReadError:
            continue
    if not chunks:
        raise ConfigError(f"{folder}: no readable text to label; check the folder and the pipeline's include patterns")
    out_path = Path(out)
    quarantine = out_path.with_name(out_path.name + ".quarantine.jsonl")
    done = _done_ids(out_path, quarantine)
    picked = stratified_sample(chunks, sample, seed)
    report = LabelReport(sampled=len(picked))
    todo = [c for c in picked if c.id not in done]
    report.already_done = len(picked) - len(todo)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    for i in range(0, len(todo), batch):
        part = todo[i:i + batch]
        try:
            results = teacher.extract(part)
        except BudgetExceededError as err:
            report.stopped = f"budget reached: {err}. Rerun with a larger --budget to continue; finished chunks are kept."
            break
        with out_path.open("a", encoding="utf-8") as ok, quarantine.open("a", encoding="utf-8") as bad:
            for r in results:
                if not r.ok:
                    bad.write(json.dumps({"id": r.chunk.id, "document": r.chunk.document_id, "reason": r.error}) + "\n")
                    report.quarantined += 1
                    continue
                triples = [{"sub": t.subject.name, "rel": t.predicate, "obj": t.object.name} for t in r.triples]
                ok.write(json.dumps({"text": r.chunk.text, "triples": triples, "id": r.chunk.id,
                                     "document": r.chunk.document_id, "teacher": teacher.version}, ensure_ascii=False) + "\n")
                report.labelled += 1
                report.triples += len(triples)
    return report
