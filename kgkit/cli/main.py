"""The ``kgkit`` command line: a thin typer layer over library functions."""

from __future__ import annotations

import typer

from kgkit.cli import embed, fuse, llm, neo4j, reason

app = typer.Typer(
    name="kgkit",
    help="Turn folders of documents into a knowledge graph and reason over it.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
eval_app = typer.Typer(help="Evaluate extraction, fusion, embeddings and question answering.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

for _area in (embed, fuse, llm, neo4j, reason):
    _area.register(app, eval_app)


def main() -> None:  # pragma: no cover
    app()
