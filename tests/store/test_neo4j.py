"""Neo4j-specific behaviour: configuration, errors, schema, and agreement with the embedded store."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kgkit.errors import StoreError, StoreUnavailableError
from kgkit.store import open_store
from kgkit.store.neo4j import Neo4jStore, default_uri
from kgkit.store.testing import make_document, make_triple
from kgkit.types import Entity, Evidence, Provenance, Span


def test_constructor_reads_env_and_does_no_io(monkeypatch):
    monkeypatch.setenv("NEO4J_URI", "neo4j+s://example.invalid:7687")
    monkeypatch.setenv("NEO4J_USER", "alice")
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret")
    monkeypatch.setenv("NEO4J_DATABASE", "kg")
    s = Neo4jStore.from_env(batch_size=10)  # unreachable host: must not connect yet
    assert (s.uri, s.user, s.password, s.database, s.batch_size) == ("neo4j+s://example.invalid:7687", "alice", "s3cret", "kg", 10)
    assert "s3cret" not in repr(s)
    explicit = Neo4jStore("bolt://h:1", user="bob", password="pw", database="db2")
    assert (explicit.uri, explicit.user, explicit.password, explicit.database) == ("bolt://h:1", "bob", "pw", "db2")


def test_default_uri_is_the_project_server(monkeypatch):
    monkeypatch.delenv("NEO4J_URI", raising=False)
    monkeypatch.setenv("NEO4J_PORT", "7701")
    assert default_uri() == "bolt://127.0.0.1:7701"
    monkeypatch.delenv("NEO4J_PORT")
    assert Neo4jStore().uri == "bolt://127.0.0.1:7687"


def test_unreachable_server_names_the_start_script():
    store = Neo4jStore("bolt://127.0.0.1:1", connection_timeout=2, max_transaction_retry_time=1)
    with pytest.raises(StoreUnavailableError, match="scripts/neo4j/start.sh"):
        store.open()
    with pytest.raises(StoreError, match="not open"):
        store.query("RETURN 1")


def test_bad_uri_is_a_store_error():
    with pytest.raises(StoreUnavailableError, match="invalid Neo4j URI"):
        Neo4jStore("foo://127.0.0.1:1").open()


@pytest.mark.neo4j
def test_open_store_by_name(neo4j_uri):
    store = open_store("neo4j", uri=neo4j_uri)
    try:
        assert isinstance(store, Neo4jStore)
        assert store.query("RETURN 1 AS one") == [{"one": 1}]
    finally:
        store.close()


@pytest.mark.neo4j
def test_schema_constraints_and_indexes(neo4j_store):
    neo4j_store.ensure_schema()  # idempotent
    cons = {(r["labels"][0], r["properties"][0]) for r in neo4j_store.query(
        "SHOW CONSTRAINTS YIELD labelsOrTypes AS labels, properties, type WHERE type = 'UNIQUENESS' RETURN labels, properties")}
    assert cons >= {("Entity", "id"), ("Document", "id"), ("Evidence", "id")}
    idx = {(r["labels"][0], r["properties"][0]) for r in neo4j_store.query(
        "SHOW INDEXES YIELD labelsOrTypes AS labels, properties, state WHERE state = 'ONLINE' AND labels IS NOT NULL "
        "RETURN labels, properties")}
    assert idx >= {("Entity", "norm"), ("Entity", "name"), ("Evidence", "target"), ("Evidence", "document_id")}


@pytest.mark.neo4j
def test_unique_constraint_is_enforced(neo4j_store):
    neo4j_store.write_triples([make_triple("A", "bornIn", "B")])
    eid = Entity("A", "Person").id
    with pytest.raises(StoreError, match="already exists|ConstraintValidation"):
        neo4j_store.query("CREATE (:Entity {id: $id})", {"id": eid}, write=True)
    assert neo4j_store.stats().entities == 2


@pytest.mark.neo4j
def test_errors_are_translated(neo4j_store):
    with pytest.raises(StoreError, match="SyntaxError"):
        neo4j_store.query("MATCH (n RETURN n")
    with pytest.raises(StoreError, match="ParameterMissing|Expected parameter"):
        neo4j_store.query("RETURN $missing AS x")


@pytest.mark.neo4j
def test_clear_deletes_in_batches(neo4j_store):
    neo4j_store.query("UNWIND range(1, 25000) AS i CREATE (:Scratch {i: i})", write=True)
    neo4j_store.clear()
    assert neo4j_store.query("MATCH (n) RETURN count(n) AS c") == [{"c": 0}]


def _workload():
    ts = [make_triple(f"Person {i}", "bornIn", f"City {i % 5}", doc=f"d{i % 3}.txt", span=(i, i + 4), conf=0.5 + i / 100)
          for i in range(30)]
    ts += [make_triple(f"Person {i}", "spouse", f"Person {i + 1}", doc="d1.txt", ot="Person", span=(100 + i, 110 + i))
           for i in range(0, 20, 2)]
    ts += [make_triple("Person 0", "bornIn", "City 0", doc="d2.txt", span=(7, 9), conf=0.99)]
    ent = Entity("Lonely Org", "Organization")
    mention = (ent, Evidence.for_mention(ent, Provenance("d0.txt", "d0.txt#1", Span(3, 8), "x", "1")))
    return ts, [mention]


def _snapshot(store):
    ents = sorted((e.id, e.name, e.type, tuple(sorted(e.aliases))) for e in store.iter_entities())
    facts = sorted((f.id, f.subject_id, f.predicate, f.rel_type, f.object_id, round(f.confidence, 9)) for f in store.iter_facts())
    # FalkorDB returns doubles with 15 significant digits (0.5700000000000001 -> 0.57), Neo4j exactly.
    ev = sorted((replace(e, confidence=round(e.confidence, 9)) for e in store.get_evidence()), key=lambda e: e.id)
    return ents, facts, ev, store.document_ids(), store.stats()


@pytest.mark.neo4j
def test_same_operations_give_the_same_graph_in_both_stores(neo4j_store, falkordb_store):
    ts, mentions = _workload()
    for store in (neo4j_store, falkordb_store):
        store.upsert_documents([make_document(f"d{i}.txt") for i in range(3)])
        store.write_triples(ts, mentions)
        store.write_triples(ts[:10])
        store.retract_document("d1.txt", delete_document=True)
        store.set_entity_properties([(Entity("Person 3", "Person").id, {"cluster": "c1"})])
    neo, falk = _snapshot(neo4j_store), _snapshot(falkordb_store)
    assert neo[1] and neo[2], "the workload must leave facts and evidence"
    assert neo == falk


def _dense_workload(n: int = 1200, n_people: int = 60):
    """Many facts over few entities, so concurrent batches would collide if the plan let them."""
    import random

    rng = random.Random(5)
    ts = []
    for i in range(n):
        a, b = rng.sample(range(n_people), 2)
        ts.append(make_triple(f"Person {a}", "spouse" if i % 3 else "influencedBy", f"Person {b}", ot="Person",
                              doc=f"d{i % 7}.txt", span=(i, i + 5), conf=round(rng.random(), 3)))
    return ts


@pytest.mark.neo4j
def test_concurrent_writers_give_the_same_graph_as_one(neo4j_store, falkordb_store, monkeypatch):
    ts = _dense_workload()
    monkeypatch.setattr(neo4j_store, "batch_size", 40)
    monkeypatch.setattr(neo4j_store, "writers", 3)  # the default is 1
    calls: list[str] = []
    real_run = type(neo4j_store)._run

    def spy(self, cypher, params=None, *, write=True):
        import threading

        calls.append(threading.current_thread().name)
        return real_run(self, cypher, params, write=write)

    monkeypatch.setattr(type(neo4j_store), "_run", spy)
    res = neo4j_store.write_triples(ts)
    again = neo4j_store.write_triples(ts[::2])  # idempotent re-write, also concurrent
    falkordb_store.write_triples(ts)
    assert res.facts == len({t.id for t in ts}) and again.facts == len({t.id for t in ts[::2]})
    assert len({c for c in calls if c.startswith("kgkit-neo4j-writer")}) >= 2, "the writes did not run concurrently"
    assert _snapshot(neo4j_store)[:3] == _snapshot(falkordb_store)[:3]


@pytest.mark.neo4j
def test_a_failing_concurrent_batch_fails_the_write(neo4j_store, monkeypatch):
    monkeypatch.setattr(neo4j_store, "batch_size", 40)
    monkeypatch.setattr(neo4j_store, "writers", 2)
    real_run = type(neo4j_store)._run
    n = {"facts": 0}

    def flaky(self, cypher, params=None, *, write=True):
        if "MERGE (s)-[r:" in cypher:
            n["facts"] += 1
            if n["facts"] == 5:
                raise StoreError("injected failure")
        return real_run(self, cypher, params, write=write)

    monkeypatch.setattr(type(neo4j_store), "_run", flaky)
    with pytest.raises(StoreError, match="injected"):
        neo4j_store.write_triples(_dense_workload(600))
    monkeypatch.setattr(type(neo4j_store), "_run", real_run)
    ts = _dense_workload(600)
    neo4j_store.write_triples(ts)  # a rerun completes what the failed write left
    assert neo4j_store.stats().facts == len({t.id for t in ts})


@pytest.mark.neo4j
def test_stale_node_handles_fall_back_to_ids(neo4j_store, falkordb_store, monkeypatch):
    """Facts find their endpoints by elementId; a handle that points at the wrong node must not lose them."""
    ts = _dense_workload(300)
    real = type(neo4j_store)._write_entities

    def rotated(self, rows_by_label):
        handles = real(self, rows_by_label)
        keys = sorted(handles)
        return {k: handles[keys[(i + 1) % len(keys)]] for i, k in enumerate(keys)}  # every handle wrong

    monkeypatch.setattr(type(neo4j_store), "_write_entities", rotated)
    neo4j_store.write_triples(ts)
    falkordb_store.write_triples(ts)
    assert _snapshot(neo4j_store)[:3] == _snapshot(falkordb_store)[:3]
