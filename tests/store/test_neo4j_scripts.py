"""scripts/neo4j/start.sh: idempotent, and refuses a port that another program holds."""

from __future__ import annotations

import socket

import pytest

from .conftest import START_SCRIPT, STOP_SCRIPT, neo4j_test_port, run_script


@pytest.mark.neo4j
def test_start_is_idempotent():
    first = run_script(START_SCRIPT, port=neo4j_test_port())
    assert first.returncode == 0, first.stderr
    try:
        again = run_script(START_SCRIPT, port=neo4j_test_port(), timeout=60)
        assert again.returncode == 0, again.stderr
        assert "already running" in again.stdout
    finally:
        if "already running" not in first.stdout:  # this test started it: stop it again
            run_script(STOP_SCRIPT, port=neo4j_test_port())


def test_start_refuses_a_port_held_by_another_program(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = str(sock.getsockname()[1])
        proc = run_script(START_SCRIPT, port=port, neo4j_dir=tmp_path / "n", timeout=60)
    assert proc.returncode == 1
    assert f"port {port} is taken" in proc.stderr
    assert not (tmp_path / "n" / "run" / "neo4j.pid").exists()
