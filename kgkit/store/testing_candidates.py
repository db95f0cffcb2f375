"""Conformance check for candidate facts (:mod:`kgkit.store.candidate_ops`).

Part of :mod:`kgkit.store.testing` (its ``CHECKS`` include ``candidate_facts``): a store that passes
can hold the facts ``kgkit embed predict`` proposes without ever showing them as accepted.
"""

from __future__ import annotations

from kgkit.errors import UnsafeIdentifierError
from kgkit.store.base import GraphStore
from kgkit.store.candidate_ops import CANDIDATE_STATUS, candidate_fact_id
from kgkit.store.testing_fusion import _raises, _t, fusion_graph_state

__all__ = ["check_candidate_facts", "check_stats_count_candidates_apart", "check_fusion_undo_restores_candidate_facts",
           "check_retraction_ignores_candidate_facts"]


def check_candidate_facts(store: GraphStore) -> None:
    """Candidates: written with score and model id, replaced per model (idempotent), never in the view."""
    real = _t("Ada", "bornIn", "London", "d1")
    other = _t("Bea", "bornIn", "Paris", "d1")
    store.write_triples([real, other])
    ada, bea, london, paris = real.subject.id, other.subject.id, real.object.id, other.object.id
    rows = [{"s": ada, "p": "livesIn", "o": paris, "confidence": 0.7, "score": 3.5, "kge_rank": 1},
            {"s": bea, "p": "livesIn", "o": london, "confidence": 0.4, "score": -1.0, "kge_rank": 2},
            {"s": ada, "p": "livesIn", "o": "Place:nowhere", "confidence": 0.9, "score": 9.0}]  # no such entity
    assert store.write_candidate_facts("m1", rows) == 2, "rows whose endpoint is missing are skipped"
    got = store.candidate_facts("m1")
    assert [f.id for f in got] == sorted([candidate_fact_id("m1", ada, "livesIn", paris),
                                          candidate_fact_id("m1", bea, "livesIn", london)])
    first = next(f for f in got if f.subject_id == ada)
    assert first.predicate == "livesIn" and first.rel_type == "LIVES_IN" and first.object_id == paris
    assert abs(first.confidence - 0.7) < 1e-9 and abs(float(first.properties["kge_score"]) - 3.5) < 1e-9
    assert first.properties["kge_model"] == "m1" and first.properties["fusion_status"] == CANDIDATE_STATUS
    assert int(first.properties["kge_rank"]) == 1
    # never in the view, always in the audit view
    assert {f.id for f in store.iter_view_facts()} == {real.id, other.id}, "a candidate is not an accepted fact"
    assert {f.id for f in store.iter_view_facts(include_rejected=True)} == {real.id, other.id} | {f.id for f in got}
    # idempotent: the same rows again give the same candidates, not duplicates
    assert store.write_candidate_facts("m1", rows) == 2
    assert [(f.id, f.confidence) for f in store.candidate_facts("m1")] == [(f.id, f.confidence) for f in got]
    # a second model's candidates live next to the first's; rewriting one model replaces only its own
    assert store.write_candidate_facts("m2", rows[:1]) == 1
    assert len(store.candidate_facts()) == 3
    assert store.write_candidate_facts("m1", rows[1:2]) == 1
    assert [f.subject_id for f in store.candidate_facts("m1")] == [bea]
    assert len(store.candidate_facts("m2")) == 1
    _raises(UnsafeIdentifierError, store.write_candidate_facts, "m1",
            [{"s": ada, "p": "x]->() DETACH DELETE n //", "o": paris, "confidence": 0.5, "score": 0.0}])
    _raises(ValueError, store.write_candidate_facts, "m1",
            [{"s": ada, "p": "livesIn", "o": paris, "confidence": 0.5, "score": 0.0, "fusion_status": "chosen"}])
    assert [f.subject_id for f in store.candidate_facts("m1")] == [bea], "a refused batch changes nothing"
    assert store.delete_candidate_facts("m2") == 1 and store.candidate_facts("m2") == []
    assert store.delete_candidate_facts() == 1 and store.candidate_facts() == []
    assert {f.id for f in store.iter_facts()} == {real.id, other.id}, "real facts are never touched"


def check_stats_count_candidates_apart(store: GraphStore) -> None:
    """``stats().facts`` counts what the view shows; rejected and candidate facts are counted apart."""
    ada, bea = _t("Ada", "bornIn", "London", "d1"), _t("Bea", "bornIn", "Paris", "d1")
    lost = _t("Ada", "bornIn", "Paris", "d2")
    store.write_triples([ada, bea, lost])
    store.set_fact_properties([(lost.id, {"fusion_status": "rejected"}), (ada.id, {"fusion_status": "chosen"})])
    rows = [{"s": ada.subject.id, "p": "livesIn", "o": bea.object.id, "confidence": 0.9, "score": 1.0},
            {"s": bea.subject.id, "p": "livesIn", "o": ada.object.id, "confidence": 0.8, "score": 0.5},
            {"s": bea.subject.id, "p": "bornIn", "o": ada.object.id, "confidence": 0.7, "score": 0.1}]
    assert store.write_candidate_facts("m1", rows) == 3
    s = store.stats()
    view = list(store.iter_view_facts())
    assert s.facts == len(view) == 2, f"facts must be what the view shows, got {s}"
    assert (s.rejected_facts, s.candidate_facts) == (1, 3), s
    assert s.relation_types == {"BORN_IN": 2}, "relation counts are the view's too"
    assert s.facts + s.rejected_facts + s.candidate_facts == len(list(store.iter_facts()))
    store.delete_candidate_facts()
    assert (store.stats().facts, store.stats().candidate_facts) == (2, 0)


