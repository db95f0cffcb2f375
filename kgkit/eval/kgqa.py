"""KGQA evaluation: Hits@1, Hits@5, answer-set F1, retrieval recall and latency, with or without an LLM.

Two question formats:

* ``metaqa``: one question a line, ``question with [topic entity]<TAB>answer1|answer2``, answered
  over one KB file (``subject|relation|object``).
* ``json``: WebQSP/CWQ style, a JSON list (or JSON lines) of objects
  ``{"id", "question", "topic_entities": [...], "answers": [...], "subgraph": [[s, r, o], ...]}``;
  each question is answered over its own subgraph (or over ``--kb`` when it has none).

The path scorer is trained from ``(question, answers)`` pairs only (:func:`train_path_scorer`), on
the *train* part of a deterministic split of the given training files (:func:`split_examples`).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from kgkit.errors import ConfigError
from kgkit.reason.graph import GraphIndex
from kgkit.reason.linking import EntityLinker
from kgkit.reason.reasoner import Answer, Reasoner
from kgkit.reason.scoring import LearnedPathScorer, TrainingExample, label_paths
from kgkit.types import normalize_name, stable_hash

__all__ = [
    "QAExample",
    "KGQAReport",
    "read_questions",
    "read_metaqa",
    "read_json_questions",
    "split_examples",
    "label_examples",
    "resolve_ties",
    "train_on_labelled",
    "train_path_scorer",
    "evaluate",
    "ReasonerFactory",
]


@dataclass(frozen=True)
class QAExample:
    """One question with its gold answers (and, for the JSON format, topic entities and subgraph)."""

    question: str
    answers: tuple[str, ...]
    id: str = ""
    topic_entities: tuple[str, ...] = ()
    subgraph: tuple[tuple[str, str, str], ...] = ()


@dataclass
class KGQAReport:
    """Metrics over a set of questions (percentages, milliseconds)."""

    name: str
    questions: int
    hits_at_1: float
    hits_at_5: float
    f1: float
    retrieval_recall: float
    no_answer: int
    latency_p50_ms: float
    latency_p95_ms: float
    llm: bool = False
    llm_hits_at_1: float | None = None
    llm_invalid_citations: int | None = None
    failures: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["failures"] = d["failures"][:20]
        return d


# -- reading ----------------------------------------------------------------------------------------
def read_metaqa(path: str | Path) -> list[QAExample]:
    """Read a MetaQA question file (``question<TAB>a1|a2``).

    Raises:
        ConfigError: missing file or a line without a tab.
    """
    p = _existing(path)
    out: list[QAExample] = []
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if "\t" not in line:
                raise ConfigError(f"{p}:{lineno}: expected 'question<TAB>answer1|answer2'; is this a MetaQA file? "
                                  "Use --format json for WebQSP/CWQ-style files")
            q, ans = line.split("\t", 1)
            out.append(QAExample(q.strip(), tuple(a for a in ans.split("|") if a), id=f"{p.name}:{lineno}"))
    return out


def read_json_questions(path: str | Path) -> list[QAExample]:
    """Read WebQSP/CWQ-style questions from a JSON list or JSON-lines file.

    Raises:
        ConfigError: missing file, bad JSON, or an object without ``question``/``answers``.
    """
    p = _existing(path)
    text = p.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if text.lstrip().startswith("[") else [json.loads(x) for x in text.splitlines() if x.strip()]
    except json.JSONDecodeError as err:
        raise ConfigError(f"{p}: not valid JSON / JSON lines ({err}); fix the file or use --format metaqa") from err
    out: list[QAExample] = []
    for i, obj in enumerate(data):
        if not isinstance(obj, dict) or "question" not in obj or "answers" not in obj:
            raise ConfigError(f"{p}: item {i} needs 'question' and 'answers' keys")
        answers = tuple(a if isinstance(a, str) else str(a.get("text") or a.get("name") or a) for a in obj["answers"])
        sub = tuple(tuple(str(x) for x in t) for t in obj.get("subgraph") or ())
        if any(len(t) != 3 for t in sub):
            raise ConfigError(f"{p}: item {i}: every subgraph triple must be [subject, relation, object]")
        out.append(QAExample(str(obj["question"]), answers, id=str(obj.get("id", i)),
                             topic_entities=tuple(obj.get("topic_entities") or ()), subgraph=sub))  # type: ignore[arg-type]
    return out


def read_questions(path: str | Path, fmt: str = "metaqa") -> list[QAExample]:
    """Read a question file in ``fmt`` (``metaqa`` or ``json``)."""
    if fmt == "metaqa":
        return read_metaqa(path)
    if fmt == "json":
        return read_json_questions(path)
    raise ConfigError(f"unknown question format {fmt!r}; use 'metaqa' or 'json'")


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"question file {p} not found; pass --questions with an existing file")
    return p


def split_examples(examples: Sequence[QAExample], *, tune_fraction: float = 0.2, seed: int = 0) -> tuple[list[QAExample], list[QAExample]]:
    """Deterministic ``(train, tune)`` split by a hash of each question's text and answers."""
    train: list[QAExample] = []
    tune: list[QAExample] = []
    for ex in examples:
        h = int(stable_hash(str(seed), ex.question, "|".join(ex.answers), length=8), 16) / 16**8
        (tune if h < tune_fraction else train).append(ex)
    return train, tune


