"""The conformance suite (kgkit.store.testing) against both stores."""

from __future__ import annotations

import pytest

from kgkit.store.testing import CHECKS, GraphStoreConformance, run_conformance


class TestFalkorDBConformance(GraphStoreConformance):
    @pytest.fixture
    def store(self, falkordb_store):
        return falkordb_store


@pytest.mark.neo4j
class TestNeo4jConformance(GraphStoreConformance):
    @pytest.fixture
    def store(self, neo4j_store):
        return neo4j_store


def test_suite_has_every_check():
    names = {n for n in dir(GraphStoreConformance) if n.startswith("test_")}
    assert names == {f"test_{c}" for c in CHECKS} and len(names) >= 14


def test_run_conformance_reports_a_broken_store(tmp_path):
    """The suite must be able to fail: a store that drops evidence is caught."""
    from kgkit.store.embedded import FalkorDBStore

    class LossyStore(FalkorDBStore):
        def get_evidence(self, *, target=None, document_id=None):
            return super().get_evidence(target=target, document_id=document_id)[:0]

    failures = run_conformance(lambda: LossyStore(data_dir=tmp_path / "lossy"), only=["evidence_round_trip", "documents"])
    assert set(failures) == {"evidence_round_trip"}
