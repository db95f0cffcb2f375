"""Candidate facts: facts a model proposed (link prediction), stored but never accepted.

A candidate is a relationship like any fact (same relationship type, ``predicate`` and ``confidence``)
with ``fusion_status = "candidate"`` (the status vocabulary fusion uses: ``chosen``/``rejected``/
``candidate``), the proposing model's id in ``kge_model``, its raw score in ``kge_score`` and its
calibrated probability in ``confidence``. It has no evidence. The view every reader uses
(:mod:`kgkit.view`) leaves candidates out unless asked for everything (``--audit``); fusion does not
read them (:func:`kgkit.fuse.graph.load_snapshot`).

Mixed into :class:`~kgkit.store.base.CypherGraphStore`, so every Cypher store has these methods; the
conformance suite (:mod:`kgkit.store.testing_candidates`) checks them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kgkit.ontology import relationship_type, validate_identifier
from kgkit.store import cypher as Q
from kgkit.store.batching import batches

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.store.base import FactRecord

__all__ = ["CandidateOpsMixin", "CANDIDATE_STATUS", "candidate_fact_id"]

#: ``fusion_status`` of a proposed, never accepted fact
CANDIDATE_STATUS = "candidate"
#: properties a candidate row may not set itself (the store sets them)
_RESERVED = {"id", "predicate", "fusion_status", "kge_model"}


def candidate_fact_id(model_id: str, subject_id: str, predicate: str, object_id: str) -> str:
    """The deterministic id of one model's candidate ``(subject, predicate, object)``.

    It differs from the id an extracted fact would get, so extracting the same fact later makes a
    real fact next to the candidate instead of silently turning the candidate into a fact.
    """
    from kgkit.types import stable_hash

    return f"kge:{stable_hash(model_id, subject_id, predicate, object_id)}"


class CandidateOpsMixin:
    """Write, list and delete candidate facts (one model's set at a time)."""

    batch_size: int

    if TYPE_CHECKING:  # provided by CypherGraphStore's subclasses
        def _run(self, cypher: str, params: Mapping[str, Any] | None = None, *, write: bool = True) -> list[dict[str, Any]]: ...

    def write_candidate_facts(self, model_id: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Replace ``model_id``'s candidate facts with ``rows``; returns how many were written.

        Each row has ``s`` (subject id), ``p`` (relation name), ``o`` (object id), ``confidence`` (the
        calibrated probability) and ``score`` (the model's raw score), plus optional extra properties
        (e.g. ``kge_rank``). Rows whose subject or object is not in the graph are skipped. Writing the
        same rows again leaves the store as it was (idempotent); other models' candidates are kept.

        Raises:
            UnsafeIdentifierError: a relation or property name that is not a plain identifier.
            ValueError: an empty model id, or a row that sets a reserved property.
        """
        if not model_id:
            raise ValueError("write_candidate_facts: give the proposing model's id")
        by_rel: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            p = str(row["p"])
            extra = {k: v for k, v in row.items() if k not in {"s", "p", "o", "confidence", "score"}}
            bad = sorted(set(extra) & _RESERVED)
            if bad:
                raise ValueError(f"write_candidate_facts: {bad} are set by the store; remove them from the rows")
            for k in extra:
                validate_identifier(k, "property name")
            props = {**extra, "id": candidate_fact_id(model_id, str(row["s"]), p, str(row["o"])), "predicate": p,
                     "confidence": float(row["confidence"]), "kge_score": float(row["score"]),
                     "kge_model": model_id, "fusion_status": CANDIDATE_STATUS}
            by_rel.setdefault(relationship_type(p), []).append({"s": row["s"], "o": row["o"], "props": props})
        stmts = {rel: Q.create_facts(rel) for rel in by_rel}  # validates every type before anything is written
        self.delete_candidate_facts(model_id)
        n = 0
        for rel, rs in by_rel.items():
            for batch in batches(rs, self.batch_size):
                res = self._run(stmts[rel], {"rows": batch})
                n += int(res[0]["n"]) if res else 0
        return n

    def candidate_facts(self, model_id: str | None = None) -> list["FactRecord"]:
        """The candidate facts of ``model_id`` (of every model when None), ordered by id."""
        stmt, params = (Q.CANDIDATE_FACTS_OF_MODEL, {"model": model_id}) if model_id else (Q.CANDIDATE_FACTS, {})
        return _records(self._run(stmt, params, write=False))

    def candidate_facts_of_entities(self, entity_ids: Sequence[str]) -> list["FactRecord"]:
        """The candidate facts (of every model) whose subject or object is one of ``entity_ids``, ordered
        by id: what a merge of those entities must re-point (and its journal keep for undo)."""
        rows: list[dict[str, Any]] = []
        for batch in batches(sorted(set(entity_ids)), self.batch_size):
            for stmt in (Q.CANDIDATE_FACTS_FROM, Q.CANDIDATE_FACTS_TO):
                rows += self._run(stmt, {"ids": batch}, write=False)
        return _records(rows)

    def delete_candidate_facts(self, model_id: str | None = None) -> int:
        """Delete the candidate facts of ``model_id`` (of every model when None); returns how many."""
        stmt, params = (Q.DELETE_CANDIDATES_OF_MODEL, {"model": model_id}) if model_id else (Q.DELETE_CANDIDATES, {})
        res = self._run(stmt, params)
        return int(res[0]["n"]) if res else 0


def _records(rows: Sequence[Mapping[str, Any]]) -> list["FactRecord"]:
    """Candidate rows as :class:`FactRecord` (one per id), ordered by id."""
    from kgkit.store.base import FactRecord

    out: dict[str, FactRecord] = {}
    for r in rows:
        props = {k: v for k, v in (r["props"] or {}).items() if k not in {"id", "predicate", "confidence"}}
        out[r["id"]] = FactRecord(r["id"], r["s"], r["p"], r["rel"], r["o"], float(r["c"] or 0.0), props)
    return [out[k] for k in sorted(out)]
