"""Apply entity clusters to the store: re-point facts and evidence, union aliases, drop members.

Every object is captured in the :class:`~kgkit.fuse.journal.Journal` before it changes. Facts of a
merged entity are re-keyed to the canonical entity (a new deterministic fact id); when that fact
already exists the two are combined (higher confidence, ``merged_from`` lists the old ids). Evidence
nodes keep their ids and all their fields except the target, so provenance survives the merge. A
fact that would become a self-loop ("Curie married Marie Curie" after merging the two) is removed
and its evidence becomes mention evidence of the canonical entity.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from kgkit.fuse.graph import GraphSnapshot
from kgkit.fuse.journal import Journal
from kgkit.fuse.resolution import Cluster
from kgkit.store.base import GraphStore
from kgkit.types import fact_id, stable_hash

__all__ = ["apply_clusters", "decision_rows"]

_RESERVED = {"id", "name", "type", "norm", "aliases", "merged_ids"}


def decision_rows(run_id: str, clusters: Sequence[Cluster], snap: GraphSnapshot) -> list[dict[str, Any]]:
    """One ``(:MergeDecision)`` row per cluster: members, pair signals and scores, rule."""
    rows = []
    for c in clusters:
        canon = snap.entities[c.canonical]
        rows.append({
            "id": f"{run_id}:m:{stable_hash(*c.members)}",
            "run_id": run_id,
            "canonical": c.canonical,
            "canonical_name": canon.name,
            "type": canon.type,
            "member_ids": list(c.members),
            "member_names": [snap.entities[m].name for m in c.members],
            "rules": sorted({p.rule for p in c.pairs}),
            "min_score": min((p.score for p in c.pairs), default=1.0),
            "pairs": json.dumps([{"a": p.a, "b": p.b, "score": p.score, "rule": p.rule, "signals": dict(p.signals)}
                                 for p in c.pairs], ensure_ascii=False),
        })
    return rows


def apply_clusters(store: GraphStore, snap: GraphSnapshot, clusters: Sequence[Cluster], journal: Journal) -> dict[str, int]:
    """Merge each cluster into its canonical entity; returns counts of what changed."""
    mapping = {m: c.canonical for c in clusters for m in c.members if m != c.canonical}
    if not mapping:
        return {"entities_merged": 0, "facts_rekeyed": 0, "facts_combined": 0, "self_loops": 0}
    affected = [f for f in snap.facts.values() if f.subject_id in mapping or f.object_id in mapping]
    journal.capture_entities({m for c in clusters for m in c.members})
    journal.capture_facts([f.id for f in affected])
    new_ids = {fact_id(mapping.get(f.subject_id, f.subject_id), f.predicate, mapping.get(f.object_id, f.object_id))
               for f in affected}
    journal.capture_facts(new_ids)
    ev_ids = [ev.id for f in affected for ev in snap.evidence.get(f.id, ())]
    ev_ids += [ev.id for m in mapping for ev in snap.evidence.get(m, ())]
    journal.capture_evidence(ev_ids)
    journal.save()

    created: dict[str, dict[str, Any]] = {}
    updated: dict[str, dict[str, Any]] = {}
    ev_updates: list[dict[str, Any]] = []
    self_loops = 0
    for f in affected:
        s2, o2 = mapping.get(f.subject_id, f.subject_id), mapping.get(f.object_id, f.object_id)
        if s2 == o2:
            self_loops += 1
            ev_updates += [{"id": ev.id, "props": {"kind": "mention", "target": s2, "subject": "", "object": ""}}
                           for ev in snap.evidence.get(f.id, ())]
            continue
        nid = fact_id(s2, f.predicate, o2)
        old_props = dict(journal.images["facts"][f.id]["props"])
        pre = journal.images["facts"].get(nid)
        if pre is not None:  # an existing fact (not touching a merged entity) absorbs this one
            tgt = updated.setdefault(nid, {"s": s2, "props": {"confidence": float(pre["props"].get("confidence") or 0.0),
                                                             "merged_from": list(pre["props"].get("merged_from") or [])}})["props"]
            tgt["confidence"] = max(tgt["confidence"], f.confidence)
            tgt["merged_from"].append(f.id)
        elif nid in created:
            c = created[nid]["props"]
            c["confidence"] = max(float(c.get("confidence") or 0.0), f.confidence)
            c["merged_from"].append(f.id)
        else:
            props = {**old_props, "id": nid, "merged_from": [f.id]}
            created[nid] = {"rel": f.rel_type, "s": s2, "o": o2, "props": props}
        ev_updates += [{"id": ev.id, "props": {"target": nid, "subject": s2, "object": o2}}
                       for ev in snap.evidence.get(f.id, ())]
    for m, canon in mapping.items():
        ev_updates += [{"id": ev.id, "props": {"target": canon}} for ev in snap.evidence.get(m, ())]

    # Write: drop old facts, create re-keyed ones, update absorbing ones, evidence, entities.
    store.delete_facts(sorted(f.id for f in affected))
    store.create_facts([(row["rel"], row["s"], row["o"], row["props"]) for _, row in sorted(created.items())])
    store.set_fact_properties_of([(fid, row["s"], row["props"]) for fid, row in sorted(updated.items())])
    store.update_evidence([(u["id"], u["props"]) for u in ev_updates])
    store.set_entity_properties(_canonical_props(clusters, journal))
    store.delete_entities(sorted(mapping))
    return {"entities_merged": len(mapping), "facts_rekeyed": len(created),
            "facts_combined": len(affected) - len(created) - self_loops, "self_loops": self_loops}


def _canonical_props(clusters: Sequence[Cluster], journal: Journal) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    for c in clusters:
        canon = journal.images["entities"][c.canonical]["props"]
        aliases = list(canon.get("aliases") or [])
        merged = list(canon.get("merged_ids") or [])
        extra: dict[str, Any] = {}
        for m in c.members:
            if m == c.canonical:
                continue
            props = journal.images["entities"][m]["props"]
            for a in [props.get("name"), *(props.get("aliases") or [])]:
                if a and a not in aliases:
                    aliases.append(a)
            for mid in [m, *(props.get("merged_ids") or [])]:
                if mid not in merged:
                    merged.append(mid)
            for k, v in props.items():
                if k not in _RESERVED and k not in canon and k not in extra:
                    extra[k] = v
        rows.append((c.canonical, {**extra, "aliases": aliases, "merged_ids": merged}))
    return rows
