"""Conflicts on functional relations: recorded, resolved by policy, reversible."""

from __future__ import annotations

from fuse_helpers import graph_state, triple
from kgkit.fuse import fuse_graph, list_conflicts, undo

P, PL, D = "Person", "Place", "Date"


def reliability_graph(store) -> None:
    """Source 'rel' agrees with the others everywhere; 'u1'/'u2' are wrong everywhere they speak.

    On Ada Lovelace's birthplace the two unreliable sources outvote the reliable one.
    """
    people = [("Alan Turing", "London"), ("Grace Hopper", "New York"), ("Kurt Godel", "Brno"), ("Emmy Noether", "Erlangen")]
    ts = []
    for name, place in people:
        for src in ("rel", "w1", "w2"):
            ts.append(triple((name, P), "bornIn", (place, PL), f"{src}/{name}.md", source=src))
        ts.append(triple((name, P), "bornIn", ("Atlantis", PL), f"u1/{name}.md", source="u1"))
        ts.append(triple((name, P), "bornIn", ("Lemuria", PL), f"u2/{name}.md", source="u2"))
    ts.append(triple(("Ada Lovelace", P), "bornIn", ("London", PL), "rel/ada.md", source="rel"))
    ts.append(triple(("Ada Lovelace", P), "bornIn", ("Paris", PL), "u1/ada.md", source="u1"))
    ts.append(triple(("Ada Lovelace", P), "bornIn", ("Paris", PL), "u2/ada.md", source="u2"))
    store.write_triples(ts)


def _ada(conflicts):
    return next(c for c in conflicts if c["subject_name"] == "Ada Lovelace")


def test_majority_is_wrong_where_reliable_source_is_right(store, ontology):
    reliability_graph(store)
    fuse_graph(store, ontology, policy="majority", use_embeddings=False)
    assert _ada(list_conflicts(store))["chosen_name"] == "Paris"
    undo(store)
    report = fuse_graph(store, ontology, policy="accu", use_embeddings=False)
    ada = _ada(list_conflicts(store))
    assert ada["chosen_name"] == "London" and ada["majority_choice"] != ada["chosen"]
    assert report.conflicts == 5 and report.conflicts_changed_by_policy == 1
    # All claims are kept, with their sources, and the facts carry the decision.
    values = {v["name"]: v for v in ada["values"]}
    assert set(values) == {"London", "Paris"} and set(values["Paris"]["sources"]) == {"u1", "u2"}
    status = {r["o"]: (r["st"], r["fc"]) for r in store.query(
        "MATCH (s:Entity {name: 'Ada Lovelace'})-[r:BORN_IN]->(o) RETURN o.name AS o, r.fusion_status AS st, r.fused_confidence AS fc")}
    assert status["London"][0] == "chosen" and status["Paris"][0] == "rejected"
    assert status["London"][1] > status["Paris"][1]


def test_truthfinder_also_recovers(store, ontology):
    reliability_graph(store)
    fuse_graph(store, ontology, policy="truthfinder", use_embeddings=False)
    assert _ada(list_conflicts(store))["chosen_name"] == "London"


def test_configured_source_prior_decides_a_lone_conflict(store, ontology):
    store.write_triples([
        triple(("Ada Lovelace", P), "bornIn", ("London", PL), "britannica.md"),
        triple(("Ada Lovelace", P), "bornIn", ("Paris", PL), "blog1.md"),
        triple(("Ada Lovelace", P), "bornIn", ("Paris", PL), "blog2.md"),
    ])
    fuse_graph(store, ontology, use_embeddings=False, publishers={"blog*": "blogs"},
               source_priors={"britannica.md": 0.97, "blogs": 0.3})
    c = list_conflicts(store)[0]
    assert c["chosen_name"] == "London"
    # Two blog posts of one publisher count as one source.
    assert set(next(v for v in c["values"] if v["name"] == "Paris")["sources"]) == {"blogs"}


def test_compatible_values_are_not_a_conflict(store, ontology):
    store.write_triples([
        triple(("Ada Lovelace", P), "birthDate", ("1815", D), "a.md"),
        triple(("Ada Lovelace", P), "birthDate", ("10 December 1815", D), "b.md"),
    ])
    report = fuse_graph(store, ontology, use_embeddings=False)
    assert report.conflicts == 0


def test_fused_confidence_grows_with_independent_sources(store, ontology):
    store.write_triples([
        triple(("Ada Lovelace", P), "spouse", ("William King", P), "a.md", conf=0.7),
        triple(("Ada Lovelace", P), "spouse", ("William King", P), "b.md", conf=0.7),
        triple(("Alan Turing", P), "worksFor", ("Bletchley Park", "Organization"), "a.md", conf=0.7),
    ])
    before = graph_state(store)
    fuse_graph(store, ontology, use_embeddings=False)
    rows = {r["p"]: (r["fc"], r["n"]) for r in store.query(
        "MATCH ()-[r]->() RETURN r.predicate AS p, r.fused_confidence AS fc, r.support_sources AS n")}
    assert rows["spouse"][1] == 2 and rows["worksFor"][1] == 1
    assert rows["spouse"][0] > rows["worksFor"][0] > 0
    undo(store)
    assert graph_state(store) == before
