"""End-to-end ingest of the sample corpus into Neo4j: same counts as the embedded store, and a
Neo4j server killed (SIGKILL) in the middle of an ingest loses and duplicates nothing once the
ingest is rerun."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from kgkit.errors import StoreError
from kgkit.ingest.ledger import Ledger
from kgkit.ontology import load_ontology
from kgkit.pipeline import ingest_folder
from kgkit.store.neo4j import Neo4jStore

from .conftest import START_SCRIPT, STOP_SCRIPT, neo4j_reachable, run_script

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]


class MemoExtractor:
    """The session's spaCy extractor, remembering each chunk's result: every run extracts the same."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.version = inner, inner.name, inner.version
        self.cache: dict[tuple[str, str], Any] = {}

    def warm_up(self) -> None:
        self.inner.warm_up()

    def extract(self, chunks: Sequence[Any]) -> list[Any]:
        todo = [c for c in chunks if (c.id, c.content_hash) not in self.cache]
        for c, r in zip(todo, self.inner.extract(todo)):
            self.cache[(c.id, c.content_hash)] = r
        return [self.cache[(c.id, c.content_hash)] for c in chunks]


@pytest.fixture(scope="module")
def extractor(spacy_extractor) -> MemoExtractor:
    return MemoExtractor(spacy_extractor)


@pytest.fixture(scope="module")
def corpus(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A frozen copy of data/sample, so every ingest in this module reads exactly the same files."""
    dest = tmp_path_factory.mktemp("corpus") / "sample"
    shutil.copytree(sample_dir, dest)
    return dest


def _ingest(store: Any, extractor: MemoExtractor, sample_dir: Path, ledger_path: Path, **kwargs: Any):
    with Ledger(ledger_path) as ledger:
        return ingest_folder(sample_dir, store=store, extractor=extractor, ontology=load_ontology(), ledger=ledger,
                             **kwargs)


def _graph(store: Any) -> tuple[Any, set[str], set[str], int]:
    return store.stats(), {e.id for e in store.iter_entities()}, {f.id for f in store.iter_facts()}, len(store.get_evidence())


@pytest.fixture(scope="module")
def neo4j_reference(_neo4j_session_store, extractor, corpus, tmp_path_factory):
    """The sample corpus ingested once into Neo4j without interruption."""
    store = _neo4j_session_store
    store.clear()
    report = _ingest(store, extractor, corpus, tmp_path_factory.mktemp("ref") / "ledger.sqlite")
    assert report.processed >= 30 and report.triples > 50, report
    return _graph(store)


def test_sample_corpus_same_counts_in_embedded_and_neo4j(neo4j_reference, extractor, corpus, tmp_path):
    from kgkit.store.embedded import FalkorDBStore

    with FalkorDBStore(data_dir=tmp_path / "falkordb") as falkor:
        _ingest(falkor, extractor, corpus, tmp_path / "ledger.sqlite")
        embedded = _graph(falkor)
    neo_stats, falk_stats = neo4j_reference[0], embedded[0]
    assert (neo_stats.documents, neo_stats.entities, neo_stats.facts, neo_stats.evidence) == \
        (falk_stats.documents, falk_stats.entities, falk_stats.facts, falk_stats.evidence)
    assert neo_stats.entity_types == falk_stats.entity_types and neo_stats.relation_types == falk_stats.relation_types
    assert neo4j_reference[1:] == embedded[1:], "the same entity and fact ids in both stores"


class KillingNeo4jStore(Neo4jStore):
    """Kills the server (SIGKILL) in the middle of the second ``write_triples`` call: after its
    entity batches were committed, just before its first relationship batch is sent."""

    def __init__(self, *args: Any, pid: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pid, self.write_calls, self.killed = pid, 0, False

    def write_triples(self, *args: Any, **kwargs: Any) -> Any:
        self.write_calls += 1
        return super().write_triples(*args, **kwargs)

    def _run(self, cypher: str, params: Any = None, *, write: bool = True) -> list[dict[str, Any]]:
        if write and "MERGE (s)-[r:" in cypher and self.write_calls == 2 and not self.killed:
            os.kill(self.pid, signal.SIGKILL)
            _wait_dead(self.pid)
            self.killed = True
        return super()._run(cypher, params, write=write)


def _wait_dead(pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.05)
    raise AssertionError(f"Neo4j pid {pid} did not die")


def test_kill_neo4j_mid_ingest_then_rerun_gives_identical_graph(neo4j_reference, extractor, corpus, tmp_path):
    port = os.environ.get("KGKIT_TEST_NEO4J_KILL_PORT", "7697")
    server_dir = tmp_path / "neo4j"
    uri = f"bolt://127.0.0.1:{port}"
    ledger_path = tmp_path / "ledger.sqlite"
    try:
        proc = run_script(START_SCRIPT, port=port, neo4j_dir=server_dir)
        assert proc.returncode == 0, f"scripts/neo4j/start.sh failed:\n{proc.stdout}\n{proc.stderr}"
        pid = int((server_dir / "run" / "neo4j.pid").read_text())
        store = KillingNeo4jStore(uri, pid=pid, batch_size=50, max_transaction_retry_time=2)
        store.open()
        with pytest.raises(StoreError):
            _ingest(store, extractor, corpus, ledger_path, batch_documents=8)  # several writes, kill in the 2nd
        store.close()
        assert store.killed and not neo4j_reachable(uri), "the server must be down after SIGKILL"

        proc = run_script(START_SCRIPT, port=port, neo4j_dir=server_dir)
        assert proc.returncode == 0, f"restart failed:\n{proc.stdout}\n{proc.stderr}"
        with Neo4jStore(uri) as restarted:
            partial = restarted.stats()
            assert 0 < partial.facts < neo4j_reference[0].facts, "the kill must land in the middle of the ingest"
            report = _ingest(restarted, extractor, corpus, ledger_path, batch_documents=8)
            assert report.unchanged > 0 and report.processed > 0, "the rerun resumes: done documents are skipped"
            after = _graph(restarted)
    finally:
        # The data is throw-away: SIGKILL instead of a clean stop saves ~10 s.
        pid_file = server_dir / "run" / "neo4j.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            run_script(STOP_SCRIPT, port=port, neo4j_dir=server_dir)
    ref_stats = neo4j_reference[0]
    assert (after[0].documents, after[0].entities, after[0].facts, after[0].evidence) == \
        (ref_stats.documents, ref_stats.entities, ref_stats.facts, ref_stats.evidence)
    assert after[0].relation_types == ref_stats.relation_types
    assert after[1:] == neo4j_reference[1:], "no lost and no duplicated entities, facts or evidence"
