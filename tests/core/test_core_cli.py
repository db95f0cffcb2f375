"""End-to-end: the real CLI on the sample corpus, query formats, exports, and injection attempts."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgkit.cli.main import app
from kgkit.store.embedded import EmbeddedFalkorServer

runner = CliRunner()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path):
    w = tmp_path_factory.mktemp("cli") / "kg"
    res = runner.invoke(app, ["ingest", str(sample_dir), "--workdir", str(w), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "processed" in res.output
    yield w
    EmbeddedFalkorServer(w / "falkordb").stop()


def _run(*args: str) -> str:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return res.output


def test_rerun_of_unchanged_folder_does_no_work(workdir: Path, sample_dir: Path) -> None:
    out = json.loads(_run("ingest", str(sample_dir), "--workdir", str(workdir), "--no-progress", "--json"))
    assert out["processed"] == 0 and out["unchanged"] >= 30 and out["fusion"] is None


def test_stats_json(workdir: Path) -> None:
    s = json.loads(_run("stats", "--json", "--workdir", str(workdir)))
    assert s["documents"] >= 30 and s["entities"] > 100 and s["facts"] > 50
    assert s["facts"] == sum(s["relation_types"].values())
    assert {"Person", "Organization", "Place"} <= set(s["entity_types"])


def test_query_formats_and_parameters(workdir: Path) -> None:
    q = "MATCH (p:Person)-[:BORN_IN]->(c:Place) WHERE p.name = $name RETURN p.name AS person, c.name AS place"
    rows = json.loads(_run("query", q, "-p", "name=Ada Lovelace", "--format", "json", "--workdir", str(workdir)))
    assert rows and all(r["person"] == "Ada Lovelace" for r in rows)
    assert "London" in {r["place"] for r in rows}
    out = _run("query", q, "-p", "name=Ada Lovelace", "--format", "csv", "--workdir", str(workdir))
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == ["person", "place"] and len(table) == len(rows) + 1


def test_query_is_read_only_unless_write(workdir: Path) -> None:
    before = json.loads(_run("stats", "--json", "--workdir", str(workdir)))
    res = runner.invoke(app, ["query", "MATCH (n) DETACH DELETE n", "--workdir", str(workdir)])
    assert res.exit_code == 1 and "--write" in res.output
    assert json.loads(_run("stats", "--json", "--workdir", str(workdir))) == before


def test_hostile_parameter_values_are_data_not_code(workdir: Path) -> None:
    before = json.loads(_run("stats", "--json", "--workdir", str(workdir)))
    for evil in ["x'}) DETACH DELETE n //", "\") MATCH (m) DETACH DELETE m //", "`; DROP"]:
        rows = json.loads(_run("query", "MATCH (n:Entity) WHERE n.name = $v RETURN n.name AS name", "-p", f"v={evil}",
                               "--format", "json", "--write", "--workdir", str(workdir)))
        assert rows == []
    assert json.loads(_run("stats", "--json", "--workdir", str(workdir))) == before


def test_export_formats_round_trip(workdir: Path, tmp_path: Path) -> None:
    from rdflib import Graph

    stats = json.loads(_run("stats", "--json", "--workdir", str(workdir)))
    (row,) = json.loads(_run("query", "MATCH (:Entity)-[r]->(:Entity) WHERE r.fusion_status = 'rejected' RETURN count(r) AS n",
                             "--format", "json", "--workdir", str(workdir)))
    assert row["n"] == stats["rejected_facts"] > 0, "stats counts the rejected facts apart from the view's"
    # the default export is the view (stats' facts: every fact but those fusion rejected); --audit writes them all
    for audit, facts in ((False, stats["facts"]), (True, stats["facts"] + stats["rejected_facts"])):
        flag = ["--audit"] if audit else []
        for fmt, parse in [("ttl", "turtle"), ("nt", "nt"), ("jsonld", "json-ld")]:
            out = tmp_path / f"g.{fmt}"
            _run("export", str(out), "--format", fmt, "--workdir", str(workdir), *flag)
            g = Graph().parse(str(out), format=parse)
            assert sum(1 for _, p, _ in g if "/relation/" in str(p)) == facts
        out = tmp_path / "g.csv"
        _run("export", str(out), "--format", "csv", "--workdir", str(workdir), *flag)
        rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
        assert len(rows) == facts + 1 and all("\n" not in c for r in rows for c in r)


def test_errors_name_the_fix(tmp_path: Path) -> None:
    res = runner.invoke(app, ["ingest", str(tmp_path / "nope")])
    assert res.exit_code == 1 and "not a folder" in res.output
    res = runner.invoke(app, ["query", "RETURN 1", "--store", "mongo", "--workdir", str(tmp_path)])
    assert res.exit_code == 1 and "falkordb" in res.output
    res = runner.invoke(app, ["export", str(tmp_path / "x.owl"), "--format", "owl", "--workdir", str(tmp_path / "w")])
    assert res.exit_code == 1 and "ttl" in res.output


def test_python_api_mirrors_the_cli(workdir: Path) -> None:
    from kgkit import KnowledgeGraph

    with KnowledgeGraph(workdir=workdir) as kg:
        df = kg.query_df("MATCH (p:Person) RETURN p.name AS name")
        g = kg.to_networkx()
        audit = kg.to_networkx(include="all")
        view = kg.view()
        s = kg.stats()
    assert len(df) == s.entity_types["Person"]
    assert audit.number_of_nodes() == s.entities
    assert audit.number_of_edges() == s.facts + s.rejected_facts + s.candidate_facts
    # the default is the view: rejected facts (and values only they named) left out; stats' facts are the view's
    assert g.number_of_edges() == s.facts and s.rejected_facts == len(view.rejected) > 0
    assert g.number_of_nodes() == len(view.entities)
