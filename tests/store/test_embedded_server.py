"""The embedded FalkorDB server: bounded reopen (snapshot + AOF, waiting on LOADING) and no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kgkit.errors import StoreUnavailableError
from kgkit.store.embedded import EmbeddedFalkorServer, FalkorDBStore
from kgkit.types import Entity, Provenance, Span, Triple

REPO = Path(__file__).resolve().parents[2]


def triples(n: int) -> list[Triple]:
    ents = [Entity(f"Person {i}", "Person") for i in range(n)] + [Entity(f"Place {i}", "Place") for i in range(n)]
    return [Triple(ents[i], "bornIn", ents[n + (i * 7) % n], Provenance(f"d{i % 5}", f"d{i % 5}#0", Span(0, 9), "t", "1", 0.9), "born in")
            for i in range(n)]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rpartition(")")[2].split()[:1] == ["Z"])


def wait_until(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def write_uncompacted(data: Path, n: int) -> None:
    """A store whose whole graph sits in the AOF as commands (what kgkit left before compaction)."""
    store = FalkorDBStore(data_dir=data)
    store.open()
    store.server._client().config_set("auto-aof-rewrite-percentage", 0)
    store.write_triples(triples(n))
    store._db.connection.close()
    store._db = store._graph = None
    store.server.stop(compact=False)


def test_close_compacts_the_aof_so_the_next_open_loads_a_snapshot(tmp_path: Path) -> None:
    data = tmp_path / "db"
    write_uncompacted(data, 300)
    assert EmbeddedFalkorServer(data).incr_bytes() > EmbeddedFalkorServer(data).compact_min_bytes
    store = FalkorDBStore(data_dir=data)
    store.open()  # replays the commands once
    store.close()  # and compacts
    with FalkorDBStore(data_dir=data) as again:
        assert again.stats().facts == 300
        assert again.server.incr_bytes() < again.server.compact_min_bytes
    assert list((data / "appendonlydir").glob("*.base.rdb"))


def test_open_waits_on_loading_with_progress_and_the_hard_cap_names_the_fix(tmp_path: Path, capfd) -> None:
    data = tmp_path / "db"
    write_uncompacted(data, 1500)  # replaying it takes seconds, loading its snapshot well under one
    short = FalkorDBStore(data_dir=data, start_timeout=0.5)
    with pytest.raises(StoreUnavailableError, match="KGKIT_FALKORDB_START_TIMEOUT") as err:
        short.open()
    assert "loading" in str(err.value)
    assert short.server.pid() is None or not alive(short.server.pid()), "a server given up on must not linger"
    with FalkorDBStore(data_dir=data, start_timeout=600) as store:  # waits as long as loading takes
        assert store.stats().facts == 1500
    assert "loading" in capfd.readouterr().err


_OWNER = textwrap.dedent("""
    import sys, time
    from kgkit.store import falkordb_server
    if sys.argv[2] == "no-watchdog":  # what a platform without PR_SET_PDEATHSIG gets
        falkordb_server._die_with_parent = lambda parent_pid: None
    from kgkit.store.embedded import FalkorDBStore
    store = FalkorDBStore(data_dir=sys.argv[1])
    store.open()
    print(store.server.pid(), flush=True)
    time.sleep(600)
