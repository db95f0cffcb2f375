"""Merge candidates: pairs fusion would not merge on its own, kept for a person to review.

A fusion run stores every pair it scored at least ``ambiguous_threshold`` but did not merge (below
the calibrated ``merge_threshold``, ambiguous, or matched only by an acronym or initials) as a
``(:MergeCandidate {id, run_id, a, b, a_name, b_name, type, score, rule, reason, status})`` node.
``kgkit fuse candidates`` lists the open ones; ``accept`` merges the pair as a fusion run of its own
(so ``kgkit fuse undo`` reverses it); ``reject`` keeps the two apart in every later run.
"""

from __future__ import annotations

import json
import time
from typing import Any, Sequence

from kgkit.fuse.errors import FusionError
from kgkit.fuse.scoring import PairScore
from kgkit.ontology import Ontology
from kgkit.store.base import GraphStore
from kgkit.types import stable_hash

__all__ = ["candidate_rows", "list_candidates", "rejected_pairs", "reject_candidate", "accept_candidate", "get_candidate"]

OPEN, ACCEPTED, REJECTED = "open", "accepted", "rejected"


def candidate_rows(run_id: str, candidates: Sequence[tuple[PairScore, str]], names: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """One row per candidate pair; ``names`` maps entity id -> (name, type)."""
    rows = []
    for ps, reason in sorted(candidates, key=lambda c: (-c[0].score, c[0].a, c[0].b)):
        rows.append({
            "id": "k" + stable_hash(run_id, ps.a, ps.b, length=10), "run_id": run_id, "a": ps.a, "b": ps.b,
            "a_name": names[ps.a][0], "b_name": names[ps.b][0], "type": names[ps.a][1],
            "score": float(ps.score), "rule": ps.rule, "reason": reason, "status": OPEN,
            "signals": json.dumps(dict(ps.signals)),
        })
    return rows


def list_candidates(store: GraphStore, *, status: str | None = OPEN, run_id: str | None = None) -> list[dict[str, Any]]:
    """Candidates of ``run_id`` (default: the latest fusion run that recorded any), best score first.

    ``status=None`` lists every status.
    """
    rows = store.fusion_records("MergeCandidate", run_id)
    if run_id is None and rows:
        runs = {r["id"]: r.get("seq", 0) for r in store.fusion_runs()}
        latest = max({r["run_id"] for r in rows}, key=lambda rid: runs.get(rid, -1))
        rows = [r for r in rows if r["run_id"] == latest]
    rows = [r for r in rows if status is None or r.get("status") == status]
    return sorted(rows, key=lambda r: (-float(r.get("score") or 0.0), r["id"]))


def get_candidate(store: GraphStore, candidate_id: str) -> dict[str, Any]:
    for r in store.fusion_records("MergeCandidate"):
        if r["id"] == candidate_id:
            return r
    raise FusionError(f"no merge candidate {candidate_id!r}; list them with `kgkit fuse candidates`")


def rejected_pairs(store: GraphStore) -> list[tuple[str, str]]:
    """Entity-id pairs a person rejected; every later run treats them as cannot-link."""
    return [(r["a"], r["b"]) for r in store.fusion_records("MergeCandidate") if r.get("status") == REJECTED]


def reject_candidate(store: GraphStore, candidate_id: str) -> dict[str, Any]:
    c = get_candidate(store, candidate_id)
    store.update_fusion_record("MergeCandidate", candidate_id, {"status": REJECTED, "decided": _now()})
    return {**c, "status": REJECTED}


def accept_candidate(store: GraphStore, ontology: Ontology, candidate_id: str) -> dict[str, Any]:
    """Merge the candidate's two entities now, as a fusion run of its own (undoable).

    Raises:
        FusionError: unknown candidate, already decided, or one of its entities is gone (merged or
            retracted since); the message says what to do.
    """
    from kgkit.fuse.fusion import merge_pair

    c = get_candidate(store, candidate_id)
    if c.get("status") != OPEN:
        raise FusionError(f"candidate {candidate_id} is already {c.get('status')}")
    ps = PairScore(c["a"], c["b"], float(c["score"]), str(c["rule"]) + "+accepted", json.loads(c.get("signals") or "{}"))
    run_id = merge_pair(store, ontology, ps, candidate_id=candidate_id)
    store.update_fusion_record("MergeCandidate", candidate_id, {"status": ACCEPTED, "decided": _now(), "merge_run": run_id})
    return {**c, "status": ACCEPTED, "merge_run": run_id}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")
