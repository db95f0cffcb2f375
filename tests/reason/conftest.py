from __future__ import annotations

from pathlib import Path

import pytest

from kgkit.reason.graph import GraphIndex, load_kb

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def movies() -> GraphIndex:
    return load_kb(DATA / "kb.txt")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
