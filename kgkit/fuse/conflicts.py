"""Conflicts on functional relations: detection, claims, resolution with a policy, fused confidence.

A *conflict* is a subject with several incompatible objects for a functional relation (one true
object per subject, per the ontology): two birth dates, two birthplaces. Compatible objects ("1867" and
"7 November 1867") are one value. Every claim is kept; the policy picks one value and gives each a
probability. Claims on functional relations without a conflict also go to the policy: they are how
truth discovery learns which sources agree with the rest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Mapping, Sequence

from kgkit.fuse.graph import GraphSnapshot
from kgkit.fuse.normalize import tokens
from kgkit.fuse.policies import Claim, PolicyResult, ResolutionPolicy
from kgkit.ontology import Ontology
from kgkit.types import stable_hash

__all__ = ["ValueGroup", "FunctionalItem", "ConflictParams", "collect_items", "claims_for", "fused_confidence",
           "break_ties", "TieBreaker"]

#: ``tiebreaker(triples) -> probabilities``: e.g. a KGE model's calibrated plausibility
#: (:func:`kgkit.embed.plausibility.fusion_tiebreaker`); ``nan`` where it has no opinion.
TieBreaker = Callable[[Sequence[tuple[str, str, str]]], Sequence[float]]


@dataclass
class ValueGroup:
    """One claimed value of an item: compatible objects, their facts and their sources."""

    key: str  # the most specific object's id
    name: str
    object_ids: list[str]
    fact_ids: list[str]
    sources: dict[str, float] = field(default_factory=dict)  # source -> best extraction confidence


@dataclass
class FunctionalItem:
    subject: str
    subject_name: str
    predicate: str
    values: list[ValueGroup]

    @property
    def key(self) -> str:
        return f"{self.subject}|{self.predicate}"

    @property
    def conflicting(self) -> bool:
        return len(self.values) > 1


@dataclass(frozen=True)
class ConflictParams:
    """Where claims come from and how they are weighted.

    Args:
        publishers: glob over document ids -> publisher name; a publisher is one source.
        source_dates: source (document or publisher) -> ISO date, for recency weighting.
        recency_half_life_days: halve a claim's weight per this many days older than the newest
            dated claim; ``None`` disables recency.
        use_extraction_confidence: weight each claim by its extraction confidence.
    """

    publishers: Mapping[str, str] = field(default_factory=dict)
    source_dates: Mapping[str, str] = field(default_factory=dict)
    recency_half_life_days: float | None = None
    use_extraction_confidence: bool = True
    containment_relations: tuple[str, ...] = ("locatedIn",)


def _compatible(a: str, b: str) -> bool:
    ta, tb = set(tokens(a)), set(tokens(b))
    return bool(ta and tb) and (ta <= tb or tb <= ta)


def _containment(snap: GraphSnapshot, relations: tuple[str, ...]) -> dict[str, set[str]]:
    """entity id -> every entity it lies within (transitively) under ``relations``."""
    up: dict[str, set[str]] = defaultdict(set)
    for f in snap.facts.values():
        if f.predicate in relations:
            up[f.subject_id].add(f.object_id)
    closure: dict[str, set[str]] = {}
    for start in up:
        seen: set[str] = set()
        stack = list(up[start])
        while stack:
            x = stack.pop()
            if x not in seen:
                seen.add(x)
                stack.extend(up.get(x, ()))
        closure[start] = seen
    return closure


def collect_items(snap: GraphSnapshot, ontology: Ontology, params: ConflictParams) -> list[FunctionalItem]:
    """All (subject, functional relation) items, with compatible objects grouped into values.

    Objects are compatible when one name contains the other ("1867" / "7 November 1867") or one lies
    within the other under a containment relation (Maida Vale ``locatedIn`` London); a group is keyed
    by its most specific object.
    """
    functional = set(ontology.functional_relations())
    within = _containment(snap, tuple(params.containment_relations))
    by_item: dict[tuple[str, str], list] = defaultdict(list)
    for f in snap.facts.values():
        if f.predicate in functional:
            by_item[(f.subject_id, f.predicate)].append(f)
    items = []
    for (subj, pred), facts in sorted(by_item.items()):
        groups: list[ValueGroup] = []
        # Most specific (longest) names first so that each group is keyed by its most specific object.
        # Most specific first: deepest in the containment hierarchy, then the longest name.
        for f in sorted(facts, key=lambda f: (-len(within.get(f.object_id, ())), -len(_name(snap, f.object_id)), f.object_id)):
            name = _name(snap, f.object_id)
            g = next((g for g in groups if _compatible(g.name, name)
                      or any(f.object_id in within.get(o, ()) or o in within.get(f.object_id, ()) for o in g.object_ids)), None)
            if g is None:
                g = ValueGroup(f.object_id, name, [], [])
                groups.append(g)
            if f.object_id not in g.object_ids:
                g.object_ids.append(f.object_id)
            g.fact_ids.append(f.id)
            for src, conf in snap.fact_sources(f.id, params.publishers).items():
                g.sources[src] = max(g.sources.get(src, 0.0), conf)
        items.append(FunctionalItem(subj, _name(snap, subj), pred, groups))
    return items


def _name(snap: GraphSnapshot, eid: str) -> str:
    e = snap.entities.get(eid)
    return e.name if e else eid


def _recency_weights(params: ConflictParams) -> dict[str, float]:
    if not params.recency_half_life_days or not params.source_dates:
        return {}
    dates = {s: date.fromisoformat(str(d)[:10]) for s, d in params.source_dates.items()}
    newest = max(dates.values())
    return {s: 0.5 ** ((newest - d).days / params.recency_half_life_days) for s, d in dates.items()}


def claims_for(items: Sequence[FunctionalItem], params: ConflictParams) -> list[Claim]:
    recency = _recency_weights(params)
    claims = []
    for it in items:
        for g in it.values:
            for src, conf in g.sources.items():
                w = (conf if params.use_extraction_confidence else 1.0) * recency.get(src, 1.0)
                claims.append(Claim(it.key, g.key, src, max(w, 1e-6)))
    return claims


def resolve_items(items: Sequence[FunctionalItem], policy: ResolutionPolicy, params: ConflictParams) -> PolicyResult:
    return policy.resolve(claims_for(items, params))


def break_ties(items: Sequence[FunctionalItem], result: PolicyResult, tiebreaker: TieBreaker, *,
               tolerance: float = 1e-9) -> int:
    """Where the policy's best values of a conflict tie, choose the one ``tiebreaker`` finds most plausible.

    A value's plausibility is the best over its objects of ``tiebreaker((subject, predicate, object))``.
    Only exact ties (within ``tolerance``) change: the policy's probabilities stay as they are; ``nan``
    (no opinion) counts as 0.5, and where all tied values score the same the policy's deterministic
    choice stands. Returns how
    many choices changed; ``result.chosen`` is updated in place.
    """
    tied: dict[str, list[ValueGroup]] = {}
    for it in items:
        probs = result.probabilities.get(it.key, {})
        if not it.conflicting or not probs:
            continue
        top = max(probs.values())
        groups = [g for g in it.values if abs(probs.get(g.key, -1.0) - top) <= tolerance]
        if len(groups) > 1:
            tied[it.key] = groups
    if not tied:
        return 0
    subject = {it.key: (it.subject, it.predicate) for it in items}
    triples = sorted({(*subject[key], o) for key, gs in tied.items() for g in gs for o in g.object_ids})
    score = {t: float(v) for t, v in zip(triples, tiebreaker(triples))}
    changed = 0
    for key, groups in tied.items():
        # nan (no opinion) counts as 0.5, the calibrated "true fact or random corruption" prior
        best = {g.key: max((v if v == v else 0.5) for v in (score[(*subject[key], o)] for o in g.object_ids))
                for g in groups}
        if len(set(best.values())) == 1:
            continue
        pick = min(best, key=lambda k: (-best[k], k))
        if pick != result.chosen.get(key):
            result.chosen[key] = pick
            changed += 1
    return changed


def conflict_rows(run_id: str, items: Sequence[FunctionalItem], result: PolicyResult, baseline: PolicyResult,
                  policy_name: str) -> list[dict[str, Any]]:
    """``(:Conflict)`` rows for conflicting items: every claim kept, the choice and its confidence."""
    import json

    rows = []
    for it in items:
        if not it.conflicting:
            continue
        probs = result.probabilities.get(it.key, {})
        chosen = result.chosen.get(it.key, it.values[0].key)
        g_chosen = next(g for g in it.values if g.key == chosen)
        rows.append({
            "id": f"{run_id}:c:{stable_hash(it.key)}",
            "run_id": run_id, "subject": it.subject, "subject_name": it.subject_name, "predicate": it.predicate,
            "policy": policy_name, "chosen": chosen, "chosen_name": g_chosen.name,
            "chosen_fact_ids": list(g_chosen.fact_ids), "confidence": round(probs.get(chosen, 0.0), 6),
            "majority_choice": baseline.chosen.get(it.key, ""),
            "values": json.dumps([
                {"key": g.key, "name": g.name, "object_ids": g.object_ids, "fact_ids": g.fact_ids,
                 "sources": g.sources, "probability": round(probs.get(g.key, 0.0), 6)}
                for g in it.values
            ], ensure_ascii=False),
        })
    return rows


def fused_confidence(sources: Mapping[str, float], reliability: Mapping[str, float], default_reliability: float) -> float:
    """Noisy-OR over independent sources of extraction confidence x source reliability.

    >>> round(fused_confidence({"a": 0.9, "b": 0.9}, {"a": 0.9}, 0.5), 4)
    0.8955
    """
    miss = 1.0
    for src, conf in sources.items():
        miss *= 1.0 - max(0.0, min(1.0, conf)) * reliability.get(src, default_reliability)
    return 1.0 - miss if sources else 0.0


def fact_updates(snap: GraphSnapshot, items: Sequence[FunctionalItem], result: PolicyResult,
                 params: ConflictParams, default_reliability: float) -> list[tuple[str, dict[str, Any]]]:
    """``fused_confidence``, ``support_sources`` and, in conflicts, ``fusion_status`` per fact."""
    in_conflict: dict[str, tuple[str, float]] = {}
    for it in items:
        if not it.conflicting:
            continue
        chosen = result.chosen.get(it.key)
        for g in it.values:
            p = result.probabilities.get(it.key, {}).get(g.key, 0.0)
            for fid in g.fact_ids:
                in_conflict[fid] = ("chosen" if g.key == chosen else "rejected", p)
    rows = []
    for fid in sorted(snap.facts):
        srcs = snap.fact_sources(fid, params.publishers)
        conf = fused_confidence(srcs, result.reliability, default_reliability)
        props: dict[str, Any] = {"support_sources": len(srcs), "fusion_status": None}
        if fid in in_conflict:
            status, p = in_conflict[fid]
            props["fusion_status"] = status
            # The policy's probability of the value scales the support-based confidence.
            conf *= p
        props["fused_confidence"] = round(conf, 6)
        current = snap.facts[fid].properties
        # Only what changes is written (and journaled); None removes a stale conflict status.
        changed = {k: v for k, v in props.items() if current.get(k) != v}
        if changed:
            rows.append((fid, changed))
    return rows
