"""Fixtures of the view tests: one sample graph built once, the notebooks, headless Chromium.

Executed notebooks (HTML) and screenshots go to ``screenshots/`` at the repository root (ignored by
git) for people to look at.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "screenshots"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``screenshots/`` (ignored): executed notebooks as HTML, saved views and their screenshots."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def sample_workdir(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    """A workdir holding the sample corpus ingested and fused into the embedded store (built once)."""
    from kgkit import KnowledgeGraph

    workdir = tmp_path_factory.mktemp("viz-sample")
    with KnowledgeGraph(workdir=workdir) as kg:
        report = kg.ingest(sample_dir)
    assert report.processed > 30 and report.fusion, report
    return workdir


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium through playwright; fails (never skips) naming `make chromium`."""
    from kgkit.viz.browser import headless_chromium

    with headless_chromium() as b:
        yield b


def kernel_env(**extra: str) -> dict[str, str]:
    """The environment a notebook's kernel runs in: this checkout's kgkit first on the path."""
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return env


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _store_helpers():
    """tests/store/conftest.py's server helpers (loaded by path: the test folders are not packages)."""
    spec = importlib.util.spec_from_file_location("_kgkit_store_conftest_viz", REPO / "tests" / "store" / "conftest.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def neo4j_test_store() -> Iterator[tuple[str, object]]:
    """(uri, store) of the project's test Neo4j, emptied; started like tests/store does, never skipped."""
    with _store_helpers().project_neo4j_store() as (uri, store):
        store.clear()  # type: ignore[attr-defined]
        yield uri, store