# -- training ---------------------------------------------------------------------------------------
def _graph_for(example: QAExample, kb: GraphIndex | None) -> GraphIndex:
    if example.subgraph:
        return GraphIndex.from_triples(example.subgraph)
    if kb is None:
        raise ConfigError(f"question {example.id!r} has no subgraph; pass --kb with the knowledge base")
    return kb


def _topics(example: QAExample, linker: EntityLinker) -> tuple[list[int], list]:
    if example.topic_entities:
        ents = [e for t in example.topic_entities for e in linker.link_mention(t)]
    else:
        ents = linker.link(example.question)
    return sorted({e.node for e in ents}), ents


def label_examples(
    examples: Iterable[QAExample], kb: GraphIndex | None, *, max_hops: int = 3, max_frontier: int = 2000
) -> list[TrainingExample]:
    """Weakly label each question with the relation paths whose answers match its gold answers best."""
    linkers: dict[int, EntityLinker] = {}
    out: list[TrainingExample] = []
    for ex in examples:
        g = _graph_for(ex, kb)
        linker = linkers.setdefault(id(g), EntityLinker(g)) if g is kb else EntityLinker(g)
        topics, ents = _topics(ex, linker)
        gold = [n for a in ex.answers for n in (e.node for e in linker.link_mention(a, fuzzy=False))]
        paths, f1 = label_paths(g, topics, gold, max_hops=max_hops, max_frontier=max_frontier)
        if paths:
            out.append(TrainingExample(_masked(ex, linker, ents), paths, f1))
    return out


def resolve_ties(examples: list[TrainingExample], scorer: LearnedPathScorer | None = None) -> list[TrainingExample]:
    """Keep one of several equally good paths per question.

    Paths with identical answers on one question (a director who also wrote the film; a writer who
    directed all his films) are told apart by the other questions, where only one of them fits:
    with ``scorer`` (trained on the questions whose label is unambiguous) the path it finds most
    probable is kept; without, the path chosen most often elsewhere, then the shortest.
    """
    freq: dict[str, float] = {}
    for e in examples:
        for p in e.paths:
            freq[p] = freq.get(p, 0.0) + 1.0 / len(e.paths)
    out = []
    for e in examples:
        if len(e.paths) > 1:
            if scorer is not None:
                s = scorer.score(e.masked_question, e.paths)
                keep = e.paths[int(np.argmax(s))]
            else:
                keep = min(e.paths, key=lambda p: (-freq[p], p.count("/"), p))
            e = TrainingExample(e.masked_question, (keep,), e.f1)
        out.append(e)
    return out


def _masked(ex: QAExample, linker: EntityLinker, ents: list) -> str:
    if ex.topic_entities and "[" not in ex.question:
        q = ex.question
        for t in sorted(ex.topic_entities, key=len, reverse=True):
            i = q.lower().find(t.lower())
            if i >= 0:
                q = q[:i] + "NE" + q[i + len(t):]
        return q
    return linker.mask(ex.question, ents)


def train_path_scorer(
    examples: Iterable[QAExample], kb: GraphIndex | None, *, max_hops: int = 3, epochs: int = 8, seed: int = 0,
    device: str = "cpu",
) -> tuple[LearnedPathScorer, int]:
    """Label ``examples`` and train a :class:`LearnedPathScorer`; returns it and the labelled count."""
    labelled = label_examples(examples, kb, max_hops=max_hops)
    return train_on_labelled(labelled, epochs=epochs, seed=seed, device=device), len(labelled)


def train_on_labelled(
    labelled: list[TrainingExample], *, epochs: int = 8, seed: int = 0, device: str = "cpu"
) -> LearnedPathScorer:
    """Two rounds: learn from unambiguous questions, use that to break ties, learn from all."""
    clear = [e for e in labelled if len(e.paths) == 1]
    # Too few unambiguous questions to learn from: break ties by frequency instead.
    first = (LearnedPathScorer.train(clear, epochs=epochs, seed=seed, device=device)
             if len(clear) >= 0.1 * len(labelled) else None)
    return LearnedPathScorer.train(resolve_ties(labelled, first), epochs=epochs, seed=seed, device=device)


