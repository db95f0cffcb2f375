"""Entity resolution over in-memory :class:`EntityView` objects: block, score, adjudicate, cluster.

Clustering is greedy agglomeration in descending score order (a union-find), refusing any union
that would put two cannot-linked entities in one cluster. A name that matches several mutually
cannot-linked entities about equally well ("Curie" vs "Marie Curie" and "Pierre Curie") is
*ambiguous*: it is left alone unless an adjudicator decides.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from kgkit.fuse.blocking import BlockingParams, block_pairs
from kgkit.fuse.scoring import (
    EntityView, PairScore, ScoringParams, cannot_link_reason, distinct_tokens_reason, score_pair, types_compatible,
)
from kgkit.ontology import Ontology

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.fuse.embeddings import NameEmbedder

__all__ = ["Adjudicator", "Cluster", "ResolutionResult", "resolve_entities"]

# (a, b, pair score) -> True (same), False (different) or None (no opinion).
Adjudicator = Callable[[EntityView, EntityView, PairScore], "bool | None"]


@dataclass
class Cluster:
    """Entities judged to be one; ``canonical`` keeps its id, the others are merged into it."""

    canonical: str
    members: list[str]
    pairs: list[PairScore]


@dataclass
class ResolutionResult:
    clusters: list[Cluster]
    candidate_pairs: int
    scored_pairs: int
    rejected: list[tuple[PairScore, str]] = field(default_factory=list)  # (pair, reason)


def _canonical(members: Iterable[str], views: Mapping[str, EntityView]) -> str:
    # Most supported first, then the longest (most specific) name, then the id for determinism.
    return max(members, key=lambda i: (views[i].support, len(views[i].name), views[i].id))


def _cannot(a: EntityView, b: EntityView, ontology: Ontology | None, params: ScoringParams,
            user_cannot: set[frozenset[str]], cache: dict[frozenset[str], str | None]) -> str | None:
    key = frozenset((a.id, b.id))
    if key not in cache:
        if key in user_cannot or frozenset((a.name, b.name)) in user_cannot:
            cache[key] = "listed in cannot_link"
        else:
            names_match = bool(a.keys() & b.keys()) or a.id in b.merged_ids or b.id in a.merged_ids
            cache[key] = cannot_link_reason(a, b, ontology, params, names_match=names_match)
    return cache[key]


def resolve_entities(
    views: Sequence[EntityView],
    *,
    ontology: Ontology | None = None,
    scoring: ScoringParams = ScoringParams(),
    blocking: BlockingParams = BlockingParams(),
    embedder: "NameEmbedder | None" = None,
    adjudicator: Adjudicator | None = None,
    cannot_link: Iterable[tuple[str, str]] = (),
    skip_types: Iterable[str] = ("Date",),
) -> ResolutionResult:
    """Cluster ``views`` into entities that are the same.

    Args:
        views: entities to resolve (ids unique).
        ontology: for type compatibility; ``None`` means types must be equal.
        scoring: weights and thresholds.
        blocking: candidate generation parameters.
        embedder: name embedder for ANN blocking and the embedding signal; ``None`` disables both.
        adjudicator: decides pairs scored in ``[ambiguous_threshold, merge_threshold)`` and ambiguous
            ones; ``None`` leaves them unmerged.
        cannot_link: pairs of entity ids or names that must never be merged.
        skip_types: value types that are never resolved (two dates are two values).
    """
    skip = set(skip_types)
    by_id = {v.id: v for v in views if v.type not in skip}
    index = list(by_id)
    names = [by_id[i].name for i in index]
    vectors = embedder.encode(names) if embedder is not None else None
    raw_pairs = block_pairs(names, blocking, vectors=vectors)
    # Previously merged ids and shared aliases always meet, whatever blocking says.
    raw_pairs |= _alias_pairs(index, by_id)
    user_cannot = {frozenset(p) for p in cannot_link}
    cl_cache: dict[frozenset[str], str | None] = {}
    scored: list[PairScore] = []
    rejected: list[tuple[PairScore, str]] = []
    for i, j in raw_pairs:
        a, b = by_id[index[i]], by_id[index[j]]
        if not types_compatible(a.type, b.type, ontology):
            continue
        sim = float(vectors[i] @ vectors[j]) if vectors is not None else None
        ps = score_pair(a, b, scoring, embedding_similarity=sim)
        if ps.score < scoring.ambiguous_threshold:
            continue
        reason = _cannot(a, b, ontology, scoring, user_cannot, cl_cache)
        if not reason and ps.rule == "weighted":
            reason = distinct_tokens_reason(a, b)
        if reason:
            rejected.append((ps, "cannot-link: " + reason))
            continue
        scored.append(ps)
    accepted = _decide(scored, by_id, ontology, scoring, adjudicator, user_cannot, cl_cache, rejected)
    clusters = _cluster(accepted, by_id, ontology, scoring, user_cannot, cl_cache, rejected)
    return ResolutionResult(clusters, len(raw_pairs), len(scored), rejected)


def _alias_pairs(index: list[str], by_id: Mapping[str, EntityView]) -> set[tuple[int, int]]:
    pos = {eid: k for k, eid in enumerate(index)}
    keyed: dict[str, list[int]] = defaultdict(list)
    for k, eid in enumerate(index):
        v = by_id[eid]
        for key in v.keys():
            keyed["n:" + key].append(k)
        for mid in v.merged_ids:
            if mid in pos:
                keyed["i:" + mid].append(k)
        keyed["i:" + eid].append(k)
    out: set[tuple[int, int]] = set()
    for ks in keyed.values():
        ks = sorted(set(ks))
        if 1 < len(ks) <= 200:
            out.update((x, y) for n, x in enumerate(ks) for y in ks[n + 1 :])
    return out


def _decide(scored, by_id, ontology, params, adjudicator, user_cannot, cl_cache, rejected) -> list[PairScore]:
    """Keep confident, unambiguous pairs; send the rest to the adjudicator (if any)."""
    partners: dict[str, list[PairScore]] = defaultdict(list)
    for ps in scored:
        if ps.score >= params.merge_threshold:
            partners[ps.a].append(ps)
            partners[ps.b].append(ps)
    ambiguous: set[tuple[str, str]] = set()
    for eid, pss in partners.items():
        if len(pss) < 2:
            continue
        pss = sorted(pss, key=lambda p: -p.score)
        others = [p.b if p.a == eid else p.a for p in pss]
        for x in range(len(pss)):
            for y in range(x + 1, len(pss)):
                if abs(pss[x].score - pss[y].score) >= params.ambiguity_margin - 1e-9:
                    continue
                if _cannot(by_id[others[x]], by_id[others[y]], ontology, params, user_cannot, cl_cache):
                    ambiguous.update({(pss[x].a, pss[x].b), (pss[y].a, pss[y].b)})
    accepted: list[PairScore] = []
    for ps in scored:
        sure = ps.score >= params.merge_threshold and (ps.a, ps.b) not in ambiguous
        if sure:
            accepted.append(ps)
            continue
        verdict = adjudicator(by_id[ps.a], by_id[ps.b], ps) if adjudicator is not None else None
        if verdict:
            accepted.append(PairScore(ps.a, ps.b, ps.score, ps.rule + "+adjudicated", ps.signals))
        elif (ps.a, ps.b) in ambiguous:
            rejected.append((ps, "ambiguous: matches several entities that must stay apart"))
        elif verdict is False:
            rejected.append((ps, "adjudicator said different"))
    return accepted


def _cluster(accepted, by_id, ontology, params, user_cannot, cl_cache, rejected) -> list[Cluster]:
    parent: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    pairs: dict[str, list[PairScore]] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        members.setdefault(x, [x])
        pairs.setdefault(x, [])
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for ps in sorted(accepted, key=lambda p: (-p.score, p.a, p.b)):
        ra, rb = find(ps.a), find(ps.b)
        if ra == rb:
            pairs[ra].append(ps)
            continue
        blocker = next(
            (r for x in members[ra] for y in members[rb]
             if (r := _cannot(by_id[x], by_id[y], ontology, params, user_cannot, cl_cache))),
            None,
        )
        if blocker:
            rejected.append((ps, "cannot-link within cluster: " + blocker))
            continue
        if len(members[ra]) < len(members[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        members[ra].extend(members.pop(rb))
        pairs[ra].extend(pairs.pop(rb))
        pairs[ra].append(ps)
    out = []
    for root, ms in members.items():
        if parent.get(root, root) == root and len(ms) > 1:
            out.append(Cluster(_canonical(ms, by_id), sorted(ms), pairs[root]))
    return sorted(out, key=lambda c: c.canonical)
