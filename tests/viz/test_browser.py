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
