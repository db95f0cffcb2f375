"""CLI of the graph views: ``kgkit show TARGET --html out.html`` (needs ``pip install 'kgkit[viz]'``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from kgkit.cli.common import PipelineOpt, StoreOpt, WorkdirOpt, console, fail
from kgkit.errors import KgkitError


def show_cmd(
    target: str = typer.Argument(..., help="An entity (name, alias or id), a Cypher query, or --question."),
    html: Path = typer.Option(..., "--html", help="Write the view to this standalone HTML file (opens offline)."),
    param: list[str] = typer.Option([], "--param", "-p", help="Query parameter name=value (value parsed as JSON when possible)."),
    question: bool = typer.Option(False, "--question", "-q", help="TARGET is a question: draw what `kgkit ask` searched and cited."),
    hops: int = typer.Option(1, "--hops", help="Facts to walk from an entity."),
    max_nodes: Optional[int] = typer.Option(None, "--max-nodes", help="At most this many nodes (default 300 around an entity, 2000 for a query)."),
    evidence: int = typer.Option(3, "--evidence", help="Evidence sentences per fact shown when it is clicked (0: none)."),
    audit: bool = typer.Option(False, "--audit", help="Draw the facts fusion rejected too (in red)."),
    pipeline: PipelineOpt = None,
    store: StoreOpt = None,
    workdir: WorkdirOpt = Path(".kgkit"),
) -> None:
    """Draw an entity's neighbourhood, a Cypher query's result or a question's answer paths as HTML."""
    from kgkit.cli.main import _parse_params
    from kgkit.cli.common import open_graph

    include = "all" if audit else "accepted"
    params = _parse_params(param) if param else None
    with open_graph(pipeline, store, workdir) as kg:
        try:
            if question:
                from kgkit.reason.ask import ask_store

                target_obj: object = ask_store(kg.store, target, ontology=kg.ontology, include=include)
            else:
                target_obj = target
            fig = kg.show(target_obj, params, hops=hops, include=include, max_nodes=max_nodes, evidence=evidence)
            path = fig.save_html(html)
        except KgkitError as err:
            fail(str(err))
    console.print(f"{fig.summary()}; wrote {path}", highlight=False, markup=False)
    for note in fig.notes:
        console.print(f"note: {note}", highlight=False, markup=False)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``kgkit show`` to the root app."""
    app.command("show")(show_cmd)
