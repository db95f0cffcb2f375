"""Scoring a trained model on examples with Text2KGBench's own metrics (:mod:`kgkit.eval.text2kgbench`).

Examples are grouped by the benchmark ontology they come from (``ont_3_airport_*.jsonl`` files) when
known; each group is scored against its own relations and concepts, and metrics are averaged over
sentences, then over groups (macro), as the benchmark does. Predictions are restricted to the group's
relations: the benchmark gives each sentence's ontology, and a user extracting for one ontology would
do the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from kgkit.eval.text2kgbench import BenchOntology, BenchSentence, Scorer, average
from kgkit.eval.text2kgbench_ontology import relation_label
from kgkit.extract.trained.examples import Example
from kgkit.extract.trained.model import TrainedModel

__all__ = ["evaluate_model"]


def _bench(model: TrainedModel, group: str) -> tuple[BenchOntology, set[str] | None]:
    onto = model.ontology
    tk = onto.extra.get("text2kgbench") or {}
    rels = (tk.get("members") or {}).get(group)
    concepts = (tk.get("concepts") or {}).get(group)
    names = list(rels) if rels else list(onto.relation_types)
    labels = concepts or [e.aliases[0] if e.aliases else n for n, e in onto.entity_types.items()]
    bench = BenchOntology(group or onto.name, onto.description, tuple({"label": c} for c in labels),
                          tuple({"label": relation_label(onto, r)} for r in names))
    return bench, set(rels) if rels else None


def evaluate_model(model: TrainedModel, examples: Sequence[Example], *, nlp: Any = None,
                   batch_size: int = 128) -> dict[str, Any]:
    """Benchmark metrics (precision, recall, f1, onto_conf, rel/sub/obj hallucination) of ``model`` on ``examples``.

    Returns ``{"overall": {...}, "by_ontology": {id: {...}}, "sentences": n, "stemmer": ...}``.
    """
    if nlp is None:
        from kgkit.extract.trained.training import load_spacy

        nlp = load_spacy(model.spacy_model)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        groups[ex.ontology].append(i)
    docs = list(nlp.pipe((ex.text for ex in examples), batch_size=batch_size))
    by_group: dict[str, dict[str, float]] = {}
    stemmer = ""
    for group, idx in sorted(groups.items()):
        bench, allowed = _bench(model, group)
        scorer = Scorer(bench)
        stemmer = scorer.stemmer.kind
        rows = []
        for i in idx:
            ex = examples[i]
            preds = model.predict_doc(docs[i], allowed=allowed)
            got = [(p.subject, relation_label(model.ontology, p.relation), p.object) for p in preds]
            gold = BenchSentence(ex.id, ex.text, tuple((s, relation_label(model.ontology, r), o) for s, r, o in ex.triples))
            rows.append(scorer.score(gold, got))
        by_group[group or model.ontology.name] = {k: round(v, 4) for k, v in average(rows).items()}
    overall = {k: round(v, 4) for k, v in average(by_group.values()).items()}
    return {"overall": overall, "by_ontology": by_group, "sentences": len(examples), "stemmer": stemmer}
