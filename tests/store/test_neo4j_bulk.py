"""The bulk first load into Neo4j: CSV files for ``neo4j-admin database import full``, the import
itself into a private server, an exact round trip, and the conformance suite on the imported database.

The server of these tests is a throw-away one in a temporary folder on ``KGKIT_TEST_NEO4J_BULK_PORT``
(7707): the import replaces its database files.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from kgkit.errors import ConfigError, StoreError
from kgkit.store.neo4j_bulk import (ARRAY_DELIMITER, GraphRows, LocalNeo4j, NodeRow, RelRow, bulk_load, dump_graph,
                                    graph_rows_from_triples, write_import_csv)
from kgkit.store.testing import HOSTILE_NAMES, UNICODE_NAMES, GraphStoreConformance, make_document, make_triple

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts" / "neo4j"


def _source_graph(store) -> None:
    """A graph with every kind of value kgkit stores: hostile and unicode names, lists, numbers,
    booleans, mentions, fusion properties and a fusion-log record."""
    names = [*HOSTILE_NAMES, *UNICODE_NAMES, 'quote " and, comma']
    triples = [make_triple(n, "bornIn", "Paris", doc=f"doc{i % 3}", text=f"text with\nnewline {i}")
               for i, n in enumerate(names)]
    triples.append(make_triple("Ada", "worksFor", "Analytical Engine Co", st="Person", ot="Organization", span=None))
    store.upsert_documents([make_document(f"doc{i}") for i in range(3)])
    store.write_triples(triples)
    store.set_fact_properties([(triples[0].id, {"fusion_status": "chosen", "fused_confidence": 0.75,
                                                "sources": ["a", "b;c"], "recent": True})])
    store.set_entity_properties([(triples[1].subject.id, {"cluster_size": 3, "scores": [0.5, 1.0]})])
    store.add_fusion_records("FusionRun", [{"id": "run-1", "seq": 1, "params": json.dumps({"x": 1}), "done": False}])


def _canonical(graph: GraphRows) -> tuple[list, list]:
    def freeze(props: Any) -> str:
        return json.dumps(props, sort_keys=True, ensure_ascii=False)

    nodes = {n.key: f"{sorted(n.labels)}{freeze(n.props)}" for n in graph.nodes}
    rels = sorted((nodes[r.start], r.type, freeze(r.props), nodes[r.end]) for r in graph.rels)
    return sorted(nodes.values()), rels


def test_csv_files_have_typed_headers_and_escape_everything(tmp_path: Path) -> None:
    nodes = [NodeRow("1", ("Entity", "Person"), {"id": "e1", "name": 'a "b", c\nd', "aliases": ["x;y", ""],
                                                 "n": 3, "c": 0.1, "ok": True, "gone": None}),
             NodeRow("2", ("Entity", "Person"), {"id": "e2", "name": "z", "aliases": ["z"], "n": 4, "c": 1.0})]
    files = write_import_csv(GraphRows(nodes, [RelRow("1", "2", "KNOWS", {"id": "f", "confidence": 0.9})]), tmp_path / "csv")
    assert (files.node_count, files.relationship_count) == (2, 1)
    assert len(files.nodes) == 2, "a row without a property gets its own file (one header per file)"
    with files.nodes[0].open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [":ID", ":LABEL", "aliases:string[]", "c:double", "id:string", "n:long", "name:string", "ok:boolean"]
    assert rows[1] == ["1", f"Entity{ARRAY_DELIMITER}Person", f"x;y{ARRAY_DELIMITER}", "0.1", "e1", "3", 'a "b", c\nd', "true"]
    with files.relationships[0].open(encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == [":START_ID", ":END_ID", ":TYPE", "confidence:double", "id:string"]
    with pytest.raises(ConfigError, match="not empty"):
        write_import_csv(GraphRows([], []), tmp_path / "csv")


@pytest.mark.parametrize("props, message", [
    ({"x": [1, "a"]}, "mixing"),
    ({"x": ["a\x1fb"]}, r"U\+001F"),
    ({"x": {"nested": 1}}, "dict value"),
    ({"bad name": 1}, "CSV header"),
])
def test_values_neo4j_cannot_hold_are_refused_with_the_fix(tmp_path: Path, props: dict, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        write_import_csv(GraphRows([NodeRow("1", ("Entity",), props)], []), tmp_path / "csv")


def test_rows_from_triples_are_what_write_triples_writes(falkordb_store) -> None:
    triples = [make_triple("A", "bornIn", "B"), make_triple("A", "bornIn", "B", doc="doc2", conf=0.95),
               make_triple("C", "worksFor", "D", st="Person", ot="Organization")]
    docs = [make_document("doc1"), make_document("doc2")]
    falkordb_store.upsert_documents(docs)
    falkordb_store.write_triples(triples)
    assert _canonical(graph_rows_from_triples(docs, triples)) == _canonical(dump_graph(falkordb_store))


# -- against a real server ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bulk_server(tmp_path_factory) -> Iterator[LocalNeo4j]:
    server = LocalNeo4j(SCRIPTS, int(os.environ.get("KGKIT_TEST_NEO4J_BULK_PORT", "7707")),
                        tmp_path_factory.mktemp("neo4j-bulk"), REPO / ".neo4j" / "lib")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def imported(bulk_server: LocalNeo4j, tmp_path_factory) -> tuple[tuple[list, list], Any]:
    """Fill an embedded store, bulk-load it into the empty private server; the source's canonical graph."""
    from kgkit.store.embedded import FalkorDBStore

    with FalkorDBStore(data_dir=tmp_path_factory.mktemp("bulk-source")) as source:
        _source_graph(source)
        expected = _canonical(dump_graph(source))
        report = bulk_load(dump_graph(source), bulk_server, csv_dir=tmp_path_factory.mktemp("csv") / "import")
    return expected, report


