"""Conformance checks for the store methods fusion uses, and fusion end to end on the store.

Part of :mod:`kgkit.store.testing` (its ``CHECKS`` include every ``check_fusion_*`` here), so a store
that passes the suite can run ``kgkit fuse``: merge, conflict resolution, candidates and an undo
that restores the graph exactly. Each check only uses :class:`~kgkit.store.base.GraphStore` methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kgkit.errors import UnsafeIdentifierError
from kgkit.store.base import GraphStore
from kgkit.types import Entity, Evidence, Provenance, Span, Triple

__all__ = ["fusion_graph_state", "check_fusion_images", "check_fusion_rewrites", "check_fusion_log",
           "check_fusion_end_to_end"]


def _t(s: str, p: str, o: str, doc: str, st: str = "Person", ot: str = "Place", conf: float = 0.9) -> Triple:
    prov = Provenance(doc, f"{doc}#0", Span(0, 5), "conformance", "1", conf)
    return Triple(Entity(s, st), p, Entity(o, ot), prov, f"{s} {p} {o}")


def fusion_graph_state(store: GraphStore) -> dict[str, Any]:
    """Every entity (labels and properties), fact (type, ends, properties) and evidence node, and the
    fusion log, as plain comparable data read through store methods only."""
    ent_ids = [e.id for e in store.iter_entities()]
    fact_ids = [f.id for f in store.iter_facts()]
    ev_ids = [e.id for e in store.get_evidence()]
    log = {label: len(store.fusion_records(label))
           for label in ("FusionRun", "MergeDecision", "Conflict", "FusionJournal", "MergeCandidate")}
    return {"entities": store.entity_images(ent_ids), "facts": store.fact_images(fact_ids),
            "evidence": store.evidence_images(ev_ids), "log": log}


def _raises(exc: type[BaseException], fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except exc:
        return
    raise AssertionError(f"{fn.__name__}{args!r} should have raised {exc.__name__}")


def check_fusion_images(store: GraphStore) -> None:
    t = _t("Marie Curie", "bornIn", "Warsaw", "a.md")
    ent = Entity("Sorbonne", "Organization", aliases=("La Sorbonne",))
    mention = Evidence.for_mention(ent, Provenance("a.md", "a.md#1", Span(3, 9), "conformance", "1", 0.5), "Sorbonne")
    store.write_triples([t], mentions=[(ent, mention)])
    imgs = store.entity_images([t.subject.id, ent.id, "Person:missing"])
    assert imgs["Person:missing"] is None, "a missing entity has the image None"
    marie = imgs[t.subject.id]
    assert marie is not None and marie["labels"] == ["Entity", "Person"], marie
    assert marie["props"]["id"] == t.subject.id and marie["props"]["name"] == "Marie Curie"
    assert set(imgs[ent.id]["props"]["aliases"]) == {"Sorbonne", "La Sorbonne"}  # type: ignore[index]
    facts = store.fact_images([t.id, "f:missing"])
    assert facts["f:missing"] is None
    f = facts[t.id]
    assert f is not None and (f["rel"], f["s"], f["o"]) == ("BORN_IN", t.subject.id, t.object.id), f
    assert f["props"]["predicate"] == "bornIn" and abs(f["props"]["confidence"] - 0.9) < 1e-9
    evs = store.evidence_images([mention.id, "ev:missing"])
    assert evs["ev:missing"] is None and evs[mention.id]["props"]["target"] == ent.id  # type: ignore[index]
    assert store.entity_images([]) == {} and store.fact_images([]) == {} and store.evidence_images([]) == {}


def check_fusion_rewrites(store: GraphStore) -> None:
    t1, t2 = _t("Ada Lovelace", "bornIn", "London", "a.md"), _t("Alan Turing", "bornIn", "London", "b.md")
    store.write_triples([t1, t2])
    ada = store.entity_images([t1.subject.id])[t1.subject.id]
    assert ada is not None
    # replace_entities: exact properties (a property not given is removed), new entities created.
    new_props = {**ada["props"], "aliases": ["Ada Lovelace", "Ada Byron"]}
    new_props.pop("norm")
    assert store.replace_entities([(ada["labels"], new_props), (["Entity", "Person"], {"id": "Person:new", "name": "New"})]) == 2
    imgs = store.entity_images([t1.subject.id, "Person:new"])
    assert imgs[t1.subject.id] == {"labels": ["Entity", "Person"], "props": new_props}, imgs[t1.subject.id]
    assert imgs["Person:new"] == {"labels": ["Entity", "Person"], "props": {"id": "Person:new", "name": "New"}}
    # create_facts: exactly these properties, between existing entities.
    props = {"id": "f:new", "predicate": "spouse", "confidence": 0.5, "merged_from": ["f:a", "f:b"]}
    assert store.create_facts([("SPOUSE", t1.subject.id, "Person:new", props)]) == 1
    assert store.fact_images(["f:new"])["f:new"] == {"rel": "SPOUSE", "s": t1.subject.id, "o": "Person:new", "props": props}
    assert store.set_fact_properties_of([("f:new", t1.subject.id, {"fused_confidence": 0.4, "fusion_status": "chosen"})]) == 1
    assert store.set_fact_properties_of([("f:new", t2.subject.id, {"fused_confidence": 0.1})]) == 0, "anchored on the subject"
    got = store.fact_images(["f:new"])["f:new"]
    assert got is not None and got["props"]["fused_confidence"] == 0.4 and got["props"]["fusion_status"] == "chosen"
    # Evidence: update (+=), replace (exactly), delete.
    (ev,) = store.get_evidence(target=t1.id)
    assert store.update_evidence([(ev.id, {"target": "f:new", "subject": t1.subject.id})]) == 1
    assert store.get_evidence(target="f:new")[0].id == ev.id
    img = store.evidence_images([ev.id])[ev.id]
    assert img is not None
    assert store.replace_evidence([img["props"] | {"target": t1.id}, {"id": "ev:new", "kind": "mention"}]) == 2
    assert store.evidence_images(["ev:new"])["ev:new"] == {"props": {"id": "ev:new", "kind": "mention"}}
    assert store.get_evidence(target=t1.id)[0].id == ev.id
    assert store.delete_evidence(["ev:new", "ev:missing"]) == 1
    # Hostile labels, relationship types and property names are refused before anything is written.
    before = fusion_graph_state(store)
    _raises(UnsafeIdentifierError, store.replace_entities, [(["Entity", "X) DETACH DELETE n //"], {"id": "x"})])
    _raises(UnsafeIdentifierError, store.create_facts, [("R]->() DELETE r //", t1.subject.id, t2.subject.id, {"id": "f:x"})])
    _raises(UnsafeIdentifierError, store.update_evidence, [(ev.id, {"bad key": 1})])
    _raises(UnsafeIdentifierError, store.set_fact_properties_of, [("f:new", t1.subject.id, {"a`b": 1})])
    assert fusion_graph_state(store) == before, "a refused write must write nothing"


def check_fusion_log(store: GraphStore) -> None:
    runs = [{"id": "r2", "seq": 2, "status": "running"}, {"id": "r1", "seq": 1, "status": "done", "counts": "{}"}]
    assert store.add_fusion_records("FusionRun", runs) == 2
    assert [r["id"] for r in store.fusion_runs()] == ["r1", "r2"], "runs come oldest (lowest seq) first"
    journal = [{"id": f"r2:j:{i}", "run_id": "r2", "seq": i, "kind": "facts", "data": "{}" * 500} for i in (3, 0, 2, 1)]
    store.add_fusion_records("FusionJournal", journal)
    store.add_fusion_records("MergeCandidate", [{"id": "k1", "run_id": "r1", "a": "x", "b": "y", "status": "open"},
                                                {"id": "k2", "run_id": "r2", "a": "x", "b": "z", "status": "open"}])
    assert [r["seq"] for r in store.fusion_records("FusionJournal", "r2")] == [0, 1, 2, 3]
    assert [r["id"] for r in store.fusion_records("MergeCandidate")] == ["k1", "k2"]
    assert [r["id"] for r in store.fusion_records("MergeCandidate", "r2")] == ["k2"]
    assert store.update_fusion_record("MergeCandidate", "k1", {"status": "rejected"}) == 1
    assert store.update_fusion_record("MergeCandidate", "k-missing", {"status": "rejected"}) == 0
    assert store.fusion_records("MergeCandidate", "r1")[0]["status"] == "rejected"
    store.update_fusion_record("FusionRun", "r2", {"status": "done"})
    assert [r["status"] for r in store.fusion_runs()] == ["done", "done"]
    assert store.delete_fusion_run("r2") == 6
    assert [r["id"] for r in store.fusion_runs()] == ["r1"] and store.fusion_records("FusionJournal") == []
    assert [r["id"] for r in store.fusion_records("MergeCandidate")] == ["k1"]
    _raises(ValueError, store.add_fusion_records, "Entity", [{"id": "x"}])
    _raises(ValueError, store.fusion_records, "Document")


def check_fusion_end_to_end(store: GraphStore) -> None:
    """``fuse_graph`` merges, resolves a conflict and proposes a candidate; ``undo`` restores exactly."""
    from kgkit.fuse import fuse_graph, list_candidates, list_conflicts, undo
    from kgkit.ontology import load_ontology

    org = "Organization"
    store.write_triples([
        _t("Marie Curie", "bornIn", "Warsaw", "a.md"), _t("M. Curie", "bornIn", "Warsaw", "b.md"),
        _t("Pierre Curie", "spouse", "Marie Curie", "a.md", ot="Person"),
        _t("M. Curie", "spouse", "Pierre Curie", "b.md", ot="Person"),
        _t("Albert Einstein", "bornIn", "Ulm", "a.md"), _t("Albert Einstein", "bornIn", "Munich", "c.md"),
        _t("Ada Lovelace", "worksFor", "IBM", "a.md", ot=org),
        _t("Alan Turing", "worksFor", "International Business Machines", "b.md", ot=org),
    ])
    before = fusion_graph_state(store)
    report = fuse_graph(store, load_ontology(), use_embeddings=False)
    names = {e.name for e in store.iter_entities()}
    assert report.clusters == 1 and "M. Curie" not in names and "Marie Curie" in names, report.decisions
    marie = next(e for e in store.iter_entities() if e.name == "Marie Curie")
    assert "M. Curie" in marie.aliases and Entity("M. Curie", "Person").id in marie.properties["merged_ids"]
    spouse = [f for f in store.iter_facts() if f.predicate == "spouse"]
    assert {(f.subject_id, f.object_id) for f in spouse} == {(Entity("Pierre Curie", "Person").id, marie.id),
                                                            (marie.id, Entity("Pierre Curie", "Person").id)}
    assert store.stats().evidence == len(before["evidence"]), "a merge keeps every evidence node"
    (conflict,) = list_conflicts(store)
    assert conflict["subject_name"] == "Albert Einstein" and len(conflict["values"]) == 2
    status = {f.object_id: f.properties.get("fusion_status") for f in store.iter_facts() if f.predicate == "bornIn"
              and f.subject_id == Entity("Albert Einstein", "Person").id}
    assert sorted(str(v) for v in status.values()) == ["chosen", "rejected"], status
    assert [{c["a_name"], c["b_name"]} for c in list_candidates(store)] == [{"IBM", "International Business Machines"}]
    assert [r["status"] for r in store.fusion_runs()] == ["done"]
    undo(store)
    assert fusion_graph_state(store) == before, "undo must restore the graph exactly"
