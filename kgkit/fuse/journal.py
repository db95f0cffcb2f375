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

from kgkit.fuse.errors import FusionError
from kgkit.store.base import GraphStore

__all__ = ["Journal", "restore_journal"]

_KINDS = ("entities", "facts", "evidence")
_CHUNK = 200  # pre-images per journal record


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
        self.images["entities"].update(self.store.entity_images(self._new("entities", ids)))

    def capture_facts(self, ids: Iterable[str]) -> None:
        self.images["facts"].update(self.store.fact_images(self._new("facts", ids)))

    def capture_evidence(self, ids: Iterable[str]) -> None:
        self.images["evidence"].update(self.store.evidence_images(self._new("evidence", ids)))

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
                rows.append({"id": f"{self.run_id}:j:{self._seq}", "run_id": self.run_id, "seq": self._seq, "kind": kind,
                             "data": json.dumps(dict(items[k : k + _CHUNK]), ensure_ascii=False)})
                self._seq += 1
            self._saved[kind].update(i for i, _ in items)
        self.store.add_fusion_records("FusionJournal", rows)
        return len(rows)

    @classmethod
    def load(cls, store: GraphStore, run_id: str) -> "Journal":
        j = cls(store, run_id)
        for r in store.fusion_records("FusionJournal", run_id):
            kind = r.get("kind")
            if kind not in j.images:
                raise FusionError(f"fusion journal of run {run_id} is corrupt (seq {r['seq']}); it cannot be undone")
            j.images[kind].update(json.loads(r["data"]))
        return j


def restore_journal(store: GraphStore, journal: Journal) -> dict[str, int]:
    """Put every journaled object back to its pre-image; returns counts per kind."""
    ents, facts, evs = (journal.images[k] for k in _KINDS)
    # 1. Drop every journaled relationship as it is now; the pre-existing ones are recreated in 3.
    store.delete_facts(sorted(facts))
    # 2. Entities: delete the ones that did not exist, recreate/overwrite the others.
    store.delete_entities(sorted(i for i, img in ents.items() if img is None))
    store.replace_entities([(img["labels"], img["props"]) for _, img in sorted(ents.items()) if img is not None])
    # 3. Facts that existed, with their original type, endpoints and properties.
    store.create_facts([(img["rel"], img["s"], img["o"], img["props"]) for _, img in sorted(facts.items()) if img is not None])
    # 4. Evidence.
    store.delete_evidence(sorted(i for i, img in evs.items() if img is None))
    store.replace_evidence([img["props"] for _, img in sorted(evs.items()) if img is not None])
    return {k: len(v) for k, v in journal.images.items()}
