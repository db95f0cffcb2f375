"""Export a store's graph: RDF (Turtle, N-Triples, JSON-LD via rdflib), CSV, or networkx.

Every export reads the view of the graph (:func:`kgkit.view.read_view`): by default the facts fusion
accepted, with their fused confidence; ``include="all"`` (``kgkit export --audit``) writes everything,
with each fact's fusion status.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from kgkit.store.base import GraphStore
from kgkit.view import GraphView, read_view

__all__ = ["export_graph", "to_networkx", "to_rdf", "write_csv", "write_turtle", "write_ntriples", "write_jsonld"]

BASE = "https://kgkit.dev/"


def to_networkx(store: GraphStore, *, include: str = "accepted") -> Any:
    """The view as a :class:`networkx.MultiDiGraph` (nodes: entity ids; edge keys: fact ids).

    Edge ``confidence`` is the fused confidence; ``status`` is accepted, chosen or rejected.
    """
    import networkx as nx

    view = read_view(store, include=include)
    g = nx.MultiDiGraph()
    for e in view.entities.values():
        g.add_node(e.id, name=e.name, type=e.type, aliases=list(e.aliases), **dict(e.properties))
    for f in view.facts:
        props = {k: v for k, v in f.properties.items() if k != "fusion_status"}
        g.add_edge(f.subject_id, f.object_id, key=f.id, predicate=f.predicate, rel_type=f.rel_type,
                   confidence=f.confidence, status=view.status(f), **props)
    return g


def to_rdf(store: GraphStore | None, *, include: str = "accepted", view: GraphView | None = None) -> Any:
    """An :class:`rdflib.Graph` of the view: entities typed and labelled, facts as triples, aliases as
    skos:altLabel."""
    from urllib.parse import quote

    from rdflib import RDF, RDFS, SKOS, Graph, Literal, Namespace, URIRef

    ent, rel, typ = Namespace(BASE + "entity/"), Namespace(BASE + "relation/"), Namespace(BASE + "type/")
    g = Graph()
    g.bind("kge", ent)
    g.bind("kgr", rel)
    g.bind("kgt", typ)
    g.bind("skos", SKOS)

    def node(eid: str) -> URIRef:
        return URIRef(ent + quote(eid, safe=""))

    if view is None:
        if store is None:
            raise ValueError("to_rdf needs a store or a view")
        view = read_view(store, include=include)
    for e in view.entities.values():
        n = node(e.id)
        g.add((n, RDF.type, typ[e.type]))
        g.add((n, RDFS.label, Literal(e.name)))
        for a in e.aliases:
            if a != e.name:
                g.add((n, SKOS.altLabel, Literal(a)))
    for f in view.facts:
        g.add((node(f.subject_id), rel[f.predicate], node(f.object_id)))
    return g


def write_csv(view: GraphView, path: Path) -> int:
    """CSV rows with the fused confidence and the fusion status (accepted, chosen, rejected)."""
    ents = view.entities
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["fact_id", "subject", "subject_type", "predicate", "object", "object_type", "confidence", "status"])
        for f in view.facts:
            s, o = ents.get(f.subject_id), ents.get(f.object_id)
            w.writerow([f.id, s.name if s else f.subject_id, s.type if s else "", f.predicate,
                        o.name if o else f.object_id, o.type if o else "", f"{f.confidence:.3f}", view.status(f)])
    return len(view.facts)


def _write_rdf(view: GraphView, path: Path, rdflib_format: str) -> int:
    g = to_rdf(None, view=view)
    g.serialize(destination=str(path), format=rdflib_format, encoding="utf-8")
    from rdflib import Namespace

    rel = Namespace(BASE + "relation/")
    return sum(1 for _, p, _ in g if str(p).startswith(str(rel)))


def write_turtle(view: GraphView, path: Path) -> int:
    return _write_rdf(view, path, "turtle")


def write_ntriples(view: GraphView, path: Path) -> int:
    return _write_rdf(view, path, "nt")


def write_jsonld(view: GraphView, path: Path) -> int:
    return _write_rdf(view, path, "json-ld")


def export_graph(store: GraphStore, path: str | Path, fmt: str = "ttl", *, include: str = "accepted") -> int:
    """Write the view of the graph to ``path`` in a registered format (:data:`kgkit.registry.exporters`:
    ttl, nt, jsonld, csv, or an entry point of ``kgkit.exporters``); returns the number of facts written.

    An exporter is a function ``(view, path) -> facts written``.
    """
    from kgkit.registry import exporters

    writer = exporters.get(fmt)  # an unknown format fails before anything is read or created
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n: int = writer(read_view(store, include=include), path)
    return n
