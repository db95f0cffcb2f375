"""The conformance suite every :class:`~kgkit.store.base.GraphStore` must pass.

Each check is a plain function of an open, empty store, so the suite runs with or without pytest::

    from kgkit.store.testing import run_conformance
    failures = run_conformance(lambda: MyStore(...))   # {check name: error message}; empty = conformant

With pytest, subclass :class:`GraphStoreConformance` and provide a ``store`` fixture that yields an
open, empty store; every check becomes a test::

    class TestMyStore(GraphStoreConformance):
        @pytest.fixture
        def store(self):
            with MyStore(...) as s:
                s.clear()
                yield s

What is checked: idempotent upserts, the evidence/provenance round trip, retraction of a document
(facts another document supports survive, orphans go), deletion and property updates, Cypher with
parameters, read-only ``query``, unicode names, and hostile text in names (stored verbatim, never
executed) and in relation names / labels (refused with :class:`UnsafeIdentifierError`); and
everything fusion needs (:mod:`kgkit.store.testing_fusion`): pre-images, exact rewrites, the fusion
log, and ``kgkit fuse`` end to end (merge, conflict resolution, candidates, exact undo).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from kgkit.errors import ReadOnlyQueryError, UnsafeIdentifierError
from kgkit.store.base import GraphStore
from kgkit.store.testing_fusion import (  # noqa: F401  (collected into CHECKS below)
    _raises, check_fusion_end_to_end, check_fusion_images, check_fusion_log, check_fusion_rewrites,
)
from kgkit.types import Document, Entity, Evidence, Provenance, Span, Triple

__all__ = ["CHECKS", "HOSTILE_NAMES", "UNICODE_NAMES", "GraphStoreConformance", "make_document", "make_triple", "run_conformance"]

HOSTILE_NAMES = (
    "x'}) DETACH DELETE n //",
    'x"}) MATCH (m) DETACH DELETE m RETURN 1 //',
    "back`tick` name",
    "`Entity`) DETACH DELETE n //",
    "semi; colon \\ back\\slash $param {braces}",
    "line\nbreak\ttab",
)
UNICODE_NAMES = ("Maria Skłodowska-Curie", "東京", "Ünïcödé Çafé", "rocket 🚀 launch", "Ελληνικά", "עברית")
HOSTILE_RELATIONS = ("born`In", "x]->() DETACH DELETE n //", "bornIn DELETE", "", "1abc", "a-b", "née")


def make_triple(s: str, p: str, o: str, *, doc: str = "doc1", chunk: str | None = None, span: tuple[int, int] | None = (0, 10),
                conf: float = 0.9, st: str = "Person", ot: str = "Place", text: str = "") -> Triple:
    """A triple with provenance, for tests."""
    prov = Provenance(doc, chunk or f"{doc}#0", Span(*span) if span else None, "conformance", "1", conf)
    return Triple(Entity(s, st), p, Entity(o, ot), prov, text or f"{s} {p} {o}")


def make_document(doc_id: str) -> Document:
    return Document(doc_id, f"/tmp/{doc_id}", f"text of {doc_id}", f"hash-{doc_id}", "text/plain", title=doc_id.upper())


def as_stored(ev: Evidence) -> Evidence:
    """What a store gives back for ``ev``: ``source`` defaults to the document, text is capped at 1000."""
    return replace(ev, source=ev.source or ev.document_id, text=ev.text[:1000])


def _counts(store: GraphStore) -> tuple[int, int, int, int]:
    s = store.stats()
    return s.documents, s.entities, s.facts, s.evidence


# -- checks ------------------------------------------------------------------------------------------
def check_empty_store(store: GraphStore) -> None:
    assert _counts(store) == (0, 0, 0, 0), f"a cleared store must be empty, got {store.stats()}"
    assert list(store.iter_entities()) == [] and list(store.iter_facts()) == [] and store.document_ids() == set()
    store.ensure_schema()  # idempotent
    assert store.write_triples([]).facts == 0 and store.delete_facts([]) == 0 and store.delete_entities([]) == 0


def check_upsert_idempotent(store: GraphStore) -> None:
    ts = [make_triple("Marie Curie", "bornIn", "Warsaw"), make_triple("Pierre Curie", "bornIn", "Paris"),
          make_triple("Marie Curie", "spouse", "Pierre Curie", ot="Person")]
    r1 = store.write_triples(ts)
    assert (r1.entities, r1.facts, r1.evidence) == (4, 3, 3), r1
    first = (_counts(store), sorted(store.iter_entities(), key=lambda e: e.id), sorted(store.iter_facts(), key=lambda f: f.id))
    store.write_triples(ts)
    store.write_triples(list(reversed(ts)))
    again = (_counts(store), sorted(store.iter_entities(), key=lambda e: e.id), sorted(store.iter_facts(), key=lambda f: f.id))
    assert again == first, "writing the same triples again must not change the graph"
    assert first[0] == (0, 4, 3, 3)
    assert {f.id for f in first[2]} == {t.id for t in ts}
    assert {(f.subject_id, f.predicate, f.rel_type, f.object_id) for f in first[2]} == {
        (t.subject.id, t.predicate, _rel(t.predicate), t.object.id) for t in ts}


def check_duplicates_within_batch(store: GraphStore) -> None:
    a = make_triple("Ada Lovelace", "bornIn", "London", span=(0, 10), conf=0.4)
    b = make_triple("ada  LOVELACE", "bornIn", "london", span=(50, 60), conf=0.8)  # same ids, new span
    r = store.write_triples([a, b, a])
    assert r.facts == 1 and r.evidence == 2, r
    assert _counts(store) == (0, 2, 1, 2)
    (fact,) = list(store.iter_facts())
    assert abs(fact.confidence - 0.8) < 1e-9, "a fact keeps the highest confidence seen"
    store.write_triples([make_triple("Ada Lovelace", "bornIn", "London", span=(70, 80), conf=0.1)])
    (fact,) = list(store.iter_facts())
    assert abs(fact.confidence - 0.8) < 1e-9, "a lower confidence must not overwrite a higher one"


def check_entity_aliases_merge(store: GraphStore) -> None:
    store.upsert_entities([Entity("IBM", "Organization", aliases=("Big Blue",))])
    store.upsert_entities([Entity("ibm", "Organization", aliases=("International Business Machines",))])
    (e,) = list(store.iter_entities())
    assert e.name == "IBM", "the first name seen is kept"
    assert set(e.aliases) == {"IBM", "ibm", "Big Blue", "International Business Machines"}, e.aliases
    store.upsert_entities([Entity("IBM", "Person")])  # same name, other type: another entity
    assert store.stats().entity_types == {"Organization": 1, "Person": 1}


def check_evidence_round_trip(store: GraphStore) -> None:
    t = make_triple("Alan Turing", "bornIn", "Maida Vale", doc="bio.md", chunk="bio.md#3", span=(120, 161), conf=0.75,
                    text="Turing was born in Maida Vale, London.")
    t_nospan = make_triple("Alan Turing", "diedIn", "Wilmslow", doc="bio.md", span=None)
    ent = Entity("Bletchley Park", "Place")
    mention = Evidence.for_mention(ent, Provenance("bio.md", "bio.md#4", Span(5, 19), "conformance", "1", 0.5, "BBC"), "Bletchley Park")
    r = store.write_triples([t, t_nospan], mentions=[(ent, mention)])
    assert r.evidence == 3
    want_t, want_n, want_m = as_stored(Evidence.for_triple(t)), as_stored(Evidence.for_triple(t_nospan)), as_stored(mention)
    got = store.get_evidence(target=t.id)
    assert got == [want_t], f"evidence must round-trip: {got} != {[want_t]}"
    assert store.get_evidence(target=t_nospan.id) == [want_n], "a fact without a span keeps start/end None"
    assert store.get_evidence(target=ent.id) == [want_m], "mention evidence (with a source) must round-trip"
    by_doc = sorted(store.get_evidence(document_id="bio.md"), key=lambda e: e.id)
    assert by_doc == sorted([want_t, want_n, want_m], key=lambda e: e.id)
    assert store.get_evidence(document_id="other.md") == []
    assert len(store.get_evidence()) == 3
    assert ent.id in {e.id for e in store.iter_entities()}, "a mentioned entity is stored"


def check_documents(store: GraphStore) -> None:
    docs = [make_document("a.txt"), make_document("dir/b.md")]
    assert store.upsert_documents(docs) == 2
    store.upsert_documents(docs)
    assert store.document_ids() == {"a.txt", "dir/b.md"}
    assert store.stats().documents == 2
    rows = store.query("MATCH (d:Document {id: $id}) RETURN d.title AS t, d.content_hash AS h", {"id": "dir/b.md"})
    assert rows == [{"t": "DIR/B.MD", "h": "hash-dir/b.md"}]


def check_retract_document(store: GraphStore) -> None:
    shared_a = make_triple("Marie Curie", "bornIn", "Warsaw", doc="a.txt")
    shared_b = make_triple("Marie Curie", "bornIn", "Warsaw", doc="b.txt", span=(40, 50))
    only_a = make_triple("Marie Curie", "memberOf", "Flying University", doc="a.txt", ot="Organization")
    only_b = make_triple("Pierre Curie", "spouse", "Marie Curie", doc="b.txt", ot="Person")
    lonely = Entity("Radium Institute", "Organization")
    kept = Entity("Sorbonne", "Organization")
    m_a = Evidence.for_mention(lonely, Provenance("a.txt", "a.txt#0", Span(1, 5), "conformance", "1"))
    m_a2 = Evidence.for_mention(kept, Provenance("a.txt", "a.txt#0", Span(6, 9), "conformance", "1"))
    m_b = Evidence.for_mention(kept, Provenance("b.txt", "b.txt#0", Span(6, 9), "conformance", "1"))
    store.upsert_documents([make_document("a.txt"), make_document("b.txt")])
    store.write_triples([shared_a, only_a], mentions=[(lonely, m_a), (kept, m_a2)])
    store.write_triples([shared_b, only_b], mentions=[(kept, m_b)])
    assert _counts(store) == (2, 6, 3, 7)
    res = store.retract_document("a.txt")
    assert (res.evidence_removed, res.facts_removed, res.entities_removed) == (4, 1, 2), res
    assert {f.id for f in store.iter_facts()} == {shared_a.id, only_b.id}, "facts another document supports survive"
    names = {e.name for e in store.iter_entities()}
    assert names == {"Marie Curie", "Warsaw", "Pierre Curie", "Sorbonne"}, names
    assert all(e.document_id == "b.txt" for e in store.get_evidence())
    assert store.document_ids() == {"a.txt", "b.txt"}, "the document node stays unless delete_document=True"
    res = store.retract_document("b.txt", delete_document=True)
    assert (res.facts_removed, res.entities_removed) == (2, 4), res
    assert _counts(store) == (1, 0, 0, 0)
    assert store.retract_document("never-seen.txt").evidence_removed == 0


def check_delete_and_set_properties(store: GraphStore) -> None:
    t1, t2 = make_triple("A", "bornIn", "B"), make_triple("C", "bornIn", "B")
    store.write_triples([t1, t2])
    a_id = t1.subject.id
    assert store.set_entity_properties([(a_id, {"cluster": "k1", "score": 2.5, "tags": ["x", "y"]})]) == 1
    assert store.set_entity_properties([("no-such-id", {"cluster": "k2"})]) == 0
    (a,) = [e for e in store.iter_entities() if e.id == a_id]
    assert dict(a.properties) == {"cluster": "k1", "score": 2.5, "tags": ["x", "y"]}
    assert store.set_fact_properties([(t1.id, {"status": "disputed", "rank": 3})]) == 1
    (f,) = [f for f in store.iter_facts() if f.id == t1.id]
    assert dict(f.properties) == {"status": "disputed", "rank": 3}
    for bad in ("bad key", "x}) DETACH DELETE n //", "a`b"):
        _raises(UnsafeIdentifierError, store.set_entity_properties, [(a_id, {bad: 1})])
        _raises(UnsafeIdentifierError, store.set_fact_properties, [(t1.id, {bad: 1})])
    assert store.delete_facts([t1.id, "f:missing"]) == 1
    assert {f.id for f in store.iter_facts()} == {t2.id}
    assert store.delete_entities([t2.subject.id]) == 1
    assert list(store.iter_facts()) == [], "deleting an entity removes its relationships"
    assert {e.name for e in store.iter_entities()} == {"A", "B"}


def check_batches_larger_than_batch_size(store: GraphStore) -> None:
    old = getattr(store, "batch_size", None)
    if old is not None:
        store.batch_size = 7  # type: ignore[attr-defined]
    try:
        ts = [make_triple(f"Person {i}", "bornIn", f"Town {i % 13}", span=(i, i + 1)) for i in range(50)]
        r = store.write_triples(ts)
        assert (r.entities, r.facts, r.evidence) == (63, 50, 50), r
        assert _counts(store) == (0, 63, 50, 50)
        assert store.delete_facts([t.id for t in ts[:23]]) == 23
        assert store.set_entity_properties([(t.subject.id, {"k": 1}) for t in ts]) == 50
    finally:
        if old is not None:
            store.batch_size = old  # type: ignore[attr-defined]


def check_cypher_parameters(store: GraphStore) -> None:
    values: dict[str, Any] = {"s": "it's \"quoted\" `x` $y", "i": 42, "f": 1.5, "b": True, "n": None,
                              "l": ["a", "b'", "東京"], "m": {"k": "v", "n": 1}}
    (row,) = store.query("RETURN $s AS s, $i AS i, $f AS f, $b AS b, $n AS n, $l AS l, $m AS m", values)
    assert row == values, row
    store.write_triples([make_triple("Grace Hopper", "bornIn", "New York City")])
    rows = store.query("MATCH (n:Entity) WHERE n.name = $name RETURN n.id AS id, n.type AS type", {"name": "Grace Hopper"})
    assert rows == [{"id": Entity("Grace Hopper", "Person").id, "type": "Person"}]
    rows = store.query("MATCH (n:Entity:Place) RETURN n")
    assert len(rows) == 1 and rows[0]["n"]["name"] == "New York City" and "Place" in rows[0]["n"]["_labels"]
    rows = store.query("MATCH (:Entity)-[r]->(:Entity) RETURN r")
    assert rows[0]["r"]["_type"] == "BORN_IN" and rows[0]["r"]["predicate"] == "bornIn"
    rows = store.query("UNWIND $xs AS x RETURN x ORDER BY x", {"xs": [3, 1, 2]})
    assert [r["x"] for r in rows] == [1, 2, 3]


def check_read_only_query(store: GraphStore) -> None:
    store.write_triples([make_triple("Kurt Gödel", "bornIn", "Brno")])
    before = _counts(store)
    for stmt in ("CREATE (:Intruder {x: 1})", "MATCH (n) DETACH DELETE n", "MATCH (n:Entity) SET n.hacked = true"):
        _raises(ReadOnlyQueryError, store.query, stmt)
    # and what a read transaction could still do (kgkit.store.readonly): refused before the server sees it
    for stmt in ("LOAD CSV FROM 'http://127.0.0.1:9/x.csv' AS r RETURN r", "TERMINATE TRANSACTIONS 'tx-1'",
                 "CALL dbms.killQuery('q-1')", "SHOW USERS"):
        _raises(ReadOnlyQueryError, store.query, stmt)
    assert store.query("RETURN 'LOAD CSV; TERMINATE TRANSACTIONS' AS s") == [{"s": "LOAD CSV; TERMINATE TRANSACTIONS"}]
    assert _counts(store) == before
    assert store.query("MATCH (n) WHERE n.hacked = true RETURN n") == []
    store.query("CREATE (:Scratch {x: $x})", {"x": 1}, write=True)
    assert store.query("MATCH (s:Scratch) RETURN s.x AS x") == [{"x": 1}]


def check_unicode_names(store: GraphStore) -> None:
    ts = [make_triple(n, "bornIn", UNICODE_NAMES[(i + 1) % len(UNICODE_NAMES)], span=(i, i + 1)) for i, n in enumerate(UNICODE_NAMES)]
    store.write_triples(ts)
    names = {(e.type, e.name) for e in store.iter_entities()}
    assert {n for _, n in names} == set(UNICODE_NAMES)
    for n in UNICODE_NAMES:
        rows = store.query("MATCH (n:Entity:Person {name: $n}) RETURN n.name AS name", {"n": n})
        assert rows == [{"name": n}], (n, rows)
    t = ts[1]
    assert store.get_evidence(target=t.id)[0].text == t.evidence


def check_hostile_names(store: GraphStore) -> None:
    store.write_triples([make_triple("Sentinel", "bornIn", "Safe Place")])
    ts = [make_triple(n, "bornIn", n, span=(i, i + 1), text=n) for i, n in enumerate(HOSTILE_NAMES)]
    store.write_triples(ts, mentions=[(t.subject, Evidence.for_mention(t.subject, t.provenance, t.subject.name)) for t in ts])
    store.upsert_documents([make_document(HOSTILE_NAMES[0])])
    ents = {(e.type, e.name) for e in store.iter_entities()}
    assert ("Person", "Sentinel") in ents and ("Place", "Safe Place") in ents, "hostile text must never run as Cypher"
    assert {n for t, n in ents if t == "Person"} == {"Sentinel", *HOSTILE_NAMES}
    assert store.stats().facts == 1 + len(HOSTILE_NAMES)
    assert store.document_ids() == {HOSTILE_NAMES[0]}
    for n in HOSTILE_NAMES:
        assert store.query("MATCH (n:Entity {name: $n}) RETURN count(n) AS c", {"n": n}) == [{"c": 2}]
    store.retract_document("doc1")
    assert store.stats().entities == 0


def check_hostile_identifiers_refused(store: GraphStore) -> None:
    store.write_triples([make_triple("Sentinel", "bornIn", "Safe Place")])
    before = _counts(store)
    for rel in HOSTILE_RELATIONS:
        good = make_triple("Innocent", "bornIn", "Bystander Town")
        bad = make_triple("Mallory", rel, "Anywhere")
        _raises(UnsafeIdentifierError, store.write_triples, [good, bad])
    for label in ("Per`son", "Person) DETACH DELETE n //", "Person:Admin", "", "Ort ü"):
        _raises(UnsafeIdentifierError, store.upsert_entities, [Entity("Mallory", label)])
        _raises(UnsafeIdentifierError, store.write_triples, [make_triple("Mallory", "bornIn", "X", st=label)])
    assert _counts(store) == before, "a refused write must write nothing"


def check_stats_and_clear(store: GraphStore) -> None:
    store.upsert_documents([make_document("d")])
    store.write_triples([make_triple("A", "bornIn", "B"), make_triple("A", "worksFor", "Org", ot="Organization"),
                         make_triple("C", "bornIn", "B")])
    s = store.stats()
    assert s.entity_types == {"Organization": 1, "Person": 2, "Place": 1}
    assert s.relation_types == {"BORN_IN": 2, "WORKS_FOR": 1}
    assert (s.documents, s.entities, s.facts, s.evidence) == (1, 4, 3, 3)
    store.clear()
    assert _counts(store) == (0, 0, 0, 0)


def _rel(predicate: str) -> str:
    from kgkit.ontology import relationship_type

    return relationship_type(predicate)


CHECKS: dict[str, Callable[[GraphStore], None]] = {
    name[len("check_"):]: fn for name, fn in sorted(globals().items()) if name.startswith("check_") and callable(fn)
}


def run_conformance(factory: Callable[[], GraphStore], *, only: list[str] | None = None) -> dict[str, str]:
    """Run every check on a fresh, cleared store from ``factory``; return ``{check: failure}``."""
    failures: dict[str, str] = {}
    for name, check in CHECKS.items():
        if only and name not in only:
            continue
        store = factory()
        store.open()
        try:
            store.clear()
            check(store)
        except AssertionError as err:
            failures[name] = str(err) or "assertion failed"
        finally:
            store.close()
    return failures


class GraphStoreConformance:
    """Mix-in for pytest: subclass it and provide a ``store`` fixture yielding an open, empty store.

    Every function in :data:`CHECKS` becomes a ``test_<name>`` method.
    """


def _make_test(check: Callable[[GraphStore], None]) -> Callable[[Any, GraphStore], None]:
    def test(self: Any, store: GraphStore) -> None:
        check(store)

    test.__doc__ = check.__doc__
    return test


for _name, _check in CHECKS.items():
    setattr(GraphStoreConformance, f"test_{_name}", _make_test(_check))


def check_view_facts(store: GraphStore) -> None:
    """``iter_view_facts``: fused confidence wins, rejected facts only when asked for (kgkit.view)."""
    kept, lost, plain = make_triple("A", "bornIn", "B"), make_triple("A", "bornIn", "C"), make_triple("D", "bornIn", "B")
    store.write_triples([kept, lost, plain])
    store.set_fact_properties([(kept.id, {"fusion_status": "chosen", "fused_confidence": 0.75}),
                               (lost.id, {"fusion_status": "rejected", "fused_confidence": 0.2})])
    view = {f.id: f for f in store.iter_view_facts()}
    assert set(view) == {kept.id, plain.id}, "a rejected fact is not in the view"
    assert abs(view[kept.id].confidence - 0.75) < 1e-9, "the view's confidence is the fused one"
    assert abs(view[plain.id].confidence - plain.confidence) < 1e-9, "unscored facts keep their own confidence"
    assert view[kept.id].properties.get("fusion_status") == "chosen"
    audit = {f.id: f for f in store.iter_view_facts(include_rejected=True)}
    assert set(audit) == {kept.id, lost.id, plain.id}
    assert audit[lost.id].properties.get("fusion_status") == "rejected"


CHECKS["view_facts"] = check_view_facts
GraphStoreConformance.test_view_facts = _make_test(check_view_facts)  # type: ignore[attr-defined]


from kgkit.store.testing_candidates import (  # noqa: E402
    check_candidate_facts, check_fusion_undo_restores_candidate_facts, check_retraction_ignores_candidate_facts,
    check_stats_count_candidates_apart,
)

CHECKS["candidate_facts"] = check_candidate_facts
GraphStoreConformance.test_candidate_facts = _make_test(check_candidate_facts)  # type: ignore[attr-defined]
CHECKS["stats_count_candidates_apart"] = check_stats_count_candidates_apart
GraphStoreConformance.test_stats_count_candidates_apart = _make_test(check_stats_count_candidates_apart)  # type: ignore[attr-defined]
CHECKS["fusion_undo_restores_candidate_facts"] = check_fusion_undo_restores_candidate_facts
GraphStoreConformance.test_fusion_undo_restores_candidate_facts = _make_test(  # type: ignore[attr-defined]
    check_fusion_undo_restores_candidate_facts)
CHECKS["retraction_ignores_candidate_facts"] = check_retraction_ignores_candidate_facts
GraphStoreConformance.test_retraction_ignores_candidate_facts = _make_test(  # type: ignore[attr-defined]
    check_retraction_ignores_candidate_facts)
