"""CLI commands for kgkit.llm (placeholder until that area lands)."""

from __future__ import annotations

import typer


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add this area's commands to the root app and to the `kgkit eval` group."""
