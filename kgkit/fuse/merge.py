"""Apply entity clusters to the store: re-point facts and evidence, union aliases, drop members.

Every object is captured in the :class:`~kgkit.fuse.journal.Journal` before it changes. Facts of a
merged entity are re-keyed to the canonical entity (a new deterministic fact id); when that fact
already exists the two are combined (higher confidence, ``merged_from`` lists the old ids). Evidence
nodes keep their ids and all their fields except the target, so provenance survives the merge. A
fact that would become a self-loop ("Curie married Marie Curie" after merging the two) is removed
and its evidence becomes mention evidence of the canonical entity.

Candidate facts (proposed by ``kgkit embed predict``, never accepted) of a merged entity are
re-pointed the same way, under the id the proposing model's candidate would have there
(:func:`~kgkit.store.candidate_ops.candidate_fact_id`), unless the merged graph makes them moot:
a self-loop, a fact the graph now has (accepted or rejected), or a second value of a functional
relation the canonical entity already has; those are dropped. Either way the journal keeps them,
so undo gives them back.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any, Sequence

from kgkit.fuse.graph import GraphSnapshot
from kgkit.fuse.journal import Journal
from kgkit.fuse.resolution import Cluster
from kgkit.store.base import FactRecord, GraphStore
from kgkit.store.candidate_ops import candidate_fact_id
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


def apply_clusters(store: GraphStore, snap: GraphSnapshot, clusters: Sequence[Cluster], journal: Journal, *,
                   functional: Collection[str] = ()) -> dict[str, int]:
    """Merge each cluster into its canonical entity; returns counts of what changed.

    ``functional``: the ontology's functional relations (a candidate fact that would give the
    canonical entity a second value of one is dropped, as ``kgkit embed predict`` never proposes one).
    """
    mapping = {m: c.canonical for c in clusters for m in c.members if m != c.canonical}
    if not mapping:
        return {"entities_merged": 0, "facts_rekeyed": 0, "facts_combined": 0, "self_loops": 0,
                "candidate_facts_repointed": 0, "candidate_facts_dropped": 0}
    affected = [f for f in snap.facts.values() if f.subject_id in mapping or f.object_id in mapping]
    proposed = store.candidate_facts_of_entities(sorted(mapping))
    journal.capture_entities({m for c in clusters for m in c.members})
    journal.capture_facts([f.id for f in affected] + [f.id for f in proposed])
    new_ids = {fact_id(mapping.get(f.subject_id, f.subject_id), f.predicate, mapping.get(f.object_id, f.object_id))
               for f in affected}
    repointed = _repoint_candidates(proposed, mapping, snap, frozenset(functional), journal)
    dropped = len(proposed) - sum(len(r["props"]["merged_from"]) for r in repointed.values())
    journal.capture_facts(new_ids | set(repointed))
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

    # A re-pointed candidate that meets the model's own candidate there keeps the more probable one.
    for nid, row in repointed.items():
        pre = journal.images["facts"].get(nid)
        if pre is not None:
            keep = row["props"] if row["props"]["confidence"] > float(pre["props"].get("confidence") or 0.0) else pre["props"]
            row["props"] = {**keep, "id": nid,
                            "merged_from": [*(pre["props"].get("merged_from") or []), *row["props"]["merged_from"]]}

    # Write: drop old facts, create re-keyed ones, update absorbing ones, evidence, entities.
    store.delete_facts(sorted({f.id for f in affected} | {f.id for f in proposed}
                              | {nid for nid in repointed if journal.images["facts"].get(nid) is not None}))
    store.create_facts([(row["rel"], row["s"], row["o"], row["props"]) for _, row in sorted(created.items())]
                       + [(row["rel"], row["s"], row["o"], row["props"]) for _, row in sorted(repointed.items())])
    store.set_fact_properties_of([(fid, row["s"], row["props"]) for fid, row in sorted(updated.items())])
    store.update_evidence([(u["id"], u["props"]) for u in ev_updates])
    store.set_entity_properties(_canonical_props(clusters, journal))
    store.delete_entities(sorted(mapping))
    return {"entities_merged": len(mapping), "facts_rekeyed": len(created),
            "facts_combined": len(affected) - len(created) - self_loops, "self_loops": self_loops,
            "candidate_facts_repointed": len(repointed),
            "candidate_facts_dropped": dropped}


def _repoint_candidates(proposed: Sequence[FactRecord], mapping: dict[str, str], snap: GraphSnapshot,
                        functional: frozenset[str], journal: Journal) -> dict[str, dict[str, Any]]:
    """New id -> ``{rel, s, o, props}`` of each candidate fact kept after the merge (see the module
    docstring for the ones dropped); ``props`` are the journaled ones with the new id and
    ``merged_from`` (the old candidate ids). Two candidates meeting at one id keep the more probable."""
    def canon(x: str) -> str:
        return mapping.get(x, x)

    known = {(canon(f.subject_id), f.predicate, canon(f.object_id)) for f in snap.facts.values()}
    has_value = {(canon(f.subject_id), f.predicate) for f in snap.facts.values() if f.predicate in functional}
    out: dict[str, dict[str, Any]] = {}
    for c in proposed:
        s2, o2 = canon(c.subject_id), canon(c.object_id)
        if s2 == o2 or (s2, c.predicate, o2) in known or (c.predicate in functional and (s2, c.predicate) in has_value):
            continue
        nid = candidate_fact_id(str(c.properties.get("kge_model") or ""), s2, c.predicate, o2)
        props = {**journal.images["facts"][c.id]["props"], "id": nid, "merged_from": [c.id]}
        prev = out.get(nid)
        if prev is not None:
            if float(prev["props"].get("confidence") or 0.0) >= float(props.get("confidence") or 0.0):
                props = {**prev["props"]}
            props["merged_from"] = sorted({*prev["props"]["merged_from"], c.id})
        out[nid] = {"rel": c.rel_type, "s": s2, "o": o2, "props": props}
    return out


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