""")


def start_owner(data: Path, mode: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-c", _OWNER, str(data), mode], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip().isdigit(), f"the owner process failed to open the store: {line!r}"
    return proc, int(line)


def test_kill_9_of_the_owner_stops_its_server(tmp_path: Path) -> None:
    proc, server_pid = start_owner(tmp_path / "db", "watchdog")
    assert alive(server_pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert wait_until(lambda: not alive(server_pid)), "the server outlived its owner"


def test_an_orphan_server_is_adopted_not_duplicated_and_then_stopped(tmp_path: Path) -> None:
    data = tmp_path / "db"
    proc, server_pid = start_owner(data, "no-watchdog")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    assert alive(server_pid), "without the watchdog the server survives its owner (the case the lease covers)"
    try:
        store = FalkorDBStore(data_dir=data)
        store.open()
        assert store.server.pid() == server_pid and store.server.owned
        assert store.server.owner_pid() == os.getpid()
        store.close()
        assert wait_until(lambda: not alive(server_pid)), "the adopted orphan was not stopped"
    finally:
        if alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)


def test_a_second_process_attaches_to_a_live_owner_without_adopting(tmp_path: Path) -> None:
    data = tmp_path / "db"
    proc, server_pid = start_owner(data, "watchdog")
    try:
        with FalkorDBStore(data_dir=data) as store:
            assert store.server.pid() == server_pid and not store.server.owned
        assert alive(server_pid), "closing an attached store must not stop the owner's server"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert wait_until(lambda: not alive(server_pid))


def test_keep_running_server_outlives_its_process_and_is_not_adopted(tmp_path: Path) -> None:
    data = tmp_path / "db"
    store = FalkorDBStore(data_dir=data, keep_running=True)
    store.open()
    pid = store.server.pid()
    store.close()
    try:
        assert alive(pid)
        with FalkorDBStore(data_dir=data) as again:
            assert again.server.pid() == pid and not again.server.owned
        assert alive(pid)
    finally:
        EmbeddedFalkorServer(data).stop()
    assert wait_until(lambda: not alive(pid))


def test_writes_left_to_replay_after_a_crash_replay_with_indexes(tmp_path: Path) -> None:
    """Replaying onto a snapshot with indexes still being built runs on scans (202 s instead of 2.5 s at
    100k facts), so background index building is only used when nothing is left to replay."""
    data = tmp_path / "db"
    with FalkorDBStore(data_dir=data) as store:
        store.write_triples(triples(15000))
    with FalkorDBStore(data_dir=data) as store:
        assert store._db.connection.execute_command("GRAPH.CONFIG", "GET", "DELAY_INDEXING")[1] in (1, True)
    crashed = FalkorDBStore(data_dir=data)
    crashed.open()
    crashed.server._client().config_set("auto-aof-rewrite-percentage", 0)
    more = [Triple(Entity(f"Late {i}", "Person"), "bornIn", Entity(f"Place {i % 50}", "Place"),
                   Provenance("late", "late#0", Span(0, 4), "t", "1", 0.9), "late") for i in range(3000)]
    crashed.write_triples(more)
    os.kill(crashed.server.pid(), signal.SIGKILL)  # no compaction on close: the writes stay to be replayed
    crashed.server._proc.wait()
    t0 = time.monotonic()
    with FalkorDBStore(data_dir=data) as again:
        elapsed = time.monotonic() - t0
        assert again._db.connection.execute_command("GRAPH.CONFIG", "GET", "DELAY_INDEXING")[1] in (0, False)
        assert again.stats().facts == 18000
    assert elapsed < 20, f"replaying 3,000 facts over a 15,000-fact snapshot took {elapsed:.0f}s"


def test_reopen_runs_no_schema_statement_and_keeps_the_schema(tmp_path: Path) -> None:
    """Opening a store that has its indexes and constraints only lists them (read-only): no
    CREATE INDEX / GRAPH.CONSTRAINT CREATE, which would wait for the indexes rebuilt after loading."""
    data = tmp_path / "db"
    with FalkorDBStore(data_dir=data) as store:
        store.write_triples(triples(50))
        first = store.server._client().info("commandstats")
        assert first.get("cmdstat_graph.CONSTRAINT", {}).get("calls", 0) == 3  # created on the first open
    with FalkorDBStore(data_dir=data) as store:
        stats = store.server._client().info("commandstats")
        assert "cmdstat_graph.CONSTRAINT" not in stats
        assert "cmdstat_graph.QUERY" not in stats  # only GRAPH.RO_QUERY listings
        assert stats["cmdstat_graph.RO_QUERY"]["calls"] == 2
        indexed = {(r["label"], p) for r in store.query("CALL db.indexes()") for p in r["properties"]}
        assert {("Entity", "id"), ("Entity", "norm"), ("Evidence", "target"), ("Document", "id")} <= indexed
        constraints = {r["label"] for r in store.query("CALL db.constraints()") if r["type"] == "UNIQUE"}
        assert constraints == {"Entity", "Document", "Evidence"}
        assert store.stats().facts == 50


def test_schema_missing_on_an_existing_graph_is_created(tmp_path: Path) -> None:
    """A graph written without kgkit's schema (or an older one) gets the missing parts on open."""
    data = tmp_path / "db"
    with FalkorDBStore(data_dir=data) as store:
        store.query("CREATE (:Other {x: 1})", write=True)
        store.query("DROP INDEX ON :Entity(norm)", write=True)
        store._db.connection.execute_command("GRAPH.CONSTRAINT", "DROP", "kgkit", "UNIQUE", "NODE", "Document",
                                             "PROPERTIES", 1, "id")
        assert wait_until(lambda: "Document" not in {r["label"] for r in store.query("CALL db.constraints()")})
    with FalkorDBStore(data_dir=data) as store:
        indexed = {(r["label"], p) for r in store.query("CALL db.indexes()") for p in r["properties"]}
        assert ("Entity", "norm") in indexed
        assert "Document" in {r["label"] for r in store.query("CALL db.constraints()")}


def test_server_runs_with_one_openmp_thread(tmp_path: Path) -> None:
    """One OpenMP thread: the matrix sync after loading does not stall on a busy machine."""
    with FalkorDBStore(data_dir=tmp_path / "db") as store:
        assert store._db.connection.execute_command("GRAPH.CONFIG", "GET", "OMP_THREAD_COUNT")[1] == 1
