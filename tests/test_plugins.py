"""Stages plug in by name: a package outside kgkit (tests/plugin_pkg) adds a reader and an extractor
through entry points, and a pipeline file uses both by name in a real ingest."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kgkit.api import KnowledgeGraph
from kgkit.errors import ConfigError
from kgkit.registry import REGISTRIES, Registry, extractors, readers

PLUGIN_DIR = Path(__file__).resolve().parent / "plugin_pkg"


@pytest.fixture
def plugin(monkeypatch):
    """The example plugin visible to importlib.metadata, as if pip-installed."""
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    for r in REGISTRIES.values():
        r.refresh()
    yield
    monkeypatch.undo()
    for r in REGISTRIES.values():
        r.refresh()


def _pipeline(tmp_path: Path, **sections) -> Path:
    data = {
        "name": "plugin-test",
        "store": {"name": "falkordb", "data_dir": str(tmp_path / "falkordb")},
        "ingest": {"include": ["**/*.note", "**/*.txt"], "readers": {".note": "note"}},
        "extractor": {"name": "example-pattern", "confidence": 0.8},
        "fusion": {"enabled": False},
        **sections,
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_entry_points_are_seen_without_importing_the_plugin(plugin):
    import sys

    sys.modules.pop("kgkit_example_plugin", None)
    assert "example-pattern" in extractors.names() and "note" in readers.names()
    assert "kgkit_example_plugin" not in sys.modules  # listing names imports nothing
    cls = extractors.get("example-pattern")
    assert cls.__module__ == "kgkit_example_plugin"


def test_without_the_plugin_the_error_lists_the_registered_names(tmp_path):
    for r in REGISTRIES.values():
        r.refresh()
    with pytest.raises(ConfigError) as info:
        KnowledgeGraph(_pipeline(tmp_path), workdir=tmp_path / "w")
    msg = str(info.value)
    assert "extractor.name" in msg and "unknown extractor 'example-pattern'" in msg
    assert "spacy, llm, trained" in msg and "kgkit.extractors" in msg


def test_pipeline_uses_plugin_reader_and_extractor_in_a_real_ingest(plugin, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.note").write_text("% a comment: Bad Name was born in Nowhere\nAda Lovelace was born in London.\n",
                                 encoding="utf-8")
    (docs / "b.txt").write_text("Alan Turing was born in Maida.", encoding="utf-8")
    with KnowledgeGraph(_pipeline(tmp_path), workdir=tmp_path / "w") as kg:
        report = kg.ingest(docs)
        assert (report.processed, report.failed, report.skipped) == (2, 0, [])
        facts = {(r["s"], r["o"]) for r in kg.query("MATCH (s)-[r:BORN_IN]->(o) RETURN s.name AS s, o.name AS o")}
        media = {r["m"] for r in kg.query("MATCH (d:Document) RETURN d.media_type AS m")}
        extractor_names = {r["x"] for r in kg.query("MATCH (e:Evidence) RETURN e.extractor AS x")}
    assert facts == {("Ada Lovelace", "London"), ("Alan Turing", "Maida")}  # the comment line was dropped by the reader
    assert "text/x-note" in media
    assert extractor_names == {"example-pattern"}


def test_plugin_reader_claims_its_suffix_by_default(plugin):
    from kgkit.ingest.readers import reader_table

    table = reader_table()
    assert table[".note"].media_type == "text/x-note"
    assert table[".txt"].media_type == "text/plain"  # kgkit's own readers keep their suffixes


def test_cli_ingest_with_plugin_pipeline(plugin, tmp_path):
    from kgkit.cli.main import app

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.note").write_text("Grace Hopper was born in Harlem.", encoding="utf-8")
    res = CliRunner().invoke(app, ["ingest", str(docs), "--pipeline", str(_pipeline(tmp_path)),
                                   "--workdir", str(tmp_path / "w"), "--no-progress", "--json"])
    assert res.exit_code == 0, res.output
    assert '"triples": 1' in res.output


def test_in_process_registration_and_conflicts():
    r: Registry[object] = Registry("widget", "kgkit.test_widgets", {"a": "builtins:int"})
    r.register("b", float)
    assert r.names() == ["a", "b"] and r.get("b") is float
    with pytest.raises(ConfigError, match="already registered"):
        r.register("a", str)
    with pytest.raises(ConfigError, match=r"bad parameters for widget 'a'"):
        r.make("a", nope=1)
    with pytest.raises(ConfigError, match=r"did you mean 'b'"):
        r.get("bb")


def _imported_after(statement: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has imported after running ``statement``."""
    import subprocess
    import sys

    code = f"import sys; {statement}; print(','.join(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout.strip()
    return [m for m in out.split(",") if m]


def test_every_axis_resolves_its_own_names_lazily():
    listing = "import kgkit.registry as r; [x.names() for x in r.REGISTRIES.values()]"
    assert _imported_after(listing, ("torch", "spacy", "neo4j", "rdflib", "openai")) == []
    for axis, names in {"stores": "falkordb neo4j", "fusion_policies": "accucopy majority accu truthfinder",
                        "path_scorers": "zero-shot lexical embedding", "exporters": "ttl nt jsonld csv",
                        "readers": "text markdown html pdf", "extractors": "spacy llm trained"}.items():
        assert set(names.split()) <= set(REGISTRIES[axis].names()), axis


def test_cli_plugins_lists_every_axis_with_plugins(plugin):
    import json

    from kgkit.cli.main import app

    res = CliRunner().invoke(app, ["plugins", "--json"])
    assert res.exit_code == 0, res.output
    names = json.loads(res.output)
    assert set(names) == set(REGISTRIES)
    assert "example-pattern" in names["extractors"] and "note" in names["readers"] and "csv" in names["exporters"]


def test_in_process_registration_reaches_exporters_and_path_scorers(falkor_store, tmp_path):
    from kgkit.export import export_graph
    from kgkit.reason.scoring import LexicalPathScorer, make_scorer
    from kgkit.registry import exporters, path_scorers

    seen = {}

    def write_count(view, path):
        seen["facts"] = len(view.facts)
        path.write_text("n", encoding="utf-8")
        return 7

    exporters.register("count-test", write_count)
    path_scorers.register("lexical-test", lambda *, device, ontology: LexicalPathScorer())
    try:
        assert export_graph(falkor_store, tmp_path / "out" / "x.n", "count-test") == 7
        assert seen == {"facts": 0} and (tmp_path / "out" / "x.n").read_text() == "n"
        assert isinstance(make_scorer("lexical-test"), LexicalPathScorer)
        with pytest.raises(ConfigError, match="unknown export format 'xml'.*count-test"):
            export_graph(falkor_store, tmp_path / "y.xml", "xml")
        assert not (tmp_path / "y.xml").exists()
        with pytest.raises(ConfigError, match="unknown path scorer 'lexicl'.*trained scorer"):
            make_scorer("lexicl")
    finally:
        exporters.unregister("count-test")
        path_scorers.unregister("lexical-test")


def test_cli_start_up_imports_neither_registries_nor_pydantic():
    assert _imported_after("import kgkit.cli.main", ("pydantic", "kgkit.registry", "kgkit.config", "yaml")) == []
