"""Helpers shared by the fusion tests (a module of its own: `conftest` is not importable by name)."""

from __future__ import annotations

from kgkit.types import Entity, Provenance, Triple


def triple(s: tuple[str, str], pred: str, o: tuple[str, str], doc: str, conf: float = 0.9, source: str | None = None) -> Triple:
    """``triple(("Marie Curie", "Person"), "bornIn", ("Warsaw", "Place"), "a.md")``."""
    return Triple(
        Entity(s[0], s[1]), pred, Entity(o[0], o[1]),
        Provenance(doc, f"{doc}#0", None, "test", "1", conf, source), evidence=f"{s[0]} {pred} {o[0]}",
    )


def graph_state(store) -> dict:
    """Everything fusion may touch, as plain comparable data."""
    ents = store.query("MATCH (n:Entity) RETURN n.id AS id, labels(n) AS l, properties(n) AS p ORDER BY n.id")
    facts = store.query(
        "MATCH (s:Entity)-[r]->(o:Entity) RETURN r.id AS id, type(r) AS t, s.id AS s, o.id AS o, properties(r) AS p ORDER BY r.id"
    )
    evs = store.query("MATCH (e:Evidence) RETURN properties(e) AS p ORDER BY e.id")
    other = store.query("MATCH (n) WHERE NOT n:Entity AND NOT n:Evidence AND NOT n:Document RETURN count(n) AS c")
    return {
        "entities": [(r["id"], sorted(r["l"]), r["p"]) for r in ents],
        "facts": [(r["id"], r["t"], r["s"], r["o"], r["p"]) for r in facts],
        "evidence": [r["p"] for r in evs],
        "other_nodes": other[0]["c"],
    }
