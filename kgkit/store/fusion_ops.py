"""The store methods fusion needs: exact pre-images, exact rewrites, and the fusion log.

Mixed into :class:`~kgkit.store.base.CypherGraphStore`, so every Cypher store has them; the
conformance suite (:mod:`kgkit.store.testing`) checks each one and runs fusion end to end. Fusion
itself (``kgkit.fuse``) sends no Cypher: it reads snapshots and pre-images and writes through these
methods, in the store's own batches.

Shapes:

* entity image ``{"labels": [sorted labels], "props": {every property}}``
* fact image ``{"rel": REL_TYPE, "s": subject id, "o": object id, "props": {every property}}``
* evidence image ``{"props": {every property}}``
* fusion records: plain property maps with an ``id`` (and ``run_id``, except on ``FusionRun``)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Iterable

from kgkit.ontology import validate_identifier
from kgkit.store import cypher as Q
from kgkit.store.batching import batches

__all__ = ["FusionOpsMixin", "FUSION_LABELS"]

FUSION_LABELS = Q.FUSION_LABELS

#: Fusion records can be big (journal pages of JSON); they go in smaller batches than graph rows.
_RECORD_BATCH = 50


class FusionOpsMixin:
    """Fusion's part of :class:`~kgkit.store.base.GraphStore`, written once in Cypher."""

    batch_size: int

    if TYPE_CHECKING:  # provided by CypherGraphStore's subclasses
        def _run(self, cypher: str, params: Mapping[str, Any] | None = None, *, write: bool = True) -> list[dict[str, Any]]: ...

    def _count_all(self, stmt: str, key: str, rows: Sequence[Any], size: int | None = None) -> int:
        n = 0
        for batch in batches(rows, size or self.batch_size):
            res = self._run(stmt, {key: batch})
            n += int(res[0]["n"]) if res else 0
        return n

    # -- pre-images ------------------------------------------------------------------------------
    def entity_images(self, ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """Labels and every property of each entity; ``None`` for ids that do not exist."""
        return self._images(Q.ENTITY_IMAGES, ids, lambda r: {"labels": sorted(r["labels"]), "props": dict(r["props"])})

    def fact_images(self, ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """Type, endpoints and every property of each fact; ``None`` for ids that do not exist."""
        return self._images(Q.FACT_IMAGES, ids, lambda r: {"rel": r["rel"], "s": r["s"], "o": r["o"], "props": dict(r["props"])})

    def evidence_images(self, ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """Every property of each evidence node; ``None`` for ids that do not exist."""
        return self._images(Q.EVIDENCE_IMAGES, ids, lambda r: {"props": dict(r["props"])})

    def _images(self, stmt: str, ids: Iterable[str], shape: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
        todo = sorted(set(ids))
        out: dict[str, dict[str, Any] | None] = dict.fromkeys(todo)
        for batch in batches(todo, self.batch_size):
            for r in self._run(stmt, {"ids": batch}, write=False):
                out[r["id"]] = shape(r)
        return out

    # -- exact rewrites --------------------------------------------------------------------------
    def replace_entities(self, rows: Sequence[tuple[Sequence[str], Mapping[str, Any]]]) -> int:
        """Create or overwrite entities so that each has exactly ``labels`` and ``props`` (with ``id``)."""
        by_labels: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for labels, props in rows:
            if "id" not in props:
                raise ValueError("replace_entities: every props mapping needs its 'id'")
            by_labels.setdefault(tuple(sorted(labels)), []).append({"id": props["id"], "props": dict(props)})
        stmts = {labels: Q.replace_entities(list(labels)) for labels in by_labels}  # validates every label first
        return sum(self._count_all(stmts[labels], "rows", rs) for labels, rs in by_labels.items())

    def create_facts(self, rows: Sequence[tuple[str, str, str, Mapping[str, Any]]]) -> int:
        """Create ``(s)-[:rel_type {props}]->(o)`` for rows ``(rel_type, s, o, props)``; both ends must exist.

        Facts are not merged: delete an old relationship with the same id first.
        """
        by_rel: dict[str, list[dict[str, Any]]] = {}
        for rel, s, o, props in rows:
            by_rel.setdefault(rel, []).append({"s": s, "o": o, "props": dict(props)})
        stmts = {rel: Q.create_facts(rel) for rel in by_rel}
        return sum(self._count_all(stmts[rel], "rows", rs) for rel, rs in by_rel.items())

    def delete_evidence(self, evidence_ids: Sequence[str]) -> int:
        return self._count_all(Q.DELETE_EVIDENCE, "ids", list(evidence_ids))

    def replace_evidence(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Create or overwrite evidence nodes so that each has exactly ``props`` (with ``id``)."""
        payload = [{"id": p["id"], "props": dict(p)} for p in rows]
        return self._count_all(Q.REPLACE_EVIDENCE, "rows", payload)

    def update_evidence(self, rows: Sequence[tuple[str, Mapping[str, Any]]]) -> int:
        """Set the given properties of existing evidence nodes; returns how many were found."""
        payload = [{"id": i, "props": dict(p)} for i, p in rows]
        _validate_keys(payload)
        return self._count_all(Q.UPDATE_EVIDENCE, "rows", payload)

    def set_fact_properties_of(self, rows: Sequence[tuple[str, str, Mapping[str, Any]]]) -> int:
        """:meth:`set_fact_properties` for rows ``(fact id, subject id, props)``: found through the
        indexed subject, not by scanning every relationship."""
        payload = [{"id": i, "s": s, "props": dict(p)} for i, s, p in rows]
        _validate_keys(payload)
        return self._count_all(Q.SET_FACT_PROPERTIES_ANCHORED, "rows", payload)

    # -- the fusion log --------------------------------------------------------------------------
    def add_fusion_records(self, label: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Store fusion-log records (``FusionRun``, ``MergeDecision``, ``Conflict``, ``FusionJournal``,
        ``MergeCandidate``) as nodes with exactly these properties."""
        stmt = Q.create_fusion_records(label)
        return self._count_all(stmt, "rows", [dict(r) for r in rows], min(self.batch_size, _RECORD_BATCH))

    def fusion_records(self, label: str, run_id: str | None = None) -> list[dict[str, Any]]:
        """Records of one label (of ``run_id``, or of every run), ordered by ``seq`` then ``id``."""
        rows = self._run(Q.fusion_records(label, of_run=run_id is not None), {"run": run_id} if run_id else {}, write=False)
        recs = [dict(r["x"]) for r in rows]
        return sorted(recs, key=lambda r: (r.get("seq") if r.get("seq") is not None else -1, str(r.get("id", ""))))

    def update_fusion_record(self, label: str, record_id: str, props: Mapping[str, Any]) -> int:
        for k in props:
            validate_identifier(k, "property name")
        rows = self._run(Q.update_fusion_record(label), {"id": record_id, "props": dict(props)})
        return int(rows[0]["n"]) if rows else 0

    def fusion_runs(self) -> list[dict[str, Any]]:
        """Every ``FusionRun`` record, oldest (lowest ``seq``) first."""
        return self.fusion_records("FusionRun")

    def delete_fusion_run(self, run_id: str) -> int:
        """Delete a run's record and every log record of it (not the graph changes: see undo)."""
        rows = self._run(Q.DELETE_FUSION_RUN, {"run": run_id})
        return int(rows[0]["n"]) if rows else 0


def _validate_keys(payload: Sequence[Mapping[str, Any]]) -> None:
    for p in payload:
        for k in p["props"]:
            validate_identifier(k, "property name")
