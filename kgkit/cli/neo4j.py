"""CLI of the Neo4j store: ``kgkit neo4j {start,stop,status,schema,import}``.

Ingest and query go through the core commands (``kgkit ingest DIR --store neo4j``,
``kgkit query ... --store neo4j``); these commands manage the project-local server and check a
connection. The connection comes from ``--uri/--user/--password/--database`` or
``NEO4J_URI``/``NEO4J_USER``/``NEO4J_PASSWORD``/``NEO4J_DATABASE``. Nothing heavy is imported at
import time.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import typer

from kgkit.cli.common import console, fail

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts" / "neo4j"

neo4j_app = typer.Typer(help="Neo4j: start/stop the project's local server, check a connection, create the schema, bulk-load.",
                        no_args_is_help=True)

UriOpt = typer.Option(None, "--uri", help="Bolt/Neo4j URI (default: NEO4J_URI, else bolt://127.0.0.1:7687).")
UserOpt = typer.Option(None, "--user", help="User (default: NEO4J_USER, else neo4j).")
PasswordOpt = typer.Option(None, "--password", help="Password (default: NEO4J_PASSWORD).", envvar="NEO4J_PASSWORD",
                           show_envvar=False)
DatabaseOpt = typer.Option(None, "--database", help="Database (default: NEO4J_DATABASE, else the server's default).")
PortOpt = typer.Option(None, "--port", help="Bolt port of the local server (default: NEO4J_PORT, else 7687).")


def _script(name: str, port: int | None) -> None:
    path = SCRIPTS / name
    if not path.exists():
        fail(f"{path} is missing: the local server scripts ship with the kgkit source tree; "
             "use your own Neo4j and set NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD instead")
    env = {**os.environ, **({"NEO4J_PORT": str(port)} if port else {})}
    rc = subprocess.run(["bash", str(path)], env=env, check=False).returncode
    if rc != 0:
        fail(f"{path.name} exited with code {rc}; see the messages above (log: .neo4j/server/logs/)")


@neo4j_app.command("start")
def start_cmd(port: int | None = PortOpt) -> None:
    """Build (first time, with Maven) and start the project's Neo4j 5.26 server; wait until it answers."""
    _script("start.sh", port)


@neo4j_app.command("stop")
def stop_cmd(port: int | None = PortOpt) -> None:
    """Stop the project's Neo4j server."""
    _script("stop.sh", port)


def _open(uri: str | None, user: str | None, password: str | None, database: str | None, **kw: Any) -> Any:
    from kgkit.errors import KgkitError
    from kgkit.store.neo4j import Neo4jStore

    store = Neo4jStore(uri, user=user, password=password, database=database, **kw)
    try:
        store.open()
    except KgkitError as err:
        fail(str(err))
    return store


@neo4j_app.command("status")
def status_cmd(uri: str | None = UriOpt, user: str | None = UserOpt, password: str | None = PasswordOpt,
               database: str | None = DatabaseOpt) -> None:
    """Connect, and print the server version, the database and what kgkit stored there."""
    from kgkit.errors import KgkitError

    store = _open(uri, user, password, database, create_schema=False)
    try:
        comp = store.query("CALL dbms.components() YIELD name, versions, edition RETURN name, versions, edition")
        st = store.stats()
    except KgkitError as err:
        fail(str(err))
    finally:
        store.close()
    ver = ", ".join(f"{c['name']} {'/'.join(c['versions'])} {c['edition']}" for c in comp)
    console.print(f"[bold]neo4j[/] {store.uri} (database: {store.database or 'default'}): {ver}")
    console.print(f"{st.documents} documents, {st.entities} entities, {st.facts} facts (+ {st.rejected_facts} rejected, "
                  f"{st.candidate_facts} candidate), {st.evidence} evidence")


