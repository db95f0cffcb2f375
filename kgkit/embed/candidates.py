"""Propose missing facts on the user's graph by link prediction, and store them as *candidate* facts.

:func:`predict_candidates` (``kgkit embed predict --top K``) asks a trained run, for every relation
and every entity of the graph, both ``(entity, relation, ?)`` and ``(?, relation, entity)``; keeps the
``K`` best answers of each query that are not already facts of the graph (rejected ones included:
fusion has already said no to those), typed by the ontology's domain and range where the graph's
entities have types, and never a second value of a functional relation the subject already has;
gives each its calibrated probability (:mod:`kgkit.embed.plausibility`); and writes those at or
above ``min_probability`` to the store as candidate facts (:mod:`kgkit.store.candidate_ops`) with
their score, probability, rank and the model's id. Candidates are never accepted facts: the default
view (``kgkit ask``, export, KGE training) leaves them out; ``--audit`` shows them.

A rerun with the same model replaces that model's candidates with the same set (idempotent).
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Mapping, Sequence

import numpy as np

from kgkit.embed.plausibility import Calibration, _score_ids, ensure_calibration
from kgkit.embed.predict import KGEPredictor
from kgkit.embed.training import MODEL_FILE
from kgkit.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.ontology import Ontology
    from kgkit.store.base import GraphStore

__all__ = ["CandidateFact", "PredictReport", "model_id_of", "top_k_links", "propose_candidates", "predict_candidates"]


@dataclass(frozen=True, slots=True)
class CandidateFact:
    """A proposed fact: model ids resolved to labels, raw score, calibrated probability, best rank."""

    subject_id: str
    predicate: str
    object_id: str
    score: float
    probability: float
    rank: int  # 1-based rank among the filtered answers of the query that proposed it (best of both)
    via: str  # "tail" ((s, p, ?) proposed it), "head" ((?, p, o)) or "both"


@dataclass
class PredictReport:
    """What :func:`predict_candidates` did."""

    model_id: str
    queries: int
    proposed: int  # distinct candidates before the probability threshold
    candidates: list[CandidateFact]
    written: int
    seconds: float
    calibration: Calibration | None = None
    skipped_entities: int = 0  # graph entities the model never saw (retrain to cover them)
    by_relation: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "queries": self.queries, "proposed": self.proposed,
                "kept": len(self.candidates), "written": self.written, "seconds": round(self.seconds, 3),
                "skipped_entities": self.skipped_entities, "by_relation": dict(self.by_relation)}


def model_id_of(run_dir: str | Path) -> str:
    """A stable id of a trained run: its folder name and a digest of its model file."""
    path = Path(run_dir) / MODEL_FILE
    if not path.is_file():
        raise ConfigError(f"{path} not found; train a model first with `kgkit embed train`")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{Path(run_dir).resolve().name}@{digest}"


def top_k_links(
    predictor: KGEPredictor, queries: np.ndarray, target: Literal["tail", "head"], k: int, *,
    known: Mapping[tuple[int, int], Sequence[int]] | None = None, allowed: Mapping[int, np.ndarray] | None = None,
    batch_size: int = 256,
) -> list[list[tuple[int, float]]]:
    """The ``k`` best entities of each query, with the model's score, best first.

    Args:
        predictor: a loaded run.
        queries: (m, 2) model ids: ``(head, relation)`` for ``target="tail"``, ``(relation, tail)`` for
            ``target="head"``.
        target: which side to predict.
        k: answers per query.
        known: query -> entity ids to leave out (the graph's known answers: the filtered setting).
        allowed: relation id -> boolean mask over entity ids of the answers its type allows.
        batch_size: queries scored per model call.
    """
    import torch

    model = predictor.model
    queries = np.asarray(queries, dtype=np.int64).reshape(-1, 2)
    out: list[list[tuple[int, float]]] = []
    for start in range(0, len(queries), batch_size):
        chunk = queries[start:start + batch_size]
        if target == "tail":
            hrt = np.stack([chunk[:, 0], chunk[:, 1], np.zeros(len(chunk), dtype=np.int64)], 1)
        else:
            hrt = np.stack([np.zeros(len(chunk), dtype=np.int64), chunk[:, 0], chunk[:, 1]], 1)
        with torch.inference_mode():
            scores = model.predict(hrt_batch=torch.as_tensor(hrt).to(model.device), target=target).cpu()
        scores = scores.double().clone()  # a normal tensor: masked in place below
        for i, (a, b) in enumerate(chunk.tolist()):
            row = scores[i]
            rel, given = (b, a) if target == "tail" else (a, b)
            if allowed is not None and rel in allowed:
                row[torch.as_tensor(~allowed[rel])] = float("-inf")
            row[given] = float("-inf")  # no self-loops
            if known is not None:
                drop = known.get((a, b))
                if drop:
                    row[list(drop)] = float("-inf")
            top = torch.topk(row, min(k, row.numel()))
            out.append([(int(e), float(s)) for s, e in zip(top.values.tolist(), top.indices.tolist())
                        if s != float("-inf")])
    return out


def _type_masks(predictor: KGEPredictor, types: Mapping[str, str], ontology: "Ontology | None",
                ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """relation id -> mask of entities its domain (heads) and range (tails) allow, where typed."""
    n = len(predictor.entity_to_id)
    heads: dict[int, np.ndarray] = {}
    tails: dict[int, np.ndarray] = {}
    if ontology is None:
        return heads, tails
    by_id = np.asarray([""] * n, dtype=object)
    for label, i in predictor.entity_to_id.items():
        by_id[i] = types.get(label) or ""
    present = sorted({t for t in by_id.tolist() if t})
    for rel, rid in predictor.relation_to_id.items():
        spec = ontology.relation_types.get(rel)
        if spec is None:
            continue
        for allowed_types, masks in ((spec.domain, heads), (spec.range, tails)):
            if allowed_types:
                ok = [t for t in present if any(ontology.is_a(t, x) for x in allowed_types)]
                masks[rid] = np.isin(by_id, ok)
    return heads, tails


def propose_candidates(
    predictor: KGEPredictor, store: "GraphStore", *, k: int = 10, ontology: "Ontology | None" = None,
    min_probability: float = 0.8, calibration: Calibration | None = None,
) -> tuple[list[CandidateFact], int, int, int]:
    """Candidates for the graph in ``store`` (nothing is written); see the module docstring.

    Returns:
        the kept candidates (most probable first), the number of queries, the number of distinct
        candidates before the threshold, and the number of graph entities the model does not know.
    """
    from kgkit.view import read_view

    if k < 1:
        raise ConfigError(f"--top must be at least 1, got {k}")
    cal = calibration or ensure_calibration(predictor, store)
    view = read_view(store, include="all")
    e2i, r2i = predictor.entity_to_id, predictor.relation_to_id
    types = {e.id: e.type for e in view.entities.values()}
    in_graph = np.zeros(len(e2i), dtype=bool)
    for eid in view.entities:
        if eid in e2i:
            in_graph[e2i[eid]] = True
    skipped = sum(1 for eid in view.entities if eid not in e2i)
    known_t: dict[tuple[int, int], list[int]] = defaultdict(list)  # (h, r) -> tails
    known_h: dict[tuple[int, int], list[int]] = defaultdict(list)  # (r, t) -> heads
    for f in view.facts:
        if view.status(f) == "candidate" or f.subject_id not in e2i or f.object_id not in e2i or f.predicate not in r2i:
            continue
        h, r, t = e2i[f.subject_id], r2i[f.predicate], e2i[f.object_id]
        known_t[(h, r)].append(t)
        known_h[(r, t)].append(h)
    functional = {r2i[r] for r in (ontology.functional_relations() if ontology else ()) if r in r2i}
    dom, rng = _type_masks(predictor, types, ontology)
    # answers must be entities of the graph (not only of the model), of the right type
    allowed_tail = {r: rng.get(r, np.ones(len(e2i), dtype=bool)) & in_graph for r in r2i.values()}
    allowed_head = {r: dom.get(r, np.ones(len(e2i), dtype=bool)) & in_graph for r in r2i.values()}
    for r in functional:  # a subject that already has its one value gets no second one
        has = np.zeros(len(e2i), dtype=bool)
        has[[h for (h, rr) in known_t if rr == r]] = True
        allowed_head[r] = allowed_head[r] & ~has
    tail_q = np.asarray([(h, r) for r in sorted(r2i.values()) for h in np.flatnonzero(allowed_head[r])],
                        dtype=np.int64).reshape(-1, 2)
    head_q = np.asarray([(r, t) for r in sorted(r2i.values()) for t in np.flatnonzero(allowed_tail[r])],
                        dtype=np.int64).reshape(-1, 2)
    best: dict[tuple[int, int, int], tuple[int, set[str]]] = {}
    for (h, r), answers in zip(tail_q.tolist(), top_k_links(predictor, tail_q, "tail", k, known=known_t,
                                                            allowed=allowed_tail)):
        for rank, (t, _) in enumerate(answers, 1):
            prev = best.get((h, r, t), (rank, set()))
            best[(h, r, t)] = (min(prev[0], rank), prev[1] | {"tail"})
    for (r, t), answers in zip(head_q.tolist(), top_k_links(predictor, head_q, "head", k, known=known_h,
                                                            allowed=allowed_head)):
        for rank, (h, _) in enumerate(answers, 1):
            prev = best.get((h, r, t), (rank, set()))
            best[(h, r, t)] = (min(prev[0], rank), prev[1] | {"head"})
    triples = np.asarray(sorted(best), dtype=np.int64).reshape(-1, 3)
    scores = _score_ids(predictor, triples)
    probs = cal.probability(scores)
    i2e = {i: e for e, i in e2i.items()}
    i2r = {i: r for r, i in r2i.items()}
    out = []
    for (h, r, t), s, p in zip(triples.tolist(), scores.tolist(), probs.tolist()):
        if p < min_probability:
            continue
        rank, via = best[(h, r, t)]
        out.append(CandidateFact(i2e[h], i2r[r], i2e[t], float(s), float(p), rank,
                                 "both" if len(via) == 2 else next(iter(via))))
    out.sort(key=lambda c: (-c.probability, c.subject_id, c.predicate, c.object_id))
    return out, len(tail_q) + len(head_q), len(best), skipped


def predict_candidates(
    store: "GraphStore", run_dir: str | Path, *, k: int = 10, ontology: "Ontology | None" = None,
    min_probability: float = 0.8, write: bool = True, predictor: KGEPredictor | None = None,
) -> PredictReport:
    """Propose missing facts with the run in ``run_dir`` and (unless ``write=False``) store them as
    candidate facts, replacing this model's previous candidates.

    Raises:
        ConfigError: the run has no model, or no calibration can be fitted.
    """
    t0 = time.perf_counter()
    mid = model_id_of(run_dir)
    p = predictor or KGEPredictor(run_dir)
    p.warm_up()
    cal = ensure_calibration(p, store)
    cands, queries, proposed, skipped = propose_candidates(p, store, k=k, ontology=ontology,
                                                           min_probability=min_probability, calibration=cal)
    written = 0
    if write:
        rows = [{"s": c.subject_id, "p": c.predicate, "o": c.object_id, "confidence": round(c.probability, 6),
                 "score": c.score, "kge_rank": c.rank, "kge_via": c.via} for c in cands]
        written = store.write_candidate_facts(mid, rows)
    by_rel: dict[str, int] = defaultdict(int)
    for c in cands:
        by_rel[c.predicate] += 1
    return PredictReport(mid, queries, proposed, cands, written, time.perf_counter() - t0, cal, skipped,
                         dict(sorted(by_rel.items())))
