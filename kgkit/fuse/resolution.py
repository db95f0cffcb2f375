"""Entity resolution over in-memory :class:`EntityView` objects: block, score, adjudicate, cluster.

Clustering is greedy agglomeration in descending score order (a union-find), refusing any union
that would put two cannot-linked entities — or two multi-word names that each have a word the
other lacks ("Bard College", "Birkbeck College") — in one cluster. A name that matches several
mutually cannot-linked entities about equally well ("Curie" vs "Marie Curie" and "Pierre Curie") is
*ambiguous*: it is left alone unless an adjudicator decides.

Pairs that are not merged but scored at least ``ambiguous_threshold`` (below the calibrated
``merge_threshold``, ambiguous, or matched only by an acronym or initials) are returned as
*candidates* for a person to review (``kgkit fuse candidates``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from kgkit.fuse.blocking import BlockingParams, block_pairs
from kgkit.fuse.normalize import tokens
from kgkit.fuse.scoring import (
    EntityView, PairScore, ScoringParams, cannot_link_reason, distinct_tokens_reason, is_acronym_like, needs_review,
    score_pair, strong_shared_keys, types_compatible,
)
from kgkit.ontology import Ontology

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.fuse.embeddings import NameEmbedder

__all__ = ["Adjudicator", "Cluster", "ResolutionResult", "ScoredPairs", "canonical_member", "resolve_entities", "score_candidates"]

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
    candidates: list[tuple[PairScore, str]] = field(default_factory=list)  # (pair, why not merged)


def canonical_member(members: Iterable[str], views: Mapping[str, EntityView]) -> str:
    # A real name first (never an acronym or initials such as "UN" or "BC"), then a full name over a
    # bare surname, then the most supported, then the longest (most specific), then the id.
    def rank(i: str) -> tuple[int, int, int, int, str]:
        v = views[i]
        return (not is_acronym_like(v.name), len(tokens(v.name)) > 1, v.support, len(v.name), v.id)

    return max(members, key=rank)


def _cannot(a: EntityView, b: EntityView, ontology: Ontology | None, params: ScoringParams,
            user_cannot: set[frozenset[str]], cache: dict[frozenset[str], str | None]) -> str | None:
    key = frozenset((a.id, b.id))
    if key not in cache:
        if key in user_cannot or frozenset((a.name, b.name)) in user_cannot:
            cache[key] = "listed in cannot_link"
        else:
            names_match = bool(strong_shared_keys(a, b)) or a.id in b.merged_ids or b.id in a.merged_ids
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
    user_cannot = {frozenset(p) for p in cannot_link}
    cl_cache: dict[frozenset[str], str | None] = {}
    sp = score_candidates(views, ontology=ontology, scoring=scoring, blocking=blocking, embedder=embedder,
                          user_cannot=user_cannot, skip_types=skip_types, cache=cl_cache)
    rejected = list(sp.rejected)
    candidates: list[tuple[PairScore, str]] = []
    accepted = _decide(sp.scored, sp.by_id, ontology, scoring, adjudicator, user_cannot, cl_cache, rejected, candidates)
    clusters = _cluster(accepted, sp.by_id, ontology, scoring, user_cannot, cl_cache, rejected)
    return ResolutionResult(clusters, sp.candidate_pairs, len(sp.scored), rejected, candidates)


@dataclass
class ScoredPairs:
    """Blocked and scored pairs before any decision (what calibration looks at)."""

    by_id: dict[str, EntityView]
    candidate_pairs: int
    scored: list[PairScore]
    rejected: list[tuple[PairScore, str]]


def score_candidates(
    views: Sequence[EntityView],
    *,
    ontology: Ontology | None = None,
    scoring: ScoringParams = ScoringParams(),
    blocking: BlockingParams = BlockingParams(),
    embedder: "NameEmbedder | None" = None,
    user_cannot: set[frozenset[str]] | None = None,
    skip_types: Iterable[str] = ("Date",),
    cache: dict[frozenset[str], str | None] | None = None,
) -> ScoredPairs:
    """Block, score and apply cannot-link rules; pairs under ``ambiguous_threshold`` are dropped."""
    skip = set(skip_types)
    user_cannot = user_cannot or set()
    cl_cache = {} if cache is None else cache
    by_id = {v.id: v for v in views if v.type not in skip}
    index = list(by_id)
    names = [by_id[i].name for i in index]
    vectors = embedder.encode(names) if embedder is not None else None
    raw_pairs = block_pairs(names, blocking, vectors=vectors)
    # Previously merged ids and shared aliases always meet, whatever blocking says.
    raw_pairs |= _alias_pairs(index, by_id)
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
    return ScoredPairs(by_id, len(raw_pairs), sorted(scored, key=lambda p: (p.a, p.b)), rejected)


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


def _decide(scored, by_id, ontology, params, adjudicator, user_cannot, cl_cache, rejected, candidates) -> list[PairScore]:
    """Keep confident, unambiguous pairs; send the rest to the adjudicator (if any), else to review."""
    partners: dict[str, list[PairScore]] = defaultdict(list)
    for ps in scored:
        if ps.score >= params.merge_threshold and needs_review(ps) is None:
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
        review = needs_review(ps)
        sure = ps.score >= params.merge_threshold and (ps.a, ps.b) not in ambiguous and review is None
        if sure:
            accepted.append(ps)
            continue
        verdict = adjudicator(by_id[ps.a], by_id[ps.b], ps) if adjudicator is not None else None
        if verdict:
            accepted.append(PairScore(ps.a, ps.b, ps.score, ps.rule + "+adjudicated", ps.signals))
        elif verdict is False:
            rejected.append((ps, "adjudicator said different"))
        elif (ps.a, ps.b) in ambiguous:
            candidates.append((ps, "ambiguous: matches several entities that must stay apart"))
        else:
            candidates.append((ps, review or f"score {ps.score:.2f} below the merge threshold {params.merge_threshold:.2f}"))
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
             if (r := _cannot(by_id[x], by_id[y], ontology, params, user_cannot, cl_cache)
                 or _distinct_unless_linked(by_id[x], by_id[y], ps))),
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
            out.append(Cluster(canonical_member(ms, by_id), sorted(ms), pairs[root]))
    return sorted(out, key=lambda c: c.canonical)


def _distinct_unless_linked(a: EntityView, b: EntityView, ps: PairScore) -> str | None:
    """Distinct name tokens block a union through a third name, unless ``a``-``b`` is the pair itself
    or the two share a full alias ("Bard College" - "BC" - "Birkbeck College" stays apart)."""
    if {a.id, b.id} == {ps.a, ps.b} or strong_shared_keys(a, b):
        return None
    return distinct_tokens_reason(a, b)