@neo4j_app.command("schema")
def schema_cmd(uri: str | None = UriOpt, user: str | None = UserOpt, password: str | None = PasswordOpt,
               database: str | None = DatabaseOpt) -> None:
    """Create kgkit's uniqueness constraints and indexes (also done automatically on first use)."""
    from kgkit.errors import KgkitError

    store = _open(uri, user, password, database, create_schema=False)
    try:
        for stmt in store._schema_statements():
            console.print(stmt)
        store.ensure_schema()
    except KgkitError as err:
        fail(str(err))
    finally:
        store.close()
    console.print("[green]schema ready[/]")


@neo4j_app.command("import")
def import_cmd(
    ingest_folder: Path | None = typer.Option(None, "--ingest", help="Ingest this folder into the embedded store first (same as `kgkit ingest DIR --no-fuse`)."),
    workdir: Path = typer.Option(Path(".kgkit"), "--workdir", help="Working directory of the embedded store to load from (and of the ledgers)."),
    pipeline: Path | None = typer.Option(None, "--pipeline", help="Pipeline file (its store must be the embedded one)."),
    port: int | None = PortOpt,
    database: str = typer.Option("neo4j", "--database", help="Database to fill (must be empty)."),
    csv_dir: Path | None = typer.Option(None, "--csv-dir", help="Where to write the CSV files (default: a new folder under the workdir)."),
    keep_csv: bool = typer.Option(False, "--keep-csv", help="Keep the CSV files after the import."),
    heap: str = typer.Option("1g", "--heap", help="JVM heap of the importer."),
    max_off_heap: str = typer.Option("1g", "--max-off-heap", help="Off-heap memory of the importer (neo4j-admin --max-off-heap-memory)."),
) -> None:
    """First load of the project's (empty) Neo4j server with neo4j-admin's bulk importer.

    Reads the embedded store of --workdir (after --ingest DIR, if given), writes importer CSV files,
    stops the server, imports, restarts it and creates kgkit's constraints and indexes. The embedded
    store's ledger is copied, so `kgkit ingest DIR --store neo4j` afterwards only does what changed.
    """
    import time

    from kgkit.api import KnowledgeGraph
    from kgkit.errors import KgkitError
    from kgkit.store.base import CypherGraphStore
    from kgkit.store.neo4j_bulk import LocalNeo4j, bulk_load, dump_graph

    server = LocalNeo4j.from_env(SCRIPTS, port)
    out = csv_dir or workdir / "neo4j-import" / time.strftime("%Y%m%d-%H%M%S")
    try:
        with KnowledgeGraph(pipeline, workdir=workdir) as kg:
            if kg.config.store["name"] not in ("falkordb", "embedded"):
                fail(f"{kg.config.source}: the bulk import reads the embedded store; this pipeline uses "
                     f"{kg.config.store['name']!r}")
            if ingest_folder is not None:
                r = kg.ingest(ingest_folder, fuse=False)
                console.print(f"ingest {r.root}: {r.processed} processed, {r.triples} facts ({r.seconds:.1f}s)")
            source = kg.store
            if not isinstance(source, CypherGraphStore):
                fail(f"the bulk import reads a Cypher store; {type(source).__name__} is not one")
            rep = bulk_load(dump_graph(source), server, csv_dir=out, database=database, heap=heap,
                            max_off_heap=max_off_heap, keep_csv=keep_csv)
            source_ledger = kg._ledger_path()
        _copy_ledger(source_ledger, KnowledgeGraph(pipeline, store="neo4j", workdir=workdir)._ledger_path())
    except KgkitError as err:
        fail(str(err))
    console.print(f"[green]imported[/] {rep.nodes} nodes and {rep.relationships} relationships into {server.uri} "
                  f"(database {database}) in {rep.seconds:.1f}s: CSV {rep.csv_seconds:.1f}s, "
                  f"import {rep.import_seconds:.1f}s, schema {rep.schema_seconds:.1f}s"
                  + (f"; CSV files kept in {out}" if keep_csv else ""))


def _copy_ledger(source: Path, target: Path) -> None:
    """The ledger of the database just filled is the embedded store's: same documents, same facts."""
    import sqlite3

    if not source.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add this area's commands to the root app and to the `kgkit eval` group."""
    app.add_typer(neo4j_app, name="neo4j")
