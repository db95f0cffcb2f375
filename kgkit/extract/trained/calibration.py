"""Choosing the softmax temperature and the decision settings on held-back examples, and reporting calibration.

The temperature minimises the negative log-likelihood of the held-back pairs; the decision settings
(:class:`~kgkit.extract.trained.decoding.DecodeSettings`: threshold, runner-up floor, full names) maximise
the chosen metric of the facts the model outputs on the held-back texts (names compared as the benchmark
does: spaces and ``_`` removed, lower-cased). ECE (expected calibration error, 10 equal-width bins)
compares each output fact's ``confidence`` with whether it was right.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kgkit.errors import ConfigError
from kgkit.extract.trained.decoding import DecodeSettings, decode
from kgkit.extract.trained.examples import Example
from kgkit.extract.trained.model import Prediction, TrainedModel

__all__ = ["calibrate", "fact_key", "reliability"]


def fact_key(s: str, r: str, o: str) -> str:
    return "|".join(x.replace("_", "").replace(" ", "").lower() for x in (s, r, o))


def reliability(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> tuple[float, list[dict[str, float]]]:
    """ECE and a reliability table (per bin: count, mean confidence, accuracy)."""
    table: list[dict[str, float]] = []
    n = len(confidences)
    ece = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidences) if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if not idx:
            continue
        conf = sum(confidences[i] for i in idx) / len(idx)
        acc = sum(correct[i] for i in idx) / len(idx)
        ece += len(idx) / n * abs(conf - acc)
        table.append({"bin": round(lo, 1), "n": len(idx), "confidence": round(conf, 3), "accuracy": round(acc, 3)})
    return round(ece, 4), table


METRICS = ("facts", "facts-f2", "facts-f3", "facts-f5", "text2kgbench")
_BETA = {"facts": 1.0, "facts-f2": 2.0, "facts-f3": 3.0, "facts-f5": 5.0}  # recall weighted beta**2 times precision
#: the decision thresholds the held-back examples choose from (ascending)
THRESHOLDS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.04) + tuple(x / 20 for x in range(1, 20))
#: shares of a relation's best score in a sentence below which its other pairs there are dropped (0: none)
RUNNER_UP_FLOORS = (0.0, 0.02, 0.05, 0.1, 0.2)


def _sweep(preds: Sequence[Sequence[Prediction]], examples: Sequence[Example], gold: Sequence[set[str]],
           n_gold: int) -> list[tuple[float, dict[str, float]]]:
    """Each threshold's metric values (:data:`METRICS`) over decoded held-back predictions."""
    out = []
    for thr in THRESHOLDS:
        values = {"text2kgbench": sum(_sentence_f1(ps, ex, thr) for ps, ex in zip(preds, examples)) / max(1, len(examples))}
        tp = fp = 0
        for ps, g in zip(preds, gold):
            for p in ps:
                if p.confidence >= thr:
                    ok = fact_key(p.subject, p.relation, p.object) in g
                    tp += ok
                    fp += not ok
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / n_gold if n_gold else 0.0
        for m, beta in _BETA.items():
            values[m] = (1 + beta**2) * prec * rec / (beta**2 * prec + rec) if prec + rec else 0.0
        out.append((thr, values))
    return out


def fit_platt(confidences: Sequence[float], correct: Sequence[bool]) -> tuple[float, float] | None:
    """``(a, b)`` of the logistic regression of ``correct`` on ``logit(confidence)``
    (:func:`kgkit.calibration.fit_platt`); ``None`` with fewer than 20 facts or only one outcome."""
    import numpy as np

    from kgkit.calibration import fit_platt as fit

    if len(confidences) < 20 or all(correct) or not any(correct):
        return None
    q = np.clip(np.asarray(confidences, dtype=np.float64), 1e-6, 1 - 1e-6)
    return fit(np.log(q / (1 - q)), np.asarray(correct, dtype=np.float64))


def _nll(model: TrainedModel, logits: Any, y: Any, temperature: float) -> float:
    import torch

    return float(torch.nn.functional.cross_entropy(logits / temperature, y))


def _sentence_f1(preds: Sequence[Prediction], ex: Example, thr: float) -> float:
    """Text2KGBench's per-sentence F1: predictions of relations absent from the sentence's gold are ignored."""
    gold = {fact_key(*t) for t in ex.triples}
    rels = {r for _, r, _ in ex.triples}
    got = {fact_key(p.subject, p.relation, p.object) for p in preds if p.confidence >= thr and p.relation in rels}
    if not got or not gold:
        return 0.0
    hit = len(got & gold)
    return 2 * hit / (len(got) + len(gold))


