"""Fusion is a resumable step: a run killed with SIGKILL halfway is rolled back by the next run.

Each test runs fusion in a child process that attaches to the test's embedded server, stops it in
the middle of the merges (after facts were re-keyed, before evidence and entities were updated),
kills it with ``kill -9``, and checks what the next run does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from fuse_helpers import graph_state, triple
from kgkit.fuse import fuse_graph, fusion_interrupted, list_runs, undo

P, PL, D = "Person", "Place", "Date"
REPO = Path(__file__).resolve().parents[2]

# Run by the child: block inside the merge, after the first writes, until killed.
_HANG = """
import sys, time
from pathlib import Path
from kgkit.store.base import CypherGraphStore
marker = Path(sys.argv[1])
def hang(self, rows):
    marker.write_text("in the middle of fusion")
    time.sleep(600)
CypherGraphStore.update_evidence = hang
"""


def _kill_mid_fusion(child_code: str, marker: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_HANG) + textwrap.dedent(child_code), str(marker)],
                            env=env, cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the child exited before reaching the merge: {proc.stdout.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the child never reached the merge")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


def _curie_graph(store) -> None:
    store.write_triples([
        triple(("Marie Curie", P), "bornIn", ("Warsaw", PL), "a.md"),
        triple(("Marie Curie", P), "birthDate", ("7 November 1867", D), "a.md"),
        triple(("Curie", P), "birthDate", ("1867", D), "b.md"),
        triple(("M. Curie", P), "bornIn", ("Warsaw", PL), "c.md"),
        triple(("Albert Einstein", P), "bornIn", ("Ulm", PL), "a.md"),
        triple(("Albert Einstein", P), "bornIn", ("Munich", PL), "b.md"),
    ])


def test_kill_9_mid_fusion_is_rolled_back_and_finished_by_the_next_fuse(tmp_path, ontology):
    from kgkit.store.embedded import FalkorDBStore

    data_dir = tmp_path / "db"
    with FalkorDBStore(data_dir=data_dir) as store:
        _curie_graph(store)
        before = graph_state(store)
        _kill_mid_fusion(f"""
            from kgkit.fuse import fuse_graph
            from kgkit.ontology import load_ontology
            from kgkit.store.embedded import FalkorDBStore
            with FalkorDBStore(data_dir={str(data_dir)!r}) as s:
                fuse_graph(s, load_ontology(), use_embeddings=False)
        """, tmp_path / "marker")
        assert graph_state(store) != before, "the child must have changed the graph before it died"
        (crashed,) = list_runs(store)
        assert crashed["status"] == "running" and fusion_interrupted(store)

        report = fuse_graph(store, ontology, use_embeddings=False)
        assert report.recovered == [crashed["id"]]
        assert [(r["id"], r["status"]) for r in list_runs(store)] == [(report.run_id, "done")]
        assert not fusion_interrupted(store)
        names = {e.name for e in store.iter_entities()}
        assert "Marie Curie" in names and "M. Curie" not in names and "Curie" not in names
        assert report.conflicts == 1
        undo(store)  # the rollback was exact: undoing the finishing run gives the original graph
        assert graph_state(store) == before


def test_kill_9_mid_fusion_then_ingest_of_an_unchanged_folder_fuses(tmp_path):
    from kgkit.api import KnowledgeGraph

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Albert Einstein was born in Ulm.\n", encoding="utf-8")
    (docs / "b.txt").write_text("Einstein was born in Ulm. Einstein worked for the University of Bern.\n", encoding="utf-8")
    wd = tmp_path / "wd"
    with KnowledgeGraph(None, workdir=wd) as kg:
        kg.ingest(docs, fuse=False)
        before = graph_state(kg.store)
        _kill_mid_fusion(f"""
            from kgkit.api import KnowledgeGraph
            with KnowledgeGraph(None, workdir={str(wd)!r}) as kg:
                kg.fuse(use_embeddings=False)
        """, tmp_path / "marker")
        assert graph_state(kg.store) != before and fusion_interrupted(kg.store)
        report = kg.ingest(docs, fuse=True)
        assert report.processed == 0, "the folder is unchanged"
        assert report.fusion is not None, "an interrupted fusion makes an unchanged ingest fuse again"
        runs = list_runs(kg.store)
        assert [r["status"] for r in runs] == ["done"] and runs[0]["id"] == report.fusion["run_id"]
        people = {e.name: e for e in kg.store.iter_entities() if e.type == "Person"}
        assert "Albert Einstein" in people and "Einstein" not in people
        again = kg.ingest(docs, fuse=True)
        assert again.fusion is None, "a finished fusion is not run again on an unchanged folder"


def test_kill_9_between_ingest_writes_and_fusion_start_fuses_next_run(tmp_path):
    """Killed after ingest's last write but before fusion began: no fusion run exists to roll back,
    the folder is unchanged, and still the next ingest fuses (the ledger's "fusion pending")."""
    from kgkit.api import KnowledgeGraph

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Albert Einstein was born in Ulm.\n", encoding="utf-8")
    (docs / "b.txt").write_text("Einstein was born in Ulm. Einstein worked for the University of Bern.\n", encoding="utf-8")
    wd = tmp_path / "wd"
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    child = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from kgkit.api import KnowledgeGraph
        def hang(self, **kw):
            Path({str(marker)!r}).write_text("ingest written, fusion not started")
            time.sleep(600)
        KnowledgeGraph.fuse = hang
        with KnowledgeGraph(None, workdir={str(wd)!r}) as kg:
            kg.ingest({str(docs)!r}, fuse=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], env=env, cwd=str(REPO), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while not marker.exists():
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.monotonic() < deadline, "the child never finished its ingest"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    with KnowledgeGraph(None, workdir=wd) as kg:
        assert list_runs(kg.store) == [] and not fusion_interrupted(kg.store), "fusion never started"
        report = kg.ingest(docs, fuse=True)
        assert report.processed == 0, "the folder is unchanged"
        assert report.fusion is not None, "the pending fusion runs"
        people = {e.name for e in kg.store.iter_entities() if e.type == "Person"}
        assert "Albert Einstein" in people and "Einstein" not in people
        assert kg.ingest(docs, fuse=True).fusion is None, "nothing pending any more"
