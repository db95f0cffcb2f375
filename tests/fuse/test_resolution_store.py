"""Entity resolution and merging on hand-built graphs in an embedded FalkorDB store."""

from __future__ import annotations

import json

import pytest

from fuse_helpers import graph_state, triple
from kgkit.fuse import FusionError, NothingToUndoError, fuse_graph, list_runs, undo
from kgkit.types import Entity

P, PL, D, ORG = "Person", "Place", "Date", "Organization"
FAST = {"use_embeddings": False}


def names_of(store) -> dict[str, tuple[str, ...]]:
    return {e.name: e.aliases for e in store.iter_entities()}


def curie_graph(store) -> None:
    store.write_triples([
        triple(("Marie Curie", P), "bornIn", ("Warsaw", PL), "a.md"),
        triple(("Marie Curie", P), "birthDate", ("7 November 1867", D), "a.md"),
        triple(("Curie", P), "birthDate", ("1867", D), "b.md"),
        triple(("M. Curie", P), "bornIn", ("Warsaw", PL), "c.md"),
        triple(("Pierre Curie", P), "bornIn", ("Paris", PL), "a.md"),
        triple(("Pierre Curie", P), "spouse", ("Marie Curie", P), "a.md"),
        triple(("Paris", P), "bornIn", ("Troy", PL), "myth.md"),  # a person called Paris
    ])


def test_aliases_merge_and_keep_provenance(store, ontology):
    curie_graph(store)
    n_ev = store.stats().evidence
    report = fuse_graph(store, ontology, **FAST)
    names = names_of(store)
    assert "Curie" not in names and "M. Curie" not in names
    assert set(names["Marie Curie"]) >= {"Marie Curie", "Curie", "M. Curie"}
    # Provenance: no evidence lost, and the merged facts are supported by all three documents.
    assert store.stats().evidence == n_ev
    marie = next(e for e in store.iter_entities() if e.name == "Marie Curie")
    born = [f for f in store.iter_facts() if f.subject_id == marie.id and f.predicate == "bornIn"]
    assert len(born) == 1
    docs = {ev.document_id for ev in store.get_evidence(target=born[0].id)}
    assert docs == {"a.md", "c.md"}
    assert sorted(marie.properties["merged_ids"]) == sorted([Entity("Curie", P).id, Entity("M. Curie", P).id])
    decision = report.decisions[0]
    assert decision["canonical_name"] == "Marie Curie" and decision["rules"] == ["partial"]
    assert store.query("MATCH (m:MergeDecision) RETURN count(m) AS c")[0]["c"] == 1


def test_homonyms_do_not_merge(store, ontology):
    curie_graph(store)
    store.write_triples([
        triple(("John Smith", P), "birthDate", ("1900", D), "x.md"),
        triple(("J. Smith", P), "birthDate", ("1950", D), "y.md"),
        triple(("Paris", PL), "capitalOf", ("France", PL), "a.md"),
    ])
    fuse_graph(store, ontology, **FAST)
    names = names_of(store)
    # Different given names, different types, conflicting functional facts: all stay apart.
    assert "Pierre Curie" in names and "Marie Curie" in names
    assert {e.type for e in store.iter_entities() if e.name == "Paris"} == {P, PL}
    assert "John Smith" in names and "J. Smith" in names


def test_ambiguous_surname_is_left_alone(store, ontology):
    store.write_triples([
        triple(("Marie Curie", P), "bornIn", ("Warsaw", PL), "a.md"),
        triple(("Pierre Curie", P), "bornIn", ("Paris", PL), "a.md"),
        triple(("Curie", P), "worksFor", ("Sorbonne", ORG), "b.md"),
    ])
    report = fuse_graph(store, ontology, **FAST)
    assert report.clusters == 0
    assert "Curie" in names_of(store)


def test_acronym_is_a_candidate_and_alias_list_merges(store, ontology):
    from kgkit.fuse import accept_candidate, list_candidates

    store.write_triples([
        triple(("Thomas Watson", P), "worksFor", ("International Business Machines", ORG), "a.md"),
        triple(("Ada Lovelace", P), "worksFor", ("IBM", ORG), "b.md"),
    ])
    store.upsert_entities([Entity("Maria Skłodowska", P, aliases=("Marie Curie",)), Entity("Marie Curie", P)])
    report = fuse_graph(store, ontology, **FAST)
    names = names_of(store)
    assert "IBM" in names and "International Business Machines" in names, "an acronym never decides a merge"
    assert ("Marie Curie" in names) != ("Maria Skłodowska" in names)
    (cand,) = list_candidates(store)
    assert {cand["a_name"], cand["b_name"]} == {"IBM", "International Business Machines"}
    assert cand["rule"] == "acronym" and "acronym" in cand["reason"] and report.candidates == 1
    before_accept = graph_state(store)
    accept_candidate(store, ontology, cand["id"])
    names = names_of(store)
    assert "IBM" not in names and "IBM" in names["International Business Machines"], "canonical is the real name"
    assert list_candidates(store) == []
    undo(store)  # undoes the accepted merge only, and reopens the candidate
    assert graph_state(store) == before_accept
    assert [c["id"] for c in list_candidates(store)] == [cand["id"]]


