"""Export a store's graph: RDF (Turtle, N-Triples, JSON-LD via rdflib), CSV, or networkx."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from kgkit.errors import ConfigError
from kgkit.store.base import GraphStore

__all__ = ["EXPORT_FORMATS", "export_graph", "to_networkx", "to_rdf"]

EXPORT_FORMATS = {"ttl": "turtle", "nt": "nt", "jsonld": "json-ld", "csv": "csv"}
BASE = "https://kgkit.dev/"


def to_networkx(store: GraphStore) -> Any:
    import networkx as nx

    g = nx.MultiDiGraph()
    for e in store.iter_entities():
        g.add_node(e.id, name=e.name, type=e.type, aliases=list(e.aliases), **dict(e.properties))
    for f in store.iter_facts():
        g.add_edge(f.subject_id, f.object_id, key=f.id, predicate=f.predicate, rel_type=f.rel_type,
                   confidence=f.confidence, **dict(f.properties))
    return g


def to_rdf(store: GraphStore) -> Any:
    """An :class:`rdflib.Graph`: entities typed and labelled, facts as triples, aliases as skos:altLabel."""
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

    for e in store.iter_entities():
        n = node(e.id)
        g.add((n, RDF.type, typ[e.type]))
        g.add((n, RDFS.label, Literal(e.name)))
        for a in e.aliases:
            if a != e.name:
                g.add((n, SKOS.altLabel, Literal(a)))
    for f in store.iter_facts():
        g.add((node(f.subject_id), rel[f.predicate], node(f.object_id)))
    return g


def export_graph(store: GraphStore, path: str | Path, fmt: str = "ttl") -> int:
    """Write the graph to ``path``; returns the number of facts written."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of: {', '.join(EXPORT_FORMATS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        ents = {e.id: e for e in store.iter_entities()}
        facts = list(store.iter_facts())
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["fact_id", "subject", "subject_type", "predicate", "object", "object_type", "confidence"])
            for f in facts:
                s, o = ents.get(f.subject_id), ents.get(f.object_id)
                w.writerow([f.id, s.name if s else f.subject_id, s.type if s else "", f.predicate,
                            o.name if o else f.object_id, o.type if o else "", f"{f.confidence:.3f}"])
        return len(facts)
    g = to_rdf(store)
    g.serialize(destination=str(path), format=EXPORT_FORMATS[fmt], encoding="utf-8")
    from rdflib import Namespace

    rel = Namespace(BASE + "relation/")
    return sum(1 for _, p, _ in g if str(p).startswith(str(rel)))
