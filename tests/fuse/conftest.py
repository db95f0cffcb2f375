"""Hand-built graphs for fusion tests, written straight into an embedded FalkorDB store."""

from __future__ import annotations

from typing import Iterator

import pytest

from kgkit.ontology import load_ontology


@pytest.fixture(scope="session")
def ontology():
    return load_ontology()


@pytest.fixture()
def store(tmp_path) -> Iterator:
    from kgkit.store.embedded import FalkorDBStore

    with FalkorDBStore(data_dir=tmp_path / "db") as s:
        yield s
