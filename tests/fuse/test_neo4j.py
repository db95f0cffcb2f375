"""Fusion and exact undo on Neo4j (the same Cypher as on FalkorDB). Needs the project's Neo4j test
server, which ``tests/store/conftest.py`` documents (``scripts/neo4j/start.sh``); never skipped."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Iterator

import pytest

from fuse_helpers import graph_state, triple
from kgkit.fuse import fuse_graph, list_conflicts, undo

pytestmark = pytest.mark.neo4j
_STORE_CONFTEST = Path(__file__).resolve().parents[1] / "store" / "conftest.py"


def _helpers():
    spec = importlib.util.spec_from_file_location("_kgkit_store_conftest", _STORE_CONFTEST)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def neo4j_store() -> Iterator:
    with _helpers().project_neo4j_store() as (_uri, store):
        yield store


def test_fuse_and_undo_on_neo4j(neo4j_store, ontology):
    s = neo4j_store
    s.clear()
    P, PL = "Person", "Place"
    s.write_triples([
        triple(("Marie Curie", P), "bornIn", ("Warsaw", PL), "a.md"),
        triple(("M. Curie", P), "bornIn", ("Warsaw", PL), "b.md"),
        triple(("Pierre Curie", P), "spouse", ("Marie Curie", P), "a.md"),
        triple(("Albert Einstein", P), "bornIn", ("Ulm", PL), "good.md"),
        triple(("Albert Einstein", P), "bornIn", ("Munich", PL), "bad.md"),
    ])
    before = graph_state(s)
    report = fuse_graph(s, ontology, use_embeddings=False)
    assert report.clusters == 1 and report.conflicts == 1
    assert {e.name for e in s.iter_entities()} >= {"Marie Curie", "Pierre Curie"}
    assert "M. Curie" not in {e.name for e in s.iter_entities()}
    assert list_conflicts(s)[0]["subject_name"] == "Albert Einstein"
    undo(s)
    assert graph_state(s) == before
    s.clear()
