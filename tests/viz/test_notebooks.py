"""Every notebook runs top to bottom on the sample corpus, is exported to HTML and opened in headless
Chromium, where each graph view must have drawn nodes. A broken notebook fails here."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kgkit.viz.figure import TYPE_COLOURS

from .conftest import NOTEBOOKS, fresh_dir, kernel_env
from .notebook_runner import execute_notebook, export_html, outputs_of

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]
# notebook -> how many graph views (kg.show) it displays
EMBEDDED = {"explore": 2, "fusion": 1, "ask": 2, "embeddings": 0}
NEO4J = {"neo4j": 2}
MIN_NODE_PIXELS = 300


def test_committed_notebooks_have_no_outputs() -> None:
    found = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert found == sorted({**EMBEDDED, **NEO4J}), "every notebook must be listed here to be executed in CI"
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, (
                    f"{path.name} has committed outputs; strip them (Jupyter: Edit > Clear Outputs of All Cells)")


def _run_and_look(name: str, views: int, env: dict[str, str], artifacts: Path, browser: object) -> None:
    from kgkit.viz.browser import check_page

    nb = execute_notebook(NOTEBOOKS / f"{name}.ipynb", env)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors, errors
    graphs = [h for h in outputs_of(nb, "text/html") if "kgkit-graph" in h]
    assert len(graphs) == views, f"{name}: expected {views} graph views, found {len(graphs)}"
    page = export_html(nb, artifacts / "notebooks" / f"{name}.html")
    check = check_page(browser, page, colours=TYPE_COLOURS.values(), screenshot=artifacts / f"notebook-{name}.png")
    assert not check.errors, check.errors
    assert len(check.frame_pixels) == views, check
    assert all(p >= MIN_NODE_PIXELS for p in check.frame_pixels), f"{name}: a graph view drew no nodes: {check}"
    if name == "embeddings":
        assert len(outputs_of(nb, "image/png")) >= 2, "the training curve and the projection must be drawn"


@pytest.mark.parametrize("name", list(EMBEDDED))
def test_notebook_runs_and_draws(name: str, sample_workdir: Path, artifacts: Path, browser: object,
                                 tmp_path: Path) -> None:
    env = kernel_env(KGKIT_NOTEBOOK_WORKDIR=str(sample_workdir), KGKIT_NOTEBOOK_EPOCHS="6",
                     OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    _run_and_look(name, EMBEDDED[name], env, artifacts, browser)


@pytest.mark.neo4j
def test_neo4j_notebook_runs_and_draws(neo4j_test_store: tuple[str, object], artifacts: Path, browser: object,
                                       tmp_path: Path) -> None:
    uri, store = neo4j_test_store
    env = kernel_env(NEO4J_URI=uri, KGKIT_NOTEBOOK_NEO4J_WORKDIR=str(fresh_dir(tmp_path / "neo4j-workdir")))
    if os.environ.get("KGKIT_TEST_NEO4J_PASSWORD"):  # the same credentials as the store tests
        env.update(NEO4J_USER=os.environ.get("KGKIT_TEST_NEO4J_USER", "neo4j"),
                   NEO4J_PASSWORD=os.environ["KGKIT_TEST_NEO4J_PASSWORD"])
    if os.environ.get("KGKIT_TEST_NEO4J_DATABASE"):
        env["NEO4J_DATABASE"] = os.environ["KGKIT_TEST_NEO4J_DATABASE"]
    _run_and_look("neo4j", NEO4J["neo4j"], env, artifacts, browser)
    assert store.stats().facts > 30  # type: ignore[attr-defined]
