"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"


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
