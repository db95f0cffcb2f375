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
