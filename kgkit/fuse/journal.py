"""The change journal that makes every fusion run reversible.

Before fusion first touches an entity, fact or evidence node, the journal records its pre-image
(labels or relationship type, endpoints, every property) — or that it did not exist. The journal is
saved in the store as ``(:FusionJournal {run_id, seq, data})`` nodes (``data`` is JSON), next to the
run's ``(:FusionRun)``, ``(:MergeDecision)`` and ``(:Conflict)`` nodes. Undo replays the pre-images:
objects that did not exist are deleted, the others are recreated or overwritten exactly.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from kgkit.fuse import cypher as Q
from kgkit.fuse.errors import FusionError
from kgkit.store.base import GraphStore
from kgkit.store.batching import batches

__all__ = ["Journal", "restore_journal"]

_KINDS = ("entities", "facts", "evidence")
_CHUNK = 200

_BATCH = 500  # rows per statement


class Journal:
    """Pre-images of everything a run changes. Call ``capture_*`` *before* each change."""

    def __init__(self, store: GraphStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.images: dict[str, dict[str, Any]] = {k: {} for k in _KINDS}
        self._saved: dict[str, set[str]] = {k: set() for k in _KINDS}
        self._seq = 0

    def _new(self, kind: str, ids: Iterable[str]) -> list[str]:
        seen = self.images[kind]
        return sorted({i for i in ids if i not in seen})

    def capture_entities(self, ids: Iterable[str]) -> None:
        todo = self._new("entities", ids)
        for batch in batches(todo, _BATCH):
            found = {r["id"]: {"labels": sorted(r["labels"]), "props": r["props"]}
                     for r in self.store.query(Q.ENTITY_IMAGES, {"ids": batch})}
            for i in batch:
                self.images["entities"][i] = found.get(i)

    def capture_facts(self, ids: Iterable[str]) -> None:
        todo = self._new("facts", ids)
        for batch in batches(todo, _BATCH):
            found = {r["id"]: {"rel": r["rel"], "s": r["s"], "o": r["o"], "props": r["props"]}
                     for r in self.store.query(Q.FACT_IMAGES, {"ids": batch})}
            for i in batch:
                self.images["facts"][i] = found.get(i)

    def capture_evidence(self, ids: Iterable[str]) -> None:
        todo = self._new("evidence", ids)
        for batch in batches(todo, _BATCH):
            found = {r["id"]: {"props": r["props"]} for r in self.store.query(Q.EVIDENCE_IMAGES, {"ids": batch})}
            for i in batch:
                self.images["evidence"][i] = found.get(i)

    def size(self) -> int:
        return sum(len(v) for v in self.images.values())

    def save(self) -> int:
        """Write the pre-images not yet saved into the store; returns the number of new journal nodes.

        Called before the changes they protect are written, so that even a run that dies halfway
        can be undone.
        """
        rows = []
        for kind in _KINDS:
            items = sorted((i, img) for i, img in self.images[kind].items() if i not in self._saved[kind])
            for k in range(0, len(items), _CHUNK):
                rows.append({"run_id": self.run_id, "seq": self._seq, "kind": kind,
                             "data": json.dumps(dict(items[k : k + _CHUNK]), ensure_ascii=False)})
                self._seq += 1
            self._saved[kind].update(i for i, _ in items)
        for batch in batches(rows, 50):
            self.store.query(Q.CREATE_NODES["FusionJournal"], {"rows": batch}, write=True)
        return len(rows)

    @classmethod
    def load(cls, store: GraphStore, run_id: str) -> "Journal":
        j = cls(store, run_id)
        rows = store.query(Q.JOURNAL_OF_RUN, {"run": run_id})
        for r in rows:
            kind = r.get("kind")
            if kind not in j.images:
                raise FusionError(f"fusion journal of run {run_id} is corrupt (seq {r['seq']}); it cannot be undone")
            j.images[kind].update(json.loads(r["data"]))
        return j


def restore_journal(store: GraphStore, journal: Journal) -> dict[str, int]:
    """Put every journaled object back to its pre-image; returns counts per kind."""
    ents, facts, evs = (journal.images[k] for k in _KINDS)
    # 1. Drop every journaled relationship as it is now; the pre-existing ones are recreated in 3.
    for batch in batches(sorted(facts), _BATCH):
        store.query(Q.DELETE_FACTS_BY_ID, {"ids": batch}, write=True)
    # 2. Entities: delete the ones that did not exist, recreate/overwrite the others.
    store.query(Q.DELETE_ENTITIES_BY_ID, {"ids": sorted(i for i, img in ents.items() if img is None)}, write=True)
    by_labels: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for i, img in sorted(ents.items()):
        if img is not None:
            by_labels.setdefault(tuple(img["labels"]), []).append({"id": i, "props": img["props"]})
    for labels, rows in by_labels.items():
        stmt = Q.replace_entities(list(labels))
        for batch in batches(rows, _BATCH):
            store.query(stmt, {"rows": batch}, write=True)
    # 3. Facts that existed, with their original type, endpoints and properties.
    by_rel: dict[str, list[dict[str, Any]]] = {}
    for _fact_id, img in sorted(facts.items()):
        if img is not None:
            by_rel.setdefault(img["rel"], []).append({"s": img["s"], "o": img["o"], "props": img["props"]})
    for rel, rows in by_rel.items():
        stmt = Q.create_facts(rel)
        for batch in batches(rows, _BATCH):
            store.query(stmt, {"rows": batch}, write=True)
    # 4. Evidence.
    store.query(Q.DELETE_EVIDENCE_BY_ID, {"ids": sorted(i for i, img in evs.items() if img is None)}, write=True)
    ev_rows = [{"id": i, "props": img["props"]} for i, img in sorted(evs.items()) if img is not None]
    for batch in batches(ev_rows, _BATCH):
        store.query(Q.REPLACE_EVIDENCE, {"rows": batch}, write=True)
    return {k: len(v) for k, v in journal.images.items()}
