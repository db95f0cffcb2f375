"""Extraction on Ray: same facts as a local ingest, and a worker killed mid-run costs nothing.

One local Ray session (2 CPUs) serves the whole module: starting Ray costs a few seconds.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Sequence

import pytest
import ray

from kgkit.errors import ConfigError, ExtractionError
from kgkit.extract.spacy_extractor import SpacyExtractor
from kgkit.ingest.executors import ExecutorSpec, RayExtractor, parse_executor
from kgkit.ingest.ledger import Ledger
from kgkit.ontology import load_ontology
from kgkit.pipeline import ingest_folder
from kgkit.store.embedded import FalkorDBStore


class SlowSpacyExtractor(SpacyExtractor):
    """spaCy that takes at least 40 ms a chunk, so a worker can be killed while it works."""

    def extract(self, chunks: Sequence):
        time.sleep(0.04 * len(chunks))
        return super().extract(chunks)


class PoisonedSpacyExtractor(SpacyExtractor):
    """spaCy that raises for any chunk containing POISON: a per-document failure."""

    def extract(self, chunks: Sequence):
        if any("POISON" in c.text for c in chunks):
            raise ExtractionError("poisoned chunk")
        return super().extract(chunks)


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # Workers cannot import this test module by name: send its classes by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        yield
    finally:
        ray.shutdown()


def _snapshot(store: FalkorDBStore) -> tuple[set, set, tuple]:
    facts = {(f.id, f.subject_id, f.predicate, f.object_id) for f in store.iter_facts()}
    evidence = {(e.id, e.target, e.document_id, e.start, e.end) for e in store.get_evidence()}
    s = store.stats()
    return facts, evidence, (s.documents, s.entities, s.facts, s.evidence)


def _ingest_into(tmp: Path, name: str, folder: Path, extractor, **kw):
    store = FalkorDBStore(data_dir=tmp / name)
    store.open()
    ledger = Ledger(tmp / f"{name}.sqlite")
    try:
        report = ingest_folder(folder, store=store, extractor=extractor, ontology=load_ontology(), ledger=ledger, **kw)
        return report, _snapshot(store), ledger.entries(report.root)
    finally:
        ledger.close()
        store.close()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, sample_dir: Path):
    """The reference: a local ingest of the sample (spaCy, no fusion)."""
    return _ingest_into(tmp_path_factory.mktemp("local"), "local", sample_dir, SpacyExtractor())


def test_ray_ingest_equals_local_ingest_fact_for_fact(ray_session, local_run, tmp_path: Path, sample_dir: Path) -> None:
    local_report, local_graph, local_entries = local_run
    report, graph, entries = _ingest_into(tmp_path, "ray", sample_dir, SpacyExtractor(),
                                          executor={"name": "ray", "workers": 2, "chunks_per_task": 4})
    assert local_report.triples > 50 and local_report.failed == 0
    assert (report.processed, report.triples, report.mentions, report.failed) == \
        (local_report.processed, local_report.triples, local_report.mentions, 0)
    assert graph[2] == local_graph[2]  # documents, entities, facts, evidence
    assert graph[0] == local_graph[0], "the same facts, with the same ids"
    assert graph[1] == local_graph[1], "the same evidence, span for span"
    # The ledger does not depend on where extraction ran: a later local run finds nothing to do.
    assert {k: (e.status, e.extractor_key, e.n_facts) for k, e in entries.items()} == \
        {k: (e.status, e.extractor_key, e.n_facts) for k, e in local_entries.items()}


def test_worker_killed_mid_run_is_replaced_and_nothing_is_written_twice(
        ray_session, local_run, tmp_path: Path, sample_dir: Path) -> None:
    _, local_graph, _ = local_run
    remote = RayExtractor(SlowSpacyExtractor(), ExecutorSpec(name="ray", workers=2, chunks_per_task=8))
    remote.warm_up()
    killed: list[str] = []

    def kill_one_worker_mid_run() -> None:
        deadline = time.monotonic() + 60
        while remote._next_actor < 4 and time.monotonic() < deadline:  # a few tasks are on their way
            time.sleep(0.01)
        time.sleep(0.1)
        victim = remote.actors[0]
        ray.kill(victim, no_restart=True)
        killed.append(str(victim))

    killer = threading.Thread(target=kill_one_worker_mid_run)
    killer.start()
    try:
        report, graph, entries = _ingest_into(tmp_path, "killed", sample_dir, remote)
    finally:
        killer.join()
        remote.close()
    assert killed, "the worker was not killed: the test proved nothing"
    assert remote.restarts >= 1 and remote.resent >= 1, "the killed worker's task was not sent again"
    assert report.failed == 0 and report.failed_chunks == 0
    assert graph == local_graph, "same facts and evidence as the local run: nothing lost, nothing doubled"
    assert all(e.status == "done" for e in entries.values())


def test_a_failing_document_fails_alone_as_in_a_local_run(ray_session, tmp_path: Path) -> None:
    """An extractor error inside a worker reaches the driver as the same error type, so the batch is
    redone one document at a time and only the culprit is marked failed."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Marie Curie was born in Warsaw.", encoding="utf-8")
    (docs / "b.txt").write_text("POISON. Alan Turing was born in London.", encoding="utf-8")
    (docs / "c.txt").write_text("Apple is headquartered in Cupertino.", encoding="utf-8")
    report, graph, entries = _ingest_into(tmp_path, "poison", docs, PoisonedSpacyExtractor(),
                                          executor={"name": "ray", "workers": 2})
    assert (report.processed, report.failed) == (2, 1)
    assert len(report.failed_documents) == 1 and report.failed_documents[0][0].endswith("b.txt")
    assert "poisoned chunk" in report.failed_documents[0][1]
    assert sorted(e.status for e in entries.values()) == ["done", "done", "failed"]
    assert len(graph[0]) >= 2, "the facts of a.txt and c.txt are written"


