"""Run a notebook top to bottom (nbclient) and export it as HTML (nbconvert)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CELL_TIMEOUT_S = 240


def execute_notebook(path: Path, env: dict[str, str]) -> Any:
    """Execute ``path`` in its own folder with ``env``; a failing cell raises ``CellExecutionError``."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits the environment it is started in
    try:
        NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return nb


def export_html(nb: Any, out: Path) -> Path:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out


def outputs_of(nb: Any, mime: str) -> list[Any]:
    return [o["data"][mime] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if mime in o.get("data", {})]