@pytest.mark.neo4j
def test_imported_database_equals_the_source_and_has_the_schema(imported, bulk_server: LocalNeo4j) -> None:
    from kgkit.store.neo4j import Neo4jStore

    expected, report = imported
    assert report.nodes == len(expected[0]) and report.relationships == len(expected[1]) > 10
    with Neo4jStore(bulk_server.uri, create_schema=False) as target:
        assert _canonical(dump_graph(target)) == expected, "every label, property and type survives the import"
        names = {r["name"] for r in target.query("SHOW CONSTRAINTS YIELD name RETURN name")}
        assert {"kgkit_entity_id", "kgkit_document_id", "kgkit_evidence_id"} <= names
        assert target.stats().facts == report.relationships


@pytest.mark.neo4j
def test_import_into_a_database_with_data_is_refused(imported, bulk_server: LocalNeo4j, tmp_path: Path) -> None:
    from kgkit.store.neo4j import Neo4jStore

    rows = GraphRows([NodeRow("1", ("Entity",), {"id": "x"})], [])
    with pytest.raises(ConfigError, match="already holds .* nodes.*kgkit ingest DIR --store neo4j"):
        bulk_load(rows, bulk_server, csv_dir=tmp_path / "csv")
    with Neo4jStore(bulk_server.uri, create_schema=False) as target:
        assert target.stats().facts == imported[1].relationships, "the refused import changed nothing"


@pytest.mark.neo4j
class TestConformanceOnImportedDatabase(GraphStoreConformance):
    """Runs after the import above (same module-scoped server): the imported database is a normal store."""

    @pytest.fixture
    def store(self, imported, bulk_server: LocalNeo4j) -> Iterator:
        from kgkit.store.neo4j import Neo4jStore

        with Neo4jStore(bulk_server.uri, create_schema=False) as s:
            s.clear()
            yield s


@pytest.mark.neo4j
def test_cli_import_then_incremental_ingest_finds_nothing_to_do(
        imported, bulk_server: LocalNeo4j, tmp_path: Path, sample_dir: Path, monkeypatch) -> None:
    """Runs last, on the emptied database. `kgkit neo4j import --ingest DIR`
    loads it; a later `kgkit ingest DIR --store neo4j` (the incremental path) has nothing left to do."""
    from typer.testing import CliRunner

    from kgkit.cli.main import app
    from kgkit.store.embedded import FalkorDBStore
    from kgkit.store.neo4j import Neo4jStore

    monkeypatch.setenv("NEO4J_DIR", str(bulk_server.neo4j_dir))
    monkeypatch.setenv("NEO4J_LIB", str(bulk_server.lib_dir))
    monkeypatch.setenv("NEO4J_PORT", str(bulk_server.port))
    monkeypatch.delenv("NEO4J_URI", raising=False)
    with Neo4jStore(bulk_server.uri, create_schema=False) as target:
        target.clear()  # what the last conformance check left
    work = tmp_path / "kg"
    res = CliRunner().invoke(app, ["neo4j", "import", "--ingest", str(sample_dir / "people"), "--workdir", str(work)])
    assert res.exit_code == 0, res.output
    assert "imported" in res.output
    with FalkorDBStore(data_dir=work / "falkordb") as source, Neo4jStore(bulk_server.uri, create_schema=False) as target:
        expected = _canonical(dump_graph(source))
        assert expected[1], "the ingest wrote facts"
        assert _canonical(dump_graph(target)) == expected
    again = CliRunner().invoke(app, ["ingest", str(sample_dir / "people"), "--store", "neo4j", "--no-fuse", "--json",
                                     "--workdir", str(work)])
    assert again.exit_code == 0, again.output
    out = json.loads(again.output.strip().splitlines()[-1])
    assert out["processed"] == 0 and out["unchanged"] == out["scanned"] > 0


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_rows_of_one_shape_whose_values_differ_in_type_go_to_the_right_files(tmp_path: Path) -> None:
    """Signatures are worked out once per row shape (keys + value types); a row whose list items or
    scalar types differ still gets the header of its own values, as when each row was typed alone."""
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    rows = [NodeRow("a", ("Entity",), {"id": "a", "tags": ["x", "y"], "n": 1, "ok": True}),
            NodeRow("b", ("Entity",), {"id": "b", "tags": [1, 2], "n": 2, "ok": False}),  # same shape key, long[]
            NodeRow("c", ("Entity",), {"id": "c", "tags": [], "n": True, "ok": True}),  # bool where an int was
            NodeRow("d", ("Entity",), {"id": "d", "tags": ["z"], "n": Level.HIGH, "ok": True}),  # an int subclass
            NodeRow("e", ("Entity",), {"id": "e", "tags": ["w"], "n": 5, "ok": None})]  # None: no such property
    files = write_import_csv(GraphRows(rows, []), tmp_path / "csv")
    by_id = {r[0]: (tuple(h), r) for p in files.nodes for h, *body in [_read_csv(p)] for r in body}
    assert by_id["a"] == ((":ID", ":LABEL", "id:string", "n:long", "ok:boolean", "tags:string[]"),
                          ["a", "Entity", "a", "1", "true", f"x{ARRAY_DELIMITER}y"])
    assert by_id["b"][0][-1] == "tags:long[]" and by_id["b"][1][-1] == f"1{ARRAY_DELIMITER}2"
    assert by_id["c"][0][3] == "n:boolean" and by_id["c"][1][3:] == ["true", "true", ""]
    assert by_id["d"][1][3] == "3", "an IntEnum is written as the number, as str() of an int gives"
    assert by_id["e"][0] == (":ID", ":LABEL", "id:string", "n:long", "tags:string[]")
    assert by_id["a"][0] == by_id["d"][0] and len(files.nodes) == 4