def test_cli_ingest_with_ray_executor(ray_session, tmp_path: Path, sample_dir: Path) -> None:
    from typer.testing import CliRunner

    from kgkit.cli.main import app

    args = ["ingest", str(sample_dir / "people"), "--executor", "ray", "--workers", "2", "--no-fuse", "--json",
            "--workdir", str(tmp_path / "kg")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    import json

    out = json.loads(res.output.strip().splitlines()[-1])
    assert out["processed"] == 13 and out["triples"] > 50 and out["failed"] == 0
    again = CliRunner().invoke(app, [*args[:2], "--no-fuse", "--json", "--workdir", str(tmp_path / "kg")])
    assert json.loads(again.output.strip().splitlines()[-1])["processed"] == 0, "a local rerun finds nothing to do"


def test_executor_options_are_checked() -> None:
    assert parse_executor(None).name == "local"
    assert parse_executor({"name": "ray", "address": "auto"}).address == "auto"
    with pytest.raises(ConfigError, match="unknown executor 'spark'"):
        parse_executor("spark")
    with pytest.raises(ConfigError, match="unknown option"):
        parse_executor({"name": "ray", "nodes": 3})
    with pytest.raises(ConfigError, match="workers"):
        parse_executor({"name": "ray", "workers": 0})


class _RecordingRemote:
    """A stand-in for a remote executor: records which batches were handed out before each wait."""

    name, version = "recording", "1"

    def __init__(self, depth: int) -> None:
        self.prefetch_depth = depth
        self.sent: list[str] = []  # document ids, in the order their batches were prefetched
        self.seen_at_extract: list[tuple[str, list[str]]] = []

    def warm_up(self) -> None:
        pass

    def prefetch(self, chunks: Sequence) -> None:
        doc = chunks[0].document_id if chunks else ""
        if doc and doc not in self.sent:
            self.sent.append(doc)

    def extract(self, chunks: Sequence):
        from kgkit.extract.base import ChunkExtraction

        self.seen_at_extract.append((chunks[0].document_id, list(self.sent)))
        return [ChunkExtraction(chunk=c) for c in chunks]


@pytest.mark.parametrize("depth", [1, 3])
def test_the_driver_keeps_prefetch_depth_batches_ahead_of_the_one_it_writes(tmp_path: Path, depth: int) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(6):
        (docs / f"d{i}.txt").write_text(f"Document number {i} talks about Paris.", encoding="utf-8")
    remote = _RecordingRemote(depth)
    report, _, _ = _ingest_into(tmp_path, "look", docs, remote, batch_documents=1)
    assert report.processed == 6
    order = [doc for doc, _ in remote.seen_at_extract]
    assert remote.sent == order, "batches are handed out in the order they are written"
    for i, (_, sent) in enumerate(remote.seen_at_extract):
        assert len(sent) == min(6, i + 1 + depth), f"batch {i}: {depth} batch(es) ahead were already sent"


def test_ray_figures_tell_start_up_waits_and_worker_time(ray_session, local_run, tmp_path: Path, sample_dir: Path) -> None:
    _, local_graph, _ = local_run
    remote = RayExtractor(SpacyExtractor(), ExecutorSpec(name="ray", workers=2, chunks_per_task=4, batches_ahead=3))
    try:
        _, graph, _ = _ingest_into(tmp_path, "deep", sample_dir, remote)
        fig = remote.figures()
        unfinished = sorted(remote._unfinished.values())
    finally:
        remote.close()
    assert graph == local_graph, "three batches ahead: still the same facts and evidence"
    assert fig["startup_s"] > 0 and fig["worker_s"] > 0 and fig["tasks"] >= 2 and fig["resent"] == 0
    assert unfinished == [0, 0], "every task sent was collected"