def check_fusion_undo_restores_candidate_facts(store: GraphStore) -> None:
    """A merge re-points a merged entity's candidate facts (or drops the moot ones); undo gives every
    candidate back exactly."""
    from kgkit.fuse import fuse_graph, undo
    from kgkit.ontology import load_ontology

    org = "Organization"
    store.write_triples([
        _t("Marie Curie", "bornIn", "Warsaw", "a.md"), _t("M. Curie", "bornIn", "Warsaw", "b.md"),
        _t("Pierre Curie", "spouse", "Marie Curie", "a.md", ot="Person"),
        _t("M. Curie", "spouse", "Pierre Curie", "b.md", ot="Person"),
        _t("Pierre Curie", "worksFor", "Sorbonne", "a.md", ot=org), _t("Ada Lovelace", "bornIn", "Paris", "c.md"),
    ])
    ids = {e.name: e.id for e in store.iter_entities()}
    m, marie, sorbonne = ids["M. Curie"], ids["Marie Curie"], ids["Sorbonne"]
    rows = [{"s": m, "p": "worksFor", "o": sorbonne, "confidence": 0.9, "score": 2.0},      # re-pointed
            {"s": marie, "p": "worksFor", "o": sorbonne, "confidence": 0.6, "score": 1.0},  # met by the one above
            {"s": m, "p": "spouse", "o": marie, "confidence": 0.7, "score": 1.5},           # a self-loop: dropped
            {"s": m, "p": "bornIn", "o": ids["Paris"], "confidence": 0.8, "score": 1.8},    # 2nd birthplace: dropped
            {"s": ids["Pierre Curie"], "p": "memberOf", "o": sorbonne, "confidence": 0.85, "score": 1.9}]  # untouched
    assert store.write_candidate_facts("m1", rows) == 5
    cid = [candidate_fact_id("m1", str(r["s"]), str(r["p"]), str(r["o"])) for r in rows]
    assert [f.id for f in store.candidate_facts_of_entities([m])] == sorted([cid[0], cid[2], cid[3]])
    assert [f.id for f in store.candidate_facts_of_entities([m, marie])] == sorted(cid[:4]), "each once, by id"
    before = fusion_graph_state(store)
    report = fuse_graph(store, load_ontology(), use_embeddings=False)
    assert {e.id for e in store.iter_entities()} == set(ids.values()) - {m}, "M. Curie merges into Marie Curie"
    assert (report.merged["candidate_facts_repointed"], report.merged["candidate_facts_dropped"]) == (1, 2), report.merged
    after = {(f.subject_id, f.predicate, f.object_id): f for f in store.candidate_facts("m1")}
    assert set(after) == {(marie, "worksFor", sorbonne), (ids["Pierre Curie"], "memberOf", sorbonne)}, sorted(after)
    moved = after[(marie, "worksFor", sorbonne)]
    assert moved.id == candidate_fact_id("m1", marie, "worksFor", sorbonne) and abs(moved.confidence - 0.9) < 1e-9
    assert list(moved.properties["merged_from"]) == [candidate_fact_id("m1", m, "worksFor", sorbonne)]
    assert moved.properties["fusion_status"] == CANDIDATE_STATUS and moved.properties["kge_model"] == "m1"
    assert not {f.id for f in store.iter_view_facts()} & {f.id for f in after.values()}, "still never accepted"
    undo(store)
    assert fusion_graph_state(store) == before, "undo must give back every candidate fact exactly"


def check_retraction_ignores_candidate_facts(store: GraphStore) -> None:
    """A candidate fact is no support: retracting the only document of an entity removes it and its
    candidates, even when a model proposed facts about it."""
    ada, bea = _t("Ada", "bornIn", "London", "d1"), _t("Bea", "bornIn", "Paris", "d2")
    store.write_triples([ada, bea])
    rows = [{"s": ada.subject.id, "p": "livesIn", "o": bea.object.id, "confidence": 0.9, "score": 1.0},
            {"s": bea.subject.id, "p": "livesIn", "o": bea.object.id, "confidence": 0.8, "score": 0.5}]
    assert store.write_candidate_facts("m1", rows) == 2
    res = store.retract_document("d1")
    assert res.entities_removed == 2, f"Ada and London have no support left, got {res}"
    assert {e.name for e in store.iter_entities()} == {"Bea", "Paris"}
    assert [f.subject_id for f in store.candidate_facts()] == [bea.subject.id], "Ada's candidate goes with her"