def test_cannot_link_parameter(store, ontology):
    curie_graph(store)
    fuse_graph(store, ontology, cannot_link=[["Curie", "Marie Curie"]], **FAST)
    names = names_of(store)
    assert "Curie" in names and "M. Curie" not in names


def test_undo_restores_exactly(store, ontology):
    curie_graph(store)
    store.write_triples([
        triple(("Albert Einstein", P), "bornIn", ("Ulm", PL), "good.md"),
        triple(("Albert Einstein", P), "bornIn", ("Munich", PL), "bad1.md"),
        triple(("A. Einstein", P), "bornIn", ("Munich", PL), "bad2.md"),
    ])
    store.set_entity_properties([(Entity("Curie", P).id, {"description": "a surname"})])
    before = graph_state(store)
    report = fuse_graph(store, ontology, **FAST)
    assert report.clusters >= 2 and report.conflicts == 1
    assert graph_state(store) != before
    u = undo(store)
    assert u.run_id == report.run_id
    assert graph_state(store) == before
    with pytest.raises(NothingToUndoError):
        undo(store)


def test_second_run_resolves_against_existing_entities(store, ontology):
    curie_graph(store)
    first = fuse_graph(store, ontology, **FAST)
    after_first = graph_state(store)
    # New documents mention an already merged name and a new variant.
    store.write_triples([
        triple(("Curie", P), "award", ("Nobel Prize in Physics", "Award"), "d.md"),
        triple(("Marie Skłodowska Curie", P), "diedIn", ("Passy", PL), "e.md"),
        triple(("Marie Skłodowska Curie", P), "bornIn", ("Warsaw", PL), "e.md"),  # a shared fact backs the match
    ])
    second = fuse_graph(store, ontology, **FAST)
    names = names_of(store)
    assert "Curie" not in names and "Marie Skłodowska Curie" not in names
    marie = next(e for e in store.iter_entities() if e.name == "Marie Curie")
    assert {f.predicate for f in store.iter_facts() if f.subject_id == marie.id} >= {"award", "diedIn", "bornIn"}
    # Undo must go latest-first, and the first undo restores the state after the first run.
    with pytest.raises(FusionError):
        undo(store, first.run_id)
    undo(store, second.run_id)
    state = graph_state(store)
    ids_after_first = {e[0] for e in after_first["entities"]}
    assert ids_after_first <= {e[0] for e in state["entities"]}
    assert [r["id"] for r in list_runs(store)] == [first.run_id]


def test_dry_run_writes_nothing(store, ontology):
    curie_graph(store)
    before = graph_state(store)
    report = fuse_graph(store, ontology, dry_run=True, **FAST)
    assert report.clusters == 1 and report.dry_run
    assert graph_state(store) == before


def test_self_loop_becomes_mention(store, ontology):
    store.write_triples([
        triple(("Marie Curie", P), "bornIn", ("Warsaw", PL), "a.md"),
        triple(("M. Curie", P), "bornIn", ("Warsaw", PL), "b.md"),  # initials merge only with a shared fact
        triple(("M. Curie", P), "spouse", ("Marie Curie", P), "b.md"),
    ])
    before = graph_state(store)
    fuse_graph(store, ontology, **FAST)
    assert not [f for f in store.iter_facts() if f.predicate == "spouse"]
    marie = Entity("Marie Curie", P).id
    assert any(ev.kind == "mention" and ev.document_id == "b.md" for ev in store.get_evidence(target=marie))
    undo(store)
    assert graph_state(store) == before


def test_unknown_parameter_is_a_config_error(store, ontology):
    from kgkit.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown fusion parameter"):
        fuse_graph(store, ontology, merge_treshold=0.9)


def test_llm_adjudicates_only_ambiguous_pairs(store, ontology):
    from kgkit.llm import LLMClient
    from kgkit.llm.testing import ScriptedLLMServer, json_reply

    store.write_triples([
        triple(("Marie Curie", P), "bornIn", ("Warsaw", PL), "a.md"),
        triple(("Pierre Curie", P), "bornIn", ("Paris", PL), "a.md"),
        triple(("Curie", P), "worksFor", ("Sorbonne", ORG), "b.md"),
    ])
    with ScriptedLLMServer(handler=lambda req: json_reply({"same": "'Marie Curie'" in json.dumps(req.body)})) as server:
        client = LLMClient(base_url=server.base_url, api_key="test", model="scripted", cache_dir=None)
        from kgkit.fuse.adjudicate import llm_adjudicator

        report = fuse_graph(store, ontology, adjudicator=llm_adjudicator(client), **FAST)
        assert len(server.requests) == 2  # the two ambiguous "Curie" pairs, nothing else
    assert report.clusters == 1
    assert "Curie" in next(e.aliases for e in store.iter_entities() if e.name == "Marie Curie")


def test_a_run_that_dies_halfway_can_be_undone(store, ontology, monkeypatch):
    import kgkit.fuse.fusion as fusion_mod

    curie_graph(store)
    before = graph_state(store)

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash after the merges")

    monkeypatch.setattr(fusion_mod, "fact_updates", boom)
    with pytest.raises(RuntimeError):
        fuse_graph(store, ontology, **FAST)
    assert graph_state(store) != before  # merges were written
    assert list_runs(store)[-1]["status"] == "running"
    undo(store)
    assert graph_state(store) == before
