"""Fixtures of the store tests: a FalkorDB store and the project's Neo4j server.

Neo4j tests never skip. They use ``KGKIT_TEST_NEO4J_URI`` (whose database they WIPE) or else the
project-local server on ``127.0.0.1:${KGKIT_TEST_NEO4J_PORT:-7687}``, which the session starts with
``scripts/neo4j/start.sh`` if it is not running (and stops again at the end).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
START_SCRIPT = REPO / "scripts" / "neo4j" / "start.sh"
STOP_SCRIPT = REPO / "scripts" / "neo4j" / "stop.sh"


def neo4j_test_port() -> str:
    return os.environ.get("KGKIT_TEST_NEO4J_PORT", "7687")


def neo4j_reachable(uri: str, auth: tuple[str, str] | None = None) -> bool:
    import neo4j

    try:
        with neo4j.GraphDatabase.driver(uri, auth=auth, connection_timeout=3) as drv:
            drv.verify_connectivity()
        return True
    except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired, OSError):
        return False


def run_script(script: Path, *, port: str, neo4j_dir: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEO4J_PORT": port}
    if neo4j_dir is not None:
        env["NEO4J_DIR"] = str(neo4j_dir)
    return subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def neo4j_uri() -> Iterator[str]:
    """A reachable Neo4j; fails (never skips) naming scripts/neo4j/start.sh when there is none."""
    explicit = os.environ.get("KGKIT_TEST_NEO4J_URI")
    uri = explicit or f"bolt://127.0.0.1:{neo4j_test_port()}"
    auth = _test_auth()
    started = False
    if not neo4j_reachable(uri, auth):
        if explicit:
            pytest.fail(f"Neo4j is not reachable at KGKIT_TEST_NEO4J_URI={uri}; start it, or unset it to use scripts/neo4j/start.sh")
        proc = run_script(START_SCRIPT, port=neo4j_test_port())
        if proc.returncode != 0 or not neo4j_reachable(uri, auth):
            pytest.fail(
                f"Neo4j is not reachable at {uri} and scripts/neo4j/start.sh failed (exit {proc.returncode}); "
                f"run scripts/neo4j/start.sh yourself and read its log.\n{proc.stdout}\n{proc.stderr}"
            )
        started = True
    yield uri
    if started and not os.environ.get("KGKIT_KEEP_NEO4J"):
        run_script(STOP_SCRIPT, port=neo4j_test_port())


@contextmanager
def project_neo4j_store() -> Iterator[tuple[str, object]]:
    """``(uri, store)`` of the test Neo4j for test folders outside tests/store (which load this file
    by path): started if needed, stopped afterwards unless ``KGKIT_KEEP_NEO4J``; fails, never skips."""
    from kgkit.store.neo4j import Neo4jStore

    uri = os.environ.get("KGKIT_TEST_NEO4J_URI") or f"bolt://127.0.0.1:{neo4j_test_port()}"
    auth = _test_auth()
    started = False
    if not neo4j_reachable(uri, auth):
        proc = run_script(START_SCRIPT, port=neo4j_test_port())
        if proc.returncode != 0 or not neo4j_reachable(uri, auth):
            pytest.fail(f"Neo4j is not reachable at {uri}; run scripts/neo4j/start.sh and read its log")
        started = True
    store = Neo4jStore(uri, user=auth[0] if auth else None, password=auth[1] if auth else "",
                       database=os.environ.get("KGKIT_TEST_NEO4J_DATABASE"))
    store.open()
    try:
        yield uri, store
    finally:
        store.close()
        if started and not os.environ.get("KGKIT_KEEP_NEO4J"):
            run_script(STOP_SCRIPT, port=neo4j_test_port())


def _test_auth() -> tuple[str, str] | None:
    pw = os.environ.get("KGKIT_TEST_NEO4J_PASSWORD")
    return (os.environ.get("KGKIT_TEST_NEO4J_USER", "neo4j"), pw) if pw else None


@pytest.fixture(scope="session")
def _neo4j_session_store(neo4j_uri: str) -> Iterator:
    from kgkit.store.neo4j import Neo4jStore

    auth = _test_auth()
    store = Neo4jStore(neo4j_uri, user=auth[0] if auth else None, password=auth[1] if auth else "",
                       database=os.environ.get("KGKIT_TEST_NEO4J_DATABASE"))
    store.open()
    yield store
    store.close()


@pytest.fixture
def neo4j_store(_neo4j_session_store) -> Iterator:
    """The Neo4j store, emptied before the test."""
    _neo4j_session_store.clear()
    yield _neo4j_session_store


@pytest.fixture(scope="session")
def _falkor_session_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from kgkit.store.embedded import FalkorDBStore

    store = FalkorDBStore(data_dir=tmp_path_factory.mktemp("falkordb"))
    store.open()
    yield store
    store.close()


@pytest.fixture
def falkordb_store(_falkor_session_store) -> Iterator:
    """The embedded FalkorDB store, emptied before the test."""
    _falkor_session_store.clear()
    yield _falkor_session_store
