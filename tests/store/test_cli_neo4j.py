"""`kgkit neo4j ...`, and `kgkit ingest/query --store neo4j` end to end."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgkit.cli.main import app

runner = CliRunner()


def test_status_of_an_unreachable_server_fails_cleanly():
    res = runner.invoke(app, ["neo4j", "status", "--uri", "bolt://127.0.0.1:1"])
    assert res.exit_code == 1
    assert "scripts/neo4j/start.sh" in res.output and "Traceback" not in res.output


@pytest.mark.neo4j
def test_status_and_schema(neo4j_uri, neo4j_store):
    res = runner.invoke(app, ["neo4j", "schema", "--uri", neo4j_uri])
    assert res.exit_code == 0, res.output
    assert "REQUIRE n.id IS UNIQUE" in " ".join(res.output.split())
    res = runner.invoke(app, ["neo4j", "status", "--uri", neo4j_uri])
    assert res.exit_code == 0, res.output
    assert "5.26" in res.output and "0 entities" in res.output


@pytest.mark.neo4j
@pytest.mark.slow
def test_ingest_and_query_with_store_neo4j(neo4j_uri, neo4j_store, sample_dir, tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    for p in sorted((sample_dir / "people").glob("*"))[:3]:
        shutil.copy(p, docs / p.name)
    monkeypatch.setenv("NEO4J_URI", neo4j_uri)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    res = runner.invoke(app, ["ingest", str(docs), "--store", "neo4j", "--workdir", str(tmp_path / "w"), "--no-progress"])
    assert res.exit_code == 0, res.output
    st = neo4j_store.stats()
    assert st.documents == 3 and st.entities > 0 and st.facts > 0
    res = runner.invoke(app, ["query", "MATCH (d:Document) RETURN count(d) AS docs", "--store", "neo4j",
                              "--workdir", str(tmp_path / "w")])
    assert res.exit_code == 0, res.output
    assert "3" in res.output
    assert not Path(tmp_path / "w" / "falkordb").exists(), "--store neo4j must not start the embedded store"