# -- evaluation -------------------------------------------------------------------------------------
def _norm_set(names: Iterable[str]) -> set[str]:
    return {normalize_name(n) for n in names}


def _predicted_set(ans: Answer) -> list[str]:
    if not ans.answers:
        return []
    top = ans.answers[0].score
    return [a.name for a in ans.answers if a.score >= 0.5 * top]


def evaluate(
    examples: Sequence[QAExample],
    reasoner_for: "ReasonerFactory",
    *,
    name: str = "",
    llm_answerer: object | None = None,
    keep_failures: int = 20,
) -> KGQAReport:
    """Answer every example and compute the metrics.

    Args:
        examples: questions with gold answers.
        reasoner_for: returns the reasoner for an example (one over the KB, or over its subgraph).
        name: a label for the report.
        llm_answerer: a :class:`kgkit.reason.llm_answer.LLMAnswerer`; when given, the LLM answers
            from each subgraph too and its Hits@1 and invalid citations are reported.
        keep_failures: how many wrong questions to keep in the report for inspection.
    """
    if not examples:
        raise ConfigError("no questions to evaluate; check --questions and --part")
    h1 = h5 = rec = none = 0
    f1s: list[float] = []
    lat: list[float] = []
    llm_h1 = llm_bad = 0
    failures: list[dict[str, object]] = []
    for ex in examples:
        reasoner = reasoner_for(ex)
        t0 = time.perf_counter()
        ans = reasoner.ask(_question_for(ex))
        lat.append(time.perf_counter() - t0)
        gold = _norm_set(ex.answers)
        ranked = [normalize_name(n) for n in ans.names(5)]
        hit1 = bool(ranked) and ranked[0] in gold
        h1 += hit1
        h5 += any(r in gold for r in ranked)
        rec += bool(_norm_set(ans.subgraph.node_names) & gold)
        none += not ans.answers
        pred = _norm_set(_predicted_set(ans))
        tp = len(pred & gold)
        f1s.append(2 * tp / (len(pred) + len(gold)) if pred or gold else 1.0)
        if llm_answerer is not None:
            res = llm_answerer.answer(ans)  # type: ignore[attr-defined]
            llm_h1 += bool(res.answers) and normalize_name(res.answers[0]) in gold
            llm_bad += len(res.invalid_citations)
        if not hit1 and len(failures) < keep_failures:
            failures.append({"question": ex.question, "gold": list(ex.answers)[:5], "got": ans.names(3),
                             "paths": [p.path for p in ans.paths], "reason": ans.no_answer_reason})
    n = len(examples)
    ms = np.asarray(lat) * 1000
    return KGQAReport(
        name=name, questions=n, hits_at_1=100 * h1 / n, hits_at_5=100 * h5 / n, f1=100 * float(np.mean(f1s)),
        retrieval_recall=100 * rec / n, no_answer=none,
        latency_p50_ms=float(np.percentile(ms, 50)), latency_p95_ms=float(np.percentile(ms, 95)),
        llm=llm_answerer is not None, llm_hits_at_1=100 * llm_h1 / n if llm_answerer is not None else None,
        llm_invalid_citations=llm_bad if llm_answerer is not None else None, failures=failures,
    )


def _question_for(ex: QAExample) -> str:
    """Mark the given topic entities in brackets so the linker uses them (JSON format)."""
    if not ex.topic_entities or "[" in ex.question:
        return ex.question
    q = ex.question
    marked = False
    for t in sorted(ex.topic_entities, key=len, reverse=True):
        i = q.lower().find(t.lower())
        if i >= 0:
            q = q[:i] + "[" + t + "]" + q[i + len(t):]
            marked = True
    if not marked:
        q = q + " " + " ".join(f"[{t}]" for t in ex.topic_entities)
    return q


class ReasonerFactory:
    """Gives the reasoner for an example: one shared over the KB, or a fresh one over its subgraph."""

    def __init__(self, kb: GraphIndex | None, **reasoner_kwargs: object) -> None:
        self.kb = kb
        self.kwargs = reasoner_kwargs
        self._shared = Reasoner(kb, **reasoner_kwargs) if kb is not None else None  # type: ignore[arg-type]

    def __call__(self, example: QAExample) -> Reasoner:
        if example.subgraph:
            return Reasoner(GraphIndex.from_triples(example.subgraph), **self.kwargs)  # type: ignore[arg-type]
        if self._shared is None:
            raise ConfigError(f"question {example.id!r} has no subgraph; pass --kb with the knowledge base")
        return self._shared
