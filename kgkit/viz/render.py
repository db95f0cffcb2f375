"""Draw a :class:`~kgkit.viz.figure.GraphFigure` with ``neo4j-viz`` (the optional ``kgkit[viz]`` extra).

Why neo4j-viz: it is maintained by Neo4j (monthly releases), typed, and its wheel ships the whole
NVL JavaScript bundle, which :meth:`VisualizationGraph.render` inlines into the page; the page it
writes loads nothing from the network (``tests/viz`` checks this), so a saved view opens offline and
in CI. It draws on a canvas (thousands of nodes stay smooth), colours and sizes per node, width and
colour per relationship, and shows a clicked element's properties in a details panel — where kgkit
puts the fact's confidence, fusion status and evidence sentences (neo4j-viz 1.11 dropped the hover
tooltip of earlier versions for that panel). ipysigma's standalone export loads its widget code
from a CDN; pyvis has had no release since 2023; yfiles-jupyter-graphs needs a live kernel.
neo4j-viz is GPL-3.0; kgkit only imports it when the extra is installed.
"""

from __future__ import annotations

from typing import Any

from kgkit.errors import DependencyMissingError
from kgkit.viz.figure import GraphFigure

__all__ = ["render_html", "to_visualization_graph", "require_neo4j_viz"]

NODE_SIZE = 18
HIGHLIGHT_SIZE = 30


def require_neo4j_viz() -> Any:
    """The ``neo4j_viz`` module, or a :class:`DependencyMissingError` naming ``pip install 'kgkit[viz]'``."""
    try:
        import neo4j_viz
    except ImportError as err:
        raise DependencyMissingError("neo4j-viz", "drawing graph views (kg.show, kgkit show)", extra="viz") from err
    return neo4j_viz


def to_visualization_graph(fig: GraphFigure) -> Any:
    """The figure as a ``neo4j_viz.VisualizationGraph`` (for callers who want its own options)."""
    nv = require_neo4j_viz()
    nodes = []
    for n in fig.nodes.values():
        props: dict[str, Any] = {"name": n.name, "type": n.type, "id": n.id}
        if n.aliases:
            props["aliases"] = ", ".join(n.aliases[:10])
        if n.merged_ids:
            props["merged from"] = ", ".join(n.merged_ids[:10])
        size = HIGHLIGHT_SIZE if n.highlight else NODE_SIZE + (4 if n.merged_ids else 0)
        nodes.append(nv.Node(id=n.id, caption=n.caption, color=n.colour, size=size, properties=props))
    rels = [nv.Relationship(id=e.id, source=e.source, target=e.target, caption=e.caption, color=e.colour,
                            width=e.width, properties=e.tooltip())
            for e in fig.edges]
    graph = nv.VisualizationGraph(nodes=nodes, relationships=rels)
    statuses = sorted({e.status for e in fig.edges} | ({"answer path"} if any(e.highlight for e in fig.edges) else set()))
    graph.set_legend(nodes=fig.types(), relationships={s: _status_colour(s) for s in statuses})
    return graph


def _status_colour(status: str) -> str:
    from kgkit.viz.figure import HIGHLIGHT, STATUS_COLOURS

    return HIGHLIGHT if status == "answer path" else STATUS_COLOURS.get(status, STATUS_COLOURS["accepted"])


# neo4j-viz 1.11 shows an element's properties in a details panel when it is clicked (no hover tooltip
# any more) and starts with that panel closed; kgkit opens it once the page has drawn its controls, so
# clicking an edge shows its evidence. Without the button (another neo4j-viz) this does nothing.
_OPEN_DETAILS_PANEL = """<script>(function () {
  var tries = 0, timer = setInterval(function () {
    var b = document.querySelector("button[aria-label='Toggle graph details panel']");
    if (b || ++tries > 200) { clearInterval(timer); if (b && b.getAttribute("aria-pressed") !== "true") b.click(); }
  }, 50);
})();</script>"""


# The open panel lists every node and relationship caption, which costs about a second of page work
# at 2,000 nodes (benchmarks/viz_render.py); larger views start with it closed (its button opens it).
DETAILS_PANEL_MAX_NODES = 500


def render_html(fig: GraphFigure, *, height: str = "600px", details_panel: bool | None = None) -> str:
    """A standalone HTML page drawing ``fig`` (JavaScript inlined, nothing fetched from the network).

    ``details_panel``: open the panel that shows a clicked node's or edge's properties (evidence
    included); default: open for views of at most 500 nodes.
    """
    if details_panel is None:
        details_panel = len(fig.nodes) <= DETAILS_PANEL_MAX_NODES
    graph = to_visualization_graph(fig)
    page = graph.render(height=height, max_allowed_nodes=max(10_000, len(fig.nodes)), theme="light",
                        on_dangling="error")
    text: str = page.data
    if details_panel:
        text = text.replace("</body>", _OPEN_DETAILS_PANEL + "\n</body>", 1)
    return text
