"""Options and helpers shared by kgkit's CLI commands."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any, Iterator, NoReturn, Optional

import typer
from rich.console import Console

from kgkit.errors import KgkitError

__all__ = ["console", "err_console", "fail", "open_graph", "PipelineOpt", "StoreOpt", "WorkdirOpt"]

console = Console()
err_console = Console(stderr=True)

PipelineOpt = Annotated[Optional[Path], typer.Option("--pipeline", help="Pipeline YAML (default: pipelines/default.yaml).", envvar="KGKIT_PIPELINE")]
StoreOpt = Annotated[Optional[str], typer.Option("--store", help="Store: falkordb (embedded, default) or neo4j (NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE).", envvar="KGKIT_STORE")]
WorkdirOpt = Annotated[Path, typer.Option("--workdir", help="Folder for the ledger and the embedded store's data.", envvar="KGKIT_WORKDIR")]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error that names the fix, and exit."""
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def open_graph(pipeline: Optional[Path] = None, store: Optional[str] = None, workdir: Path = Path(".kgkit"),
               **kwargs: Any) -> Iterator[Any]:
    """Open a :class:`KnowledgeGraph`; kgkit errors become a clean message and exit code 1."""
    from kgkit.api import KnowledgeGraph

    kg = None
    try:
        kg = KnowledgeGraph(pipeline, store=store, workdir=workdir, **kwargs)
        yield kg
    except KgkitError as err:
        fail(str(err))
    finally:
        if kg is not None:
            with contextlib.suppress(KgkitError):
                kg.close()
