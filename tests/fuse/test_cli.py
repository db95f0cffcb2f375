"""The fusion CLI end to end on an embedded store: fuse, conflicts, runs, undo."""

from __future__ import annotations

from typer.testing import CliRunner

from fuse_helpers import graph_state, triple

P, PL = "Person", "Place"


def text(res) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(res.output.split())


def test_cli_fuse_conflicts_undo(tmp_path):
    from kgkit.cli.main import app
    from kgkit.store.embedded import FalkorDBStore

    data_dir = tmp_path / "falkordb"
    with FalkorDBStore(data_dir=data_dir) as s:
        s.write_triples([
            triple(("Marie Curie", P), "bornIn", ("Warsaw", PL), "a.md"),
            triple(("M. Curie", P), "bornIn", ("Warsaw", PL), "b.md"),
            triple(("Albert Einstein", P), "bornIn", ("Ulm", PL), "a.md"),
            triple(("Albert Einstein", P), "bornIn", ("Munich", PL), "b.md"),
        ])
        before = graph_state(s)
    runner = CliRunner()
    wd = ["--workdir", str(tmp_path)]
    res = runner.invoke(app, ["fuse", "--no-embeddings", *wd])
    assert res.exit_code == 0, res.output
    assert "1 cluster(s) merged" in text(res) and "1 conflict(s)" in text(res)
    res = runner.invoke(app, ["fuse", "conflicts", *wd])
    assert res.exit_code == 0 and "Albert Einstein" in text(res) and "Munich" in text(res)
    res = runner.invoke(app, ["fuse", "runs", *wd])
    assert res.exit_code == 0 and "fr-" in text(res)
    res = runner.invoke(app, ["fuse", "undo", *wd])
    assert res.exit_code == 0 and "undone" in text(res)
    res = runner.invoke(app, ["fuse", "undo", *wd])
    assert res.exit_code == 1 and "no fusion run to undo" in text(res)
    res = runner.invoke(app, ["fuse", "--policy", "oracle", *wd])
    assert res.exit_code == 1 and "unknown conflict policy" in text(res)
    with FalkorDBStore(data_dir=data_dir) as s:
        assert graph_state(s) == before


def test_cli_candidates_accept_reject(tmp_path):
    import json

    from kgkit.cli.main import app
    from kgkit.store.embedded import FalkorDBStore

    ORG = "Organization"
    with FalkorDBStore(data_dir=tmp_path / "falkordb") as s:
        s.write_triples([
            triple(("Ada Lovelace", P), "worksFor", ("IBM", ORG), "a.md"),
            triple(("Alan Turing", P), "worksFor", ("International Business Machines", ORG), "b.md"),
            triple(("Grace Hopper", P), "worksFor", ("UN", ORG), "a.md"),
            triple(("Alan Turing", P), "worksFor", ("United Nations", ORG), "b.md"),
        ])
    runner = CliRunner()
    wd = ["--workdir", str(tmp_path)]
    res = runner.invoke(app, ["fuse", "--no-embeddings", *wd])
    assert res.exit_code == 0 and "0 cluster(s) merged" in text(res) and "2 pair(s) left for review" in text(res)
    res = runner.invoke(app, ["fuse", "candidates", "--json", *wd])
    assert res.exit_code == 0, res.output
    cands = {frozenset((c["a_name"], c["b_name"])): c["id"] for c in json.loads(res.output)}
    ibm, un = cands[frozenset(("IBM", "International Business Machines"))], cands[frozenset(("UN", "United Nations"))]
    res = runner.invoke(app, ["fuse", "accept", ibm, *wd])
    assert res.exit_code == 0 and "merged" in text(res), res.output
    res = runner.invoke(app, ["fuse", "reject", un, *wd])
    assert res.exit_code == 0 and "stay apart" in text(res)
    res = runner.invoke(app, ["fuse", "candidates", *wd])
    assert res.exit_code == 0 and "no open merge candidates" in text(res)
    res = runner.invoke(app, ["fuse", "accept", "k-no-such", *wd])
    assert res.exit_code == 1 and "kgkit fuse candidates" in text(res)
    with FalkorDBStore(data_dir=tmp_path / "falkordb") as s:
        names = {e.name for e in s.iter_entities()}
    assert "IBM" not in names and {"International Business Machines", "UN", "United Nations"} <= names
