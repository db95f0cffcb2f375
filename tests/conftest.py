"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"
# Tiny excerpts of every benchmark format, laid out like the datasets folder (see its README.md).
FIXTURE_DATA = REPO / "tests" / "fixtures" / "datasets"


def real_data_root() -> Path | None:
    """The benchmark datasets folder ($KGKIT_DATA, else ../shared/datasets) when it exists."""
    from kgkit.datasets import data_root

    root = data_root()
    return root if root.is_dir() else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``data`` read the real benchmark files: run them when the folder exists (CI), else skip."""
    if real_data_root() is not None:
        return
    from kgkit.datasets import data_root

    skip = pytest.mark.skip(reason=f"needs the benchmark datasets: set KGKIT_DATA to their folder "
                                   f"(nothing at {data_root()})")
    for item in items:
        if "data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """The real datasets folder (only for tests marked ``data``, which are skipped without it)."""
    root = real_data_root()
    assert root is not None, "mark the test with @pytest.mark.data"
    return root


@pytest.fixture(scope="session")
def fixture_data() -> Path:
    """The committed tiny excerpts, laid out like the datasets folder."""
    return FIXTURE_DATA


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def spacy_extractor():
    """One loaded spaCy pipeline for the whole session (loading costs ~1.5 s)."""
    from kgkit.extract.spacy_extractor import SpacyExtractor

    x = SpacyExtractor()
    x.warm_up()
    return x


class CountingExtractor:
    """Wraps an extractor and counts the chunks it is asked to extract."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.version = inner.version
        self.chunks_seen = 0

    def warm_up(self) -> None:
        self.inner.warm_up()

    def extract(self, chunks: Sequence):
        self.chunks_seen += len(chunks)
        return self.inner.extract(chunks)


@pytest.fixture
def counting_extractor(spacy_extractor) -> CountingExtractor:
    return CountingExtractor(spacy_extractor)


@pytest.fixture
def falkor_store(tmp_path: Path) -> Iterator:
    from kgkit.store.embedded import FalkorDBStore

    store = FalkorDBStore(data_dir=tmp_path / "falkordb")
    store.open()
    try:
        yield store
    finally:
        store.close()
