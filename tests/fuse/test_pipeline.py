"""Fusion as the pipeline's last stage: ingest -> fuse, then more documents -> fuse again."""

from __future__ import annotations


def test_ingest_then_fuse_across_runs(tmp_path):
    from kgkit.api import KnowledgeGraph
    from kgkit.fuse import list_runs

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "curie.txt").write_text(
        "Marie Curie was born in Warsaw. Marie Curie worked for the University of Paris.\n", encoding="utf-8")
    (docs / "einstein.txt").write_text("Albert Einstein was born in Ulm.\n", encoding="utf-8")
    with KnowledgeGraph(None, workdir=tmp_path / "wd") as kg:
        kg.ingest(docs, fuse=True)
        runs = list_runs(kg.store)
        assert len(runs) == 1
        (docs / "more.txt").write_text("Einstein was born in Ulm. Einstein worked for the University of Bern.\n",
                                       encoding="utf-8")
        kg.ingest(docs, fuse=True)
        assert len(list_runs(kg.store)) == 2
        people = {e.name: e for e in kg.store.iter_entities() if e.type == "Person"}
        # The new document's "Einstein" resolved against the existing "Albert Einstein".
        assert "Albert Einstein" in people and "Einstein" not in people
        assert "Einstein" in people["Albert Einstein"].aliases
