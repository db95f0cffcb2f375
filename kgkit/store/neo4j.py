"""Neo4j store: the shared Cypher of :mod:`kgkit.store.cypher` over the official ``neo4j`` driver.

Connect to any Neo4j 5 (Docker, Desktop, Aura, a cluster) with ``uri``/``user``/``password``/
``database`` or the environment variables ``NEO4J_URI``, ``NEO4J_USER``, ``NEO4J_PASSWORD`` and
``NEO4J_DATABASE``. Without them kgkit talks to the project-local server that
``scripts/neo4j/start.sh`` starts on ``bolt://127.0.0.1:$NEO4J_PORT`` (default 7687).

Every statement runs in a managed transaction (``execute_write`` / ``execute_read``), so the
driver retries transient failures (deadlocks, leader switches, lost connections) for up to
``max_transaction_retry_time`` seconds; since every write is an idempotent ``MERGE`` a retried
batch cannot duplicate anything. ``query(write=False)`` runs in a read transaction, which the
server itself refuses to let write.

Only Neo4j's own dialect lives here: the constraint/index statements and batched deletion.

Example:
    >>> from kgkit.store.neo4j import Neo4jStore
    >>> with Neo4jStore.from_env() as store:  # doctest: +SKIP
    ...     store.query("MATCH (n:Entity) RETURN count(n) AS c")
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, Literal

from kgkit.errors import (
    DependencyMissingError,
    QueryBudgetError,
    ReadOnlyQueryError,
    StoreError,
    StoreUnavailableError,
)
from kgkit.store import cypher as Q
from kgkit.store.base import CypherGraphStore
from kgkit.store.batching import Job, Phase, Statement, batches, fact_phases
from kgkit.store.readonly import DEFAULT_ALLOWED_PROCEDURES, check_read_only_query

__all__ = ["DEFAULT_READ_TIMEOUT_S", "START_HINT", "Neo4jStore", "default_uri"]

START_HINT = (
    "start the project's server with scripts/neo4j/start.sh, or point kgkit at yours with "
    "NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD / NEO4J_DATABASE"
)

NEO4J_BATCH_SIZE = 5000
NEO4J_WRITERS = 1
#: time budget of a read-only query (the transaction timeout the server enforces), seconds.
DEFAULT_READ_TIMEOUT_S = 30.0

# The server stops a transaction past its timeout or memory limit (db.memory.transaction.max, set by
# scripts/neo4j/start.sh; dbms.memory.transaction.total.max) with these codes.
_BUDGET_CODES = (
    "Neo.ClientError.Transaction.TransactionTimedOut",
    "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration",
    "Neo.TransientError.General.MemoryPoolOutOfMemoryError",
    "Neo.TransientError.General.TransactionMemoryLimit",
    "Neo.ClientError.General.TransactionMemoryLimit",
    "Neo.TransientError.Transaction.Terminated",
)

# Schema statements are Neo4j 5 syntax (FalkorDB has its own in kgkit.store.embedded). Names are
# fixed so that IF NOT EXISTS makes them idempotent.
_CONSTRAINT = "CREATE CONSTRAINT kgkit_{name} IF NOT EXISTS FOR (n:{label}) REQUIRE n.{key} IS UNIQUE"
_INDEX = "CREATE INDEX kgkit_{name} IF NOT EXISTS FOR (n:{label}) ON (n.{key})"

# Deleting everything in one transaction needs heap proportional to the graph; batches do not.
# The scoped ``CALL (n)`` form needs Neo4j >= 5.23; older 5.x servers get the importing-WITH form.
_CLEAR_IN_BATCHES = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
_CLEAR_IN_BATCHES_OLD = "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"


def default_uri() -> str:
    """``NEO4J_URI``, else the project-local server on ``127.0.0.1:${NEO4J_PORT:-7687}``."""
    return os.environ.get("NEO4J_URI") or f"bolt://127.0.0.1:{os.environ.get('NEO4J_PORT', '7687')}"


class Neo4jStore(CypherGraphStore):
    """Graph store on a Neo4j 5 server.

    Args:
        uri: Bolt/Neo4j URI (``bolt://``, ``neo4j://``, ``neo4j+s://`` for Aura); default
            ``NEO4J_URI`` or the local server of ``scripts/neo4j/start.sh``.
        user: user name; default ``NEO4J_USER`` or ``neo4j``.
        password: password; default ``NEO4J_PASSWORD``. Without one, no credentials are sent
            (right for the local test server, which runs with auth disabled).
        database: database name; default ``NEO4J_DATABASE`` or the server's default database.
        batch_size: rows per ``UNWIND`` batch (one transaction each). 5,000 measured ~15% faster
            than 1,000 here (benchmarks/neo4j_write.py) and needs only a few MB of transaction memory.
        writers: concurrent write transactions for big writes (each in its own session). Facts are
            planned so that concurrent batches touch disjoint nodes (:mod:`kgkit.store.batching`);
            the rare deadlock left is retried by the driver. The default, 1, writes everything in
            order: on the 2-core test machine 2 writers were no faster (BENCHMARKS.md), since
            relationship batches still wait on each other's relationship-chain locks. Try more on a
            server with spare cores.
        max_transaction_retry_time: seconds the driver keeps retrying a failed transaction.
        connection_timeout: seconds to wait for a connection.
        create_schema: create constraints and indexes in :meth:`open` (needs schema rights).
        read_timeout: seconds a read-only query (``query(write=False)``) may run; the server
            enforces it as the transaction timeout. Its memory is capped by the server's
            ``db.memory.transaction.max`` (the project-local server sets it; see scripts/neo4j).
        read_only_procedures: procedures read-only queries may CALL (``prefix.*`` for a namespace).
    """

    name = "neo4j"

    def __init__(
        self,
        uri: str | None = None,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        *,
        batch_size: int = NEO4J_BATCH_SIZE,
        writers: int = NEO4J_WRITERS,
        max_transaction_retry_time: float = 30.0,
        connection_timeout: float = 10.0,
        create_schema: bool = True,
        read_timeout: float = DEFAULT_READ_TIMEOUT_S,
        read_only_procedures: tuple[str, ...] = DEFAULT_ALLOWED_PROCEDURES,
    ) -> None:
        super().__init__(batch_size=batch_size)
        if writers < 1:
            raise ValueError(f"writers must be >= 1, got {writers}")
        self.writers = writers
        self.uri = uri or default_uri()
        self.user = user or os.environ.get("NEO4J_USER") or "neo4j"
        self.password = password if password is not None else os.environ.get("NEO4J_PASSWORD")
        self.database = database or os.environ.get("NEO4J_DATABASE") or None
        self.max_transaction_retry_time = max_transaction_retry_time
        self.connection_timeout = connection_timeout
        self.create_schema = create_schema
        self.read_timeout = read_timeout
        self.read_only_procedures = tuple(read_only_procedures)
        self._driver: Any = None

    @classmethod
    def from_env(cls, **kwargs: Any) -> Neo4jStore:
        """A store configured from ``NEO4J_URI``/``NEO4J_USER``/``NEO4J_PASSWORD``/``NEO4J_DATABASE``."""
        return cls(**kwargs)

    def __repr__(self) -> str:  # never shows the password
        return f"Neo4jStore(uri={self.uri!r}, user={self.user!r}, database={self.database!r})"

    # -- lifecycle ------------------------------------------------------------------------------
    def open(self) -> None:
        """Connect, check the server answers, and create constraints and indexes."""
        if self._driver is not None:
            return
        neo4j = _neo4j()
        auth = (self.user, self.password) if self.password else None
        try:
            self._driver = neo4j.GraphDatabase.driver(
                self.uri, auth=auth, max_transaction_retry_time=self.max_transaction_retry_time,
                connection_timeout=self.connection_timeout,
            )
            self._driver.verify_connectivity()
        except neo4j.exceptions.AuthError as err:
            self.close()
            raise StoreUnavailableError(
                f"Neo4j at {self.uri} refused the credentials of user {self.user!r}; "
                f"set NEO4J_USER / NEO4J_PASSWORD (or pass user=, password=)"
            ) from err
        except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired, OSError) as err:
            self.close()
            raise StoreUnavailableError(f"cannot reach Neo4j at {self.uri} ({_oneline(err)}); {START_HINT}") from err
        except (neo4j.exceptions.ConfigurationError, ValueError) as err:
            self.close()
            raise StoreUnavailableError(f"invalid Neo4j URI {self.uri!r} ({_oneline(err)}); use e.g. bolt://host:7687") from err
        if self.create_schema:
            self._ensure_schema_or_close()

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
        self._driver = None

    def _schema_statements(self) -> list[str]:
        stmts = [
            _CONSTRAINT.format(name=f"{label.lower()}_{key}", label=label, key=key)
            for label, key in Q.UNIQUE_KEYS.items()
        ]
        stmts += [
            _INDEX.format(name=f"{label.lower()}_{key}", label=label, key=key)
            for label, keys in Q.INDEXED.items() for key in keys
        ]
        return stmts

    def ensure_schema(self) -> None:
        """Create the uniqueness constraints and indexes (idempotent) and wait until they are online.

        The plain indexes are created first, in one transaction, and fill in the background while
        the constraints (one transaction; each waits for its own index) are built; one wait at the
        end. On a big database (after a bulk import) the index populations thus run alongside the
        constraints' instead of after them.
        """
        stmts = self._schema_statements()
        indexes = [s for s in stmts if s.startswith("CREATE INDEX")]
        self._run_in_one_transaction(indexes)
        self._run_in_one_transaction([s for s in stmts if s not in indexes])
        self._run("CALL db.awaitIndexes(300)", write=False)

    def _run_in_one_transaction(self, statements: Sequence[str]) -> None:
        def work(tx: Any) -> None:
            for stmt in statements:
                tx.run(stmt).consume()

        if statements:
            with self._session() as session, _translate_errors(self.uri, write=True):
                session.execute_write(work)

    def clear(self) -> None:
        """Delete every node and relationship, in batches so that big graphs fit in the heap."""
        try:
            self._run_autocommit(_CLEAR_IN_BATCHES)
        except StoreError as err:
            if "SyntaxError" not in str(err):
                raise
            self._run_autocommit(_CLEAR_IN_BATCHES_OLD)

    # -- execution ------------------------------------------------------------------------------
    def _run_phase(self, phase: Phase) -> list[tuple[Statement, list[dict[str, Any]]]]:
        """Run the jobs of a write phase on up to :attr:`writers` sessions at once."""
        if self.writers <= 1 or len(phase) <= 1:
            return super()._run_phase(phase)

        def run_job(job: Job) -> list[tuple[Statement, list[dict[str, Any]]]]:
            return [((stmt, params), self._run(stmt, params)) for stmt, params in job]

        with ThreadPoolExecutor(max_workers=self.writers, thread_name_prefix="kgkit-neo4j-writer") as pool:
            futures = [pool.submit(run_job, job) for job in phase]
            for fut in wait(futures, return_when=FIRST_EXCEPTION).not_done:
                fut.cancel()  # after a failure, jobs not yet started are dropped
            # result() re-raises the first failure; running jobs are waited for.
            return [item for fut in futures if not fut.cancelled() for item in fut.result()]

    def _write_entities(self, rows_by_label: Mapping[str, list[dict[str, Any]]]) -> Mapping[str, str]:
        """Upsert entities and keep each node's ``elementId``, so facts skip two index seeks per row."""
        results = self._run_independent([
            (Q.upsert_entities(label, return_handles=True), {"rows": b})
            for label, rows in rows_by_label.items() for b in batches(rows, self.batch_size)
        ])
        return {r["id"]: r["h"] for _, rows in results for r in rows}

    def _write_facts(self, rows_by_type: Mapping[str, list[dict[str, Any]]], handles: Mapping[str, str]) -> None:
        by_handle: dict[str, list[dict[str, Any]]] = {}
        by_id: dict[str, list[dict[str, Any]]] = {}
        for rel, rows in rows_by_type.items():
            for row in rows:
                sh, oh = handles.get(row["s"]), handles.get(row["o"])
                if sh is not None and oh is not None:
                    by_handle.setdefault(rel, []).append({**row, "sh": sh, "oh": oh})
                else:
                    by_id.setdefault(rel, []).append(row)
        rel_of = {Q.upsert_facts_by_handle(rel): rel for rel in by_handle}
        for phase in fact_phases(by_handle, Q.upsert_facts_by_handle, batch_size=self.batch_size, writers=self.writers):
            for (stmt, params), result in self._run_phase(phase):
                if not result or result[0]["n"] < len(params["rows"]):  # a stale handle: find by id instead
                    by_id.setdefault(rel_of[stmt], []).extend(params["rows"])
        if by_id:
            super()._write_facts(by_id, {})

    def _session(self, **kwargs: Any) -> Any:
        if self._driver is None:
            raise StoreError("the store is not open; use it as a context manager or call open() first")
        return self._driver.session(database=self.database, **kwargs)

    def _run(self, cypher: str, params: Mapping[str, Any] | None = None, *, write: bool = True) -> list[dict[str, Any]]:
        params = dict(params or {})

        def work(tx: Any) -> list[dict[str, Any]]:
            result = tx.run(cypher, params)
            return [{k: _to_python(v) for k, v in record.items()} for record in result]

        with self._session() as session, _translate_errors(self.uri, write=write):
            return session.execute_write(work) if write else session.execute_read(work)

    def _run_read_only(self, cypher: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """User Cypher: the read-only guard, then a read transaction with the server-enforced timeout."""
        check_read_only_query(cypher, params, allowed_procedures=self.read_only_procedures)
        neo4j = _neo4j()
        params = dict(params)

        @neo4j.unit_of_work(timeout=self.read_timeout or None)
        def work(tx: Any) -> list[dict[str, Any]]:
            try:
                result = tx.run(cypher, params)
                return [{k: _to_python(v) for k, v in record.items()} for record in result]
            except neo4j.exceptions.Neo4jError as err:
                # raised as a kgkit error here, inside the transaction function, so that the driver
                # does not retry a query that ran out of budget (memory errors are "transient")
                if (err.code or "") in _BUDGET_CODES:
                    raise QueryBudgetError(
                        f"the query ran past its budget (time limit {self.read_timeout:g}s, or the server's "
                        f"per-transaction memory) and was stopped: {_oneline(err)}. Narrow it (LIMIT, a more "
                        "selective MATCH) or raise read_timeout in the store settings"
                    ) from err
                raise

        with self._session() as session, _translate_errors(self.uri, write=False):
            return session.execute_read(work)

    def _run_autocommit(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Statements that manage their own transactions (``CALL {...} IN TRANSACTIONS``)."""
        with self._session() as session, _translate_errors(self.uri, write=True):
            result = session.run(cypher, dict(params or {}))
            return [{k: _to_python(v) for k, v in record.items()} for record in result]


class _translate_errors:
    """Turn driver exceptions into kgkit's :class:`StoreError` tree, with the fix in the message."""

    def __init__(self, uri: str, *, write: bool) -> None:
        self.uri = uri
        self.write = write

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> Literal[False]:
        if exc is None:
            return False
        neo4j = _neo4j()
        if isinstance(exc, neo4j.exceptions.Neo4jError):
            code = exc.code or ""
            if not self.write and code == "Neo.ClientError.Statement.AccessMode":
                raise ReadOnlyQueryError(
                    f"this query writes to the graph; rerun with --write (write=True) if you mean it: {exc.message}"
                ) from exc
            if isinstance(exc, neo4j.exceptions.AuthError):
                raise StoreUnavailableError(f"Neo4j refused the credentials; set NEO4J_USER / NEO4J_PASSWORD: {exc.message}") from exc
            raise StoreError(f"Neo4j rejected the query ({code}): {exc.message}") from exc
        if isinstance(exc, (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired)):
            raise StoreUnavailableError(f"lost the connection to Neo4j at {self.uri} ({_oneline(exc)}); {START_HINT}") from exc
        if isinstance(exc, neo4j.exceptions.DriverError):
            raise StoreError(f"the Neo4j driver failed: {exc}") from exc
        return False


def _oneline(err: BaseException) -> str:
    return " ".join(str(err).split())


def _neo4j() -> Any:
    try:
        import neo4j
    except ImportError as err:  # pragma: no cover - declared dependency
        raise DependencyMissingError("neo4j", "the Neo4j store") from err
    return neo4j


def _to_python(v: Any) -> Any:
    """Driver values -> plain Python, shaped like the FalkorDB store's (nodes and edges become dicts)."""
    from neo4j.graph import Node, Path, Relationship

    if isinstance(v, Node):
        return {"_labels": sorted(v.labels), **dict(v.items())}
    if isinstance(v, Relationship):
        return {"_type": v.type, **dict(v.items())}
    if isinstance(v, Path):
        return {"nodes": [_to_python(n) for n in v.nodes], "edges": [_to_python(r) for r in v.relationships]}
    if isinstance(v, list):
        return [_to_python(x) for x in v]
    if isinstance(v, dict):
        return {k: _to_python(x) for k, x in v.items()}
    return v
