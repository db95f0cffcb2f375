"""The view API on a small hand-built graph: what each figure holds, how it is styled, the errors,
the offline HTML page, and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kgkit.errors import ConfigError, DependencyMissingError, KgkitError
from kgkit.types import Entity, Provenance, Span, Triple
from kgkit.viz import EntityNotFoundError, GraphFigure, looks_like_cypher, show
from kgkit.viz.figure import HIGHLIGHT, STATUS_COLOURS, type_colour

CURIE, WARSAW, PARIS = ("Marie Curie", "Person"), ("Warsaw", "Place"), ("Paris", "Place")


def _triple(s: tuple[str, str], pred: str, o: tuple[str, str], doc: str, conf: float, text: str,
            start: int = 0) -> Triple:
    return Triple(Entity(*s), pred, Entity(*o),
                  Provenance(doc, f"{doc}#0", Span(start, start + len(text)), "test", "1", conf), evidence=text)


@pytest.fixture()
def store(tmp_path: Path) -> Iterator:
    """Curie born in Warsaw (accepted, two sentences) and in Paris (rejected by fusion), plus a
    second hop Warsaw -> Poland, and an entity 'Madame Curie' merged into Marie Curie."""
    from kgkit.store.embedded import FalkorDBStore

    with FalkorDBStore(data_dir=tmp_path / "db") as s:
        s.write_triples([
            _triple(CURIE, "bornIn", WARSAW, "people/curie.txt", 0.9, "Marie Curie was born in Warsaw.", 10),
            _triple(CURIE, "bornIn", WARSAW, "news/pantheon.txt", 0.8, "Curie, born in Warsaw, ...", 50),
            _triple(CURIE, "bornIn", PARIS, "blogs/trivia.md", 0.4, "Marie Curie was born in Paris."),
            _triple(WARSAW, "locatedIn", ("Poland", "Place"), "places/warsaw.md", 0.7, "Warsaw is in Poland."),
        ])
        facts = {(f.predicate, f.object_id): f.id for f in s.iter_facts()}
        paris_fact = facts[("bornIn", Entity(*PARIS).id)]
        warsaw_fact = facts[("bornIn", Entity(*WARSAW).id)]
        s.set_fact_properties([(paris_fact, {"fusion_status": "rejected", "fused_confidence": 0.1}),
                               (warsaw_fact, {"fusion_status": "chosen", "fused_confidence": 0.95})])
        s.set_entity_properties([(Entity(*CURIE).id, {"merged_ids": [Entity(*CURIE).id, "Person:madame"]})])
        yield s


def test_entity_figure_styles_from_the_view(store) -> None:
    fig = show(store, "marie curie")  # names match case-insensitively
    assert {n.name for n in fig.nodes.values()} == {"Marie Curie", "Warsaw"}  # the rejected Paris fact is left out
    (edge,) = fig.edges
    assert edge.status == "chosen" and edge.confidence == pytest.approx(0.95)
    assert edge.colour == STATUS_COLOURS["chosen"] and edge.width == pytest.approx(5.75)
    assert edge.evidence_total == 2 and edge.evidence[0].document_id == "people/curie.txt"  # strongest first
    tip = edge.tooltip()
    assert tip["evidence 1"] == "“Marie Curie was born in Warsaw.” — people/curie.txt [10:41]"
    curie = fig.nodes[Entity(*CURIE).id]
    assert curie.highlight and curie.merged_ids == ("Person:madame",) and curie.caption == "Marie Curie (+1 merged)"
    assert curie.colour == type_colour("Person") != type_colour("Place")


def test_audit_view_draws_rejected_facts_apart_and_hops_widen(store) -> None:
    fig = show(store, "Person:madame", include="all", hops=2)  # a merged-away id resolves to its entity
    by_status = {e.status: e for e in fig.edges}
    assert set(by_status) == {"chosen", "rejected", "accepted"}
    assert by_status["rejected"].colour == STATUS_COLOURS["rejected"]
    assert by_status["rejected"].caption == "bornIn ✗ rejected"
    assert {n.name for n in fig.nodes.values()} == {"Marie Curie", "Warsaw", "Paris", "Poland"}
    assert len(show(store, "Marie Curie", include="all", hops=1).nodes) == 3  # Poland is two hops away
    capped = show(store, "Marie Curie", include="all", hops=2, max_nodes=2)
    assert len(capped.nodes) <= 2 and capped.notes


def test_query_figure_keeps_returned_facts_of_the_view(store) -> None:
    fig = show(store, "MATCH (p:Person)-[r:BORN_IN]->(c) RETURN p, r, c")
    assert [e.predicate for e in fig.edges] == ["bornIn"] and len(fig.nodes) == 2
    assert "not in the 'accepted' view" in fig.notes[0]  # the rejected Paris fact
    fig_all = show(store, "MATCH (p:Person)-[r:BORN_IN]->(c) RETURN p, r, c", include="all")
    assert len(fig_all.edges) == 2 and not fig_all.notes
    # Entities only (ids, parameterised): the view's facts among them are drawn.
    ids = show(store, "MATCH (e:Entity) WHERE e.name IN $names RETURN e.id AS id", {"names": ["Warsaw", "Poland"]})
    assert [(e.predicate, ids.nodes[e.target].name) for e in ids.edges] == [("locatedIn", "Poland")]


def test_answer_figure_highlights_cited_paths(store) -> None:
    from kgkit.reason.ask import ask_store

    result = ask_store(store, "Where was Marie Curie born?")
    assert result.answer.top == "Warsaw"
    fig = show(store, result)
    assert [e for e in fig.edges if e.highlight][0].colour == HIGHLIGHT
    assert {n.name for n in fig.nodes.values() if n.highlight} == {"Marie Curie", "Warsaw"}


def test_errors_name_the_fix(store) -> None:
    with pytest.raises(EntityNotFoundError, match="close names: 'Marie Curie'"):
        show(store, "Marie Kurie")
    with pytest.raises(ConfigError, match="params are for a Cypher query"):
        show(store, "Marie Curie", {"x": 1}, kind="entity")
    with pytest.raises(ConfigError, match="cannot show a int"):
        show(store, 42)
    with pytest.raises(ConfigError, match="unknown kind"):
        show(store, "Marie Curie", kind="graph")
    with pytest.raises(KgkitError, match="max_nodes"):
        show(store, "Marie Curie", max_nodes=0)
    assert looks_like_cypher("  optional match (n) return n") and not looks_like_cypher("Matchbox Twenty")


def test_missing_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "neo4j_viz", None)  # as if not installed
    with pytest.raises(DependencyMissingError, match=r"pip install 'kgkit\[viz\]'"):
        GraphFigure(title="x").to_html()


def test_saved_page_is_standalone_and_escapes_text(store, tmp_path: Path) -> None:
    fig = show(store, "Marie Curie")
    fig.edges[0].evidence[0] = type(fig.edges[0].evidence[0])("doc", 0, 9, "</script><b>x</b>")
    page = fig.save_html(tmp_path / "v.html").read_text(encoding="utf-8")
    assert "</script><b>" not in page  # data travels as escaped JSON
    import json
    import re

    data = json.loads(re.search(r'<script type="application/json" id="neo4j-viz-data">(.*?)</script>', page, re.S)[1])
    (rel,) = data["relationships"]  # what the details panel shows for the edge
    assert rel["properties"]["evidence 1"].startswith("“</script><b>x</b>” — doc [0:9]")
    assert rel["properties"]["fusion status"] == "chosen" and rel["width"] == pytest.approx(5.75)
    assert "src=\"http" not in page and "href=\"http" not in page  # no script or stylesheet from the network
    html = fig._repr_html_()
    assert html.count("<iframe") == 1 and "srcdoc=" in html


def test_cli_show_writes_html(tmp_path: Path, sample_workdir: Path) -> None:
    from typer.testing import CliRunner

    from kgkit.cli.main import app

    out = tmp_path / "curie.html"
    res = CliRunner().invoke(app, ["show", "Marie Curie", "--hops", "2", "--html", str(out),
                                   "--workdir", str(sample_workdir)])
    assert res.exit_code == 0, res.output
    assert "Marie Curie (2 hops)" in res.output and out.stat().st_size > 100_000
    res = CliRunner().invoke(app, ["show", "Where was Marie Curie born?", "-q", "--html", str(out),
                                   "--workdir", str(sample_workdir)])
    assert res.exit_code == 0 and "ask: Where was Marie Curie born?" in res.output
    res = CliRunner().invoke(app, ["show", "Nobody Atall", "--html", str(out), "--workdir", str(sample_workdir)])
    assert res.exit_code == 1 and "no entity named 'Nobody Atall'" in res.output
