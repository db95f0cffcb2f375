"""Writes survive a server restart mid-run: managed transactions are retried by the driver (what a
cluster's leader change looks like to a client), and idempotent MERGEs write nothing twice.

Uses a throw-away server on ``KGKIT_TEST_NEO4J_RESTART_PORT`` (7727) in a temporary folder.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from kgkit.store.neo4j_bulk import LocalNeo4j
from kgkit.store.testing import make_triple

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.neo4j
@pytest.mark.slow
def test_writes_are_retried_across_a_server_restart(tmp_path: Path) -> None:
    from kgkit.store.neo4j import Neo4jStore

    server = LocalNeo4j(REPO / "scripts" / "neo4j", int(os.environ.get("KGKIT_TEST_NEO4J_RESTART_PORT", "7727")),
                        tmp_path / "neo4j", REPO / ".neo4j" / "lib")
    server.start()
    batches = [[make_triple(f"P{b}-{i}", "bornIn", f"City{i % 50}", doc=f"doc{b}") for i in range(200)]
               for b in range(30)]
    restarted: list[float] = []
    try:
        with Neo4jStore(server.uri, batch_size=100, max_transaction_retry_time=240.0) as store:
            def restart_mid_run() -> None:
                time.sleep(1.0)
                server.stop()
                server.start()
                restarted.append(time.monotonic())

            t = threading.Thread(target=restart_mid_run)
            t.start()
            written_during_restart = 0
            for batch in batches:
                store.write_triples(batch)
                if not restarted:
                    written_during_restart += 1
            t.join()
            st = store.stats()
    finally:
        server.stop()
    assert restarted, "the server was not restarted"
    # The server went down 1 s into the first batch and came back before the last batch was written.
    assert written_during_restart < len(batches), "the restart did not happen while batches were being written"
    assert st.facts == st.evidence == 30 * 200, "every batch written once: nothing lost, nothing doubled"
    assert st.entities == 30 * 200 + 50