def _choose(table: Sequence[tuple[float, bool, float, dict[str, float]]], metric: str) -> tuple[float, float, float, bool]:
    """The best ``(value, threshold, floor, full names)`` for ``metric``. Ties go to the simplest setting
    (the table's order: no floor, names as written), and among its tied thresholds to the middle one: a
    small held-back set often scores a run of thresholds alike, and its lowest end is the riskiest."""
    top = max((v[metric] for *_, v in table), default=0.0)
    if top <= 0:
        return 0.0, 0.5, 0.0, False
    tied = [(floor, full, thr) for floor, full, thr, v in table if v[metric] >= top - 1e-12]
    floor, full = tied[0][:2]
    thresholds = [thr for f, fu, thr in tied if (f, fu) == (floor, full)]
    return top, thresholds[len(thresholds) // 2], floor, full


def calibrate(model: TrainedModel, docs: Sequence[Any], examples: Sequence[Example], metric: str = "facts") -> dict[str, Any]:
    """Set ``model.temperature``, its Platt scale and its decision settings (``threshold``,
    ``runner_up_floor``, ``full_names``) from held-back examples; return the report.

    ``metric``: ``"facts"`` (micro-F1 of all output facts: every wrong fact lands in the graph),
    ``"facts-f2"`` / ``"facts-f3"`` / ``"facts-f5"`` (micro-F-beta, recall weighted 4 / 9 / 25 times precision: for a graph
    that is queried, a missing fact cannot be recovered, while a wrong one carries its calibrated low
    confidence, which fusion, the view's ``min_confidence`` and the reasoner weigh; ``facts-f5`` is the
    default, chosen on e2e/webnlg-dev, see ``benchmarks/results/e2e.md``) or ``"text2kgbench"`` (the benchmark's mean sentence F1, which ignores facts of
    relations a sentence has no gold fact for).
    """
    if metric not in METRICS:
        raise ConfigError(f"threshold metric {metric!r}: choose one of {', '.join(METRICS)}")
    import torch

    from kgkit.extract.trained.training import rows_for_eval

    rows, stats = rows_for_eval(docs, examples, model.gazetteer)
    cls = {r: i for i, r in enumerate(model.relations)}
    if rows.feats:
        logits = model.logits(rows.feats)
        y = torch.tensor([cls.get(r, len(cls) - 1) for r in rows.labels])
        model.temperature = min((0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0), key=lambda t: _nll(model, logits, y, t))
    gold = [{fact_key(*t) for t in ex.triples} for ex in examples]
    # Platt scaling of the fact confidence on the held-back facts: the softmax temperature fits all
    # pairs (most of them "no relation"); the facts that are output need their own correction.
    # one scoring pass (the probabilities do not depend on the scale or the settings); every fit decodes it
    scored = [model.score_doc(doc) for doc in docs]
    model.platt, model.runner_up_floor, model.full_names = None, 0.0, False
    raw = [decode(model, sd, DecodeSettings(0.01)) for sd in scored]
    confs0 = [p.confidence for ps in raw for p in ps]
    hits0 = [fact_key(p.subject, p.relation, p.object) in g for ps, g in zip(raw, gold) for p in ps]
    model.platt = fit_platt(confs0, hits0)
    n_gold = sum(len(g) for g in gold)
    table: list[tuple[float, bool, float, dict[str, float]]] = []  # floor, full names, threshold, metric values
    decoded: dict[tuple[float, bool], list[list[Prediction]]] = {}
    for floor in RUNNER_UP_FLOORS:
        for full in (False, True):
            preds = decoded[floor, full] = [decode(model, sd, DecodeSettings(THRESHOLDS[0], floor, full)) for sd in scored]
            table += [(floor, full, thr, values) for thr, values in _sweep(preds, examples, gold, n_gold)]
    best = {m: _choose(table, m) for m in METRICS}  # metric -> (value, threshold, floor, full names)
    _, model.threshold, model.runner_up_floor, model.full_names = best[metric]
    preds = decoded[model.runner_up_floor, model.full_names]
    confs: list[float] = []
    correct: list[bool] = []
    tp = fp = 0
    for ps, g in zip(preds, gold):
        for p in ps:
            if p.confidence >= model.threshold:
                ok = fact_key(p.subject, p.relation, p.object) in g
                confs.append(p.confidence)
                correct.append(ok)
                tp += ok
                fp += not ok
    ece, bins = reliability(confs, correct)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / n_gold if n_gold else 0.0
    return {
        "examples": len(examples), "temperature": model.temperature, "threshold": model.threshold,
        "threshold_metric": metric, "threshold_facts_f1": best["facts"][1], "threshold_facts_f2": best["facts-f2"][1],
        "threshold_facts_f3": best["facts-f3"][1], "threshold_facts_f5": best["facts-f5"][1],
        "threshold_text2kgbench": best["text2kgbench"][1],
        "runner_up_floor": model.runner_up_floor, "full_names": model.full_names,
        "text2kgbench_f1_at_threshold": round(best["text2kgbench"][0], 4) if metric == "text2kgbench" else None,
        "precision": round(prec, 4), "recall": round(rec, 4),
        "f1": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0,
        "reachable_triples": round(stats["reachable_triples"] / max(1, stats["gold_triples"]), 4),
        "ece": ece, "reliability": bins,
    }