def test_line_breaks_are_noticed_so_the_importer_parses_multiline_only_when_needed(tmp_path: Path) -> None:
    from kgkit.store.neo4j_bulk import ImportFiles, admin_import_args

    plain = write_import_csv(GraphRows([NodeRow("1", ("Entity",), {"id": "a", "text": "one line"})],
                                       [RelRow("1", "1", "SELF", {"id": "r"})]), tmp_path / "plain")
    assert plain.multiline == []
    assert "--multiline-fields=false" in admin_import_args(plain)
    broken = write_import_csv(GraphRows([NodeRow("1", ("Entity",), {"id": "a", "text": "one line"}),
                                         NodeRow("2", ("Evidence",), {"id": "b", "text": "two\nlines"}),
                                         NodeRow("3", ("Evidence",), {"id": "c", "text": "carriage\rreturn"})],
                                        []), tmp_path / "broken")
    assert broken.multiline == [broken.nodes[1]] and len(broken.nodes) == 2
    assert "--multiline-fields=true" in admin_import_args(broken)
    unknown = ImportFiles(tmp_path / "plain", nodes=plain.nodes)  # written elsewhere: assume line breaks
    assert "--multiline-fields=true" in admin_import_args(unknown)
    assert _read_csv(broken.nodes[1])[1:] == [["2", "Evidence", "b", "two\nlines"], ["3", "Evidence", "c", "carriage\rreturn"]]


def test_many_rows_are_written_in_order_across_buffer_flushes(tmp_path: Path) -> None:
    n = 10_000  # more than one write buffer
    rows = (NodeRow(str(i), ("Entity",), {"id": f"e{i}", "c": i / 3}) for i in range(n))
    files = write_import_csv(GraphRows(rows, []), tmp_path / "csv")
    body = _read_csv(files.nodes[0])[1:]
    assert files.node_count == len(body) == n
    assert body[0] == ["0", "Entity", "0.0", "e0"] and body[-1] == [str(n - 1), "Entity", repr((n - 1) / 3), f"e{n - 1}"]


@pytest.mark.parametrize("bad, message", [(float("nan"), "cannot be imported as a number"),
                                          (["a", "b\x1fc"], r"U\+001F")])
def test_a_bad_value_after_the_first_row_of_its_shape_is_still_refused(tmp_path: Path, bad: Any, message: str) -> None:
    good = 0.5 if isinstance(bad, float) else ["a"]
    rows = [NodeRow("1", ("Entity",), {"id": "a", "v": good}), NodeRow("2", ("Entity",), {"id": "b", "v": bad})]
    with pytest.raises(StoreError, match=message):
        write_import_csv(GraphRows(rows, []), tmp_path / "csv")


def test_importer_stage_times_are_read_from_its_output() -> None:
    from kgkit.store.neo4j_bulk import importer_phases

    out = ("(1/4) Node import 2026-12-01 03:46:08.316+0000\nNode import COMPLETED in 1m 6s 613ms\n"
           "Relationship import COMPLETED in 423ms\nPost processing COMPLETED in 2s\nIMPORT DONE in 1h 2m 13s 45ms. \n")
    assert importer_phases(out) == {"Node import": 66.613, "Relationship import": 0.423, "Post processing": 2.0,
                                    "total": 3733.045}
    assert importer_phases("no stages here") == {}
