"""What a graph view shows, independent of the widget that draws it.

A :class:`GraphFigure` holds nodes (entities) and edges (facts) already styled from the view:
colour by entity type, width by fused confidence, rejected facts red and captioned apart, merged
entities larger with their former ids listed, and for every edge the evidence sentences (document
and character span) shown in the details panel when it is clicked. :mod:`kgkit.viz.render` turns it into
HTML with the optional ``neo4j-viz`` package; nothing here needs that package, so the figure can be
built, inspected and tested without it.

>>> fig = GraphFigure(title="tiny")
>>> fig.add_node(FigureNode("e1", "Marie Curie", "Person"))
>>> fig.add_node(FigureNode("e2", "Warsaw", "Place"))
>>> fig.edges.append(FigureEdge("f1", "e1", "e2", "bornIn", 0.9, "accepted"))
>>> fig.summary()
'tiny: 2 nodes, 1 edges (0 rejected)'
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FigureNode", "FigureEdge", "GraphFigure", "EvidenceLine", "type_colour", "STATUS_COLOURS"]

# Colours per entity type of the default ontology; other types get a stable colour from their name.
TYPE_COLOURS: dict[str, str] = {
    "Person": "#4C8EDA", "Organization": "#F79767", "Place": "#57C7E3", "Date": "#C990C0",
    "Work": "#F16667", "Event": "#8DCC93", "Award": "#FFC454", "Concept": "#D9C8AE",
}
_FALLBACK = ("#A5ABB6", "#6DCE9E", "#DA7194", "#569480", "#ECB5C9", "#68BDF6", "#FB95AF", "#B0A6F2")
# Edge colour by fusion status; a highlighted edge (an answer's path) is drawn in HIGHLIGHT.
STATUS_COLOURS: dict[str, str] = {"accepted": "#8A94A6", "chosen": "#2E9E44", "rejected": "#D62728"}
HIGHLIGHT = "#FF8C00"


def type_colour(entity_type: str) -> str:
    """The node colour of an entity type (stable across runs and machines)."""
    if entity_type in TYPE_COLOURS:
        return TYPE_COLOURS[entity_type]
    digest = hashlib.sha1(entity_type.encode("utf-8")).digest()
    return _FALLBACK[digest[0] % len(_FALLBACK)]


@dataclass(frozen=True)
class EvidenceLine:
    """One sentence supporting a fact: where it is (document, character span) and what it says."""

    document_id: str
    start: int | None
    end: int | None
    text: str
    extractor: str = ""

    def describe(self) -> str:
        span = f" [{self.start}:{self.end}]" if self.start is not None else ""
        return f"“{self.text.strip()}” — {self.document_id}{span}"


@dataclass
class FigureNode:
    """An entity as drawn: ``merged_ids`` are the ids fusion folded into it."""

    id: str
    name: str
    type: str
    merged_ids: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    highlight: bool = False

    @property
    def colour(self) -> str:
        return type_colour(self.type)

    @property
    def caption(self) -> str:
        return f"{self.name} (+{len(self.merged_ids)} merged)" if self.merged_ids else self.name


@dataclass
class FigureEdge:
    """A fact as drawn; ``status`` is ``accepted``, ``chosen`` (won a conflict) or ``rejected``."""

    id: str
    source: str
    target: str
    predicate: str
    confidence: float
    status: str
    evidence: list[EvidenceLine] = field(default_factory=list)
    evidence_total: int = 0
    highlight: bool = False

    @property
    def colour(self) -> str:
        if self.highlight:
            return HIGHLIGHT
        return STATUS_COLOURS.get(self.status, STATUS_COLOURS["accepted"])

    @property
    def width(self) -> float:
        """1 px for confidence 0 up to 6 px for 1 (answer paths 2 px wider)."""
        c = min(max(self.confidence, 0.0), 1.0)
        return round(1.0 + 5.0 * c + (2.0 if self.highlight else 0.0), 2)

    @property
    def caption(self) -> str:
        return f"{self.predicate} ✗ rejected" if self.status == "rejected" else self.predicate

    def tooltip(self) -> dict[str, Any]:
        """The properties shown in the details panel when the edge is clicked."""
        props: dict[str, Any] = {"relation": self.predicate, "fused confidence": round(self.confidence, 3),
                                 "fusion status": self.status, "fact id": self.id}
        for i, ev in enumerate(self.evidence, 1):
            props[f"evidence {i}"] = ev.describe()
        if self.evidence_total > len(self.evidence):
            props["more evidence"] = f"{self.evidence_total - len(self.evidence)} more sentence(s)"
        elif not self.evidence:
            props["evidence"] = "none stored"
        return props


@dataclass
class GraphFigure:
    """Nodes and edges of one view, ready to draw (see :mod:`kgkit.viz.render`).

    In a notebook the figure displays itself (``_repr_html_``); :meth:`save_html` writes a
    standalone page that works offline.
    """

    title: str = ""
    nodes: dict[str, FigureNode] = field(default_factory=dict)
    edges: list[FigureEdge] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add_node(self, node: FigureNode) -> None:
        if node.id in self.nodes:
            self.nodes[node.id].highlight |= node.highlight
        else:
            self.nodes[node.id] = node

    def summary(self) -> str:
        rejected = sum(e.status == "rejected" for e in self.edges)
        return f"{self.title}: {len(self.nodes)} nodes, {len(self.edges)} edges ({rejected} rejected)"

    def types(self) -> dict[str, str]:
        """Entity type -> colour, for the types in the figure (the legend)."""
        return {t: type_colour(t) for t in sorted({n.type for n in self.nodes.values()})}

    def to_html(self, *, height: str = "600px") -> str:
        """A standalone HTML page (its JavaScript inlined: it opens offline)."""
        from kgkit.viz.render import render_html

        return render_html(self, height=height)

    def save_html(self, path: str | Path, *, height: str = "100vh") -> Path:
        """Write :meth:`to_html` to ``path`` and return the path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(self.to_html(height=height), encoding="utf-8")
        return out

    def _repr_html_(self) -> str:
        # Each figure lives in its own iframe: the page neo4j-viz writes is a whole document that
        # looks its data up by a fixed element id, so two figures inline in one notebook would clash.
        doc = html.escape(self.to_html(height="560px"), quote=True)
        caption = html.escape(self.summary())
        return (f'<div class="kgkit-figure"><iframe class="kgkit-graph" title="{caption}" srcdoc="{doc}" '
                f'style="width:100%;height:580px;border:1px solid #ddd" loading="eager"></iframe>'
                f'<div style="font-size:12px;color:#555">{caption}</div></div>')

    def __repr__(self) -> str:
        return f"<GraphFigure {self.summary()}>"
