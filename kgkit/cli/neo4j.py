"""CLI of the Neo4j store: ``kgkit neo4j {start,stop,status,schema}``.

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

neo4j_app = typer.Typer(help="Neo4j: start/stop the project's local server, check a connection, create the schema.",
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
    console.print(f"{st.documents} documents, {st.entities} entities, {st.facts} facts, {st.evidence} evidence")


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


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add this area's commands to the root app and to the `kgkit eval` group."""
    app.add_typer(neo4j_app, name="neo4j")
