"""A saved ``kg.show`` page opened in headless Chromium: it loads nothing from the network and its
canvas drew the nodes, in their type colours. Screenshots go to ``screenshots/``."""

from __future__ import annotations

import io
from pathlib import Path

from kgkit.viz.browser import count_colour_pixels
from kgkit.viz.figure import STATUS_COLOURS, type_colour


def test_saved_view_draws_nodes_offline(sample_workdir: Path, artifacts: Path, browser: object) -> None:
    from kgkit import KnowledgeGraph
    from kgkit.viz.browser import check_page

    with KnowledgeGraph(workdir=sample_workdir) as kg:
        fig = kg.show("Marie Curie", hops=2, include="all")
    page = fig.save_html(artifacts / "show-marie-curie.html")
    assert {"Person", "Place"} <= set(fig.types()) and any(e.status == "rejected" for e in fig.edges)
    check = check_page(browser, page, colours=[type_colour("Person")], screenshot=artifacts / "show-marie-curie.png")
    assert check.remote_requests == [] and check.errors == []
    assert check.canvases >= 1
    assert check.node_pixels >= 500, check  # Person nodes are filled discs of that colour
    assert check_page(browser, page, colours=[STATUS_COLOURS["rejected"]]).node_pixels > 0  # the red rejected edge
    assert check.screenshot is not None and check.screenshot.stat().st_size > 10_000


def test_pixel_count_sees_colours_and_only_them() -> None:
    from PIL import Image

    img = Image.new("RGB", (40, 40), "#F5F6F6")
    img.paste(Image.new("RGB", (10, 10), "#4C8EDA"), (5, 5))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    assert count_colour_pixels(buf.getvalue(), ["#4C8EDA"]) == 100
    assert count_colour_pixels(buf.getvalue(), ["#D62728"]) == 0


def test_clicking_an_edge_shows_its_evidence(tmp_path: Path, browser: object) -> None:
    """The page opens the details panel; a click on the edge (found by its colour) lists the evidence."""
    import numpy as np
    from PIL import Image

    from kgkit.viz import EvidenceLine, FigureEdge, FigureNode, GraphFigure
    from kgkit.viz.browser import _JS_PAINTED

    fig = GraphFigure(title="one fact")
    fig.add_node(FigureNode("p", "Marie Curie", "Person"))
    fig.add_node(FigureNode("w", "Warsaw", "Place"))
    fig.edges.append(FigureEdge("f1", "p", "w", "bornIn", 0.9, "chosen",
                                [EvidenceLine("people/curie.txt", 10, 41, "Marie Curie was born in Warsaw.")], 1))
    page = browser.new_page(viewport={"width": 1000, "height": 700})  # type: ignore[attr-defined]
    try:
        page.goto(fig.save_html(tmp_path / "one.html").resolve().as_uri())
        page.wait_for_function(_JS_PAINTED, arg=200, polling=100)
        page.wait_for_timeout(2500)  # the layout settles
        assert "Results overview" in page.inner_text("body")  # the details panel is open
        img = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)
        ys, xs = np.nonzero((np.abs(img - np.array([0x2E, 0x9E, 0x44])) <= 30).all(axis=2))  # the green edge
        assert len(xs) > 50
        k = int(((xs - np.median(xs)) ** 2 + (ys - np.median(ys)) ** 2).argmin())
        page.mouse.click(int(xs[k]), int(ys[k]))
        page.wait_for_timeout(800)
        text = page.inner_text("body")
    finally:
        page.close()
    assert "Relationship details" in text
    assert "“Marie Curie was born in Warsaw.” — people/curie.txt [10:41]" in text and "fused confidence" in text
