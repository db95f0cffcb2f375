"""Build a :class:`~kgkit.viz.figure.GraphFigure` from the view: around an entity, from a Cypher
query, or from an answer of ``kgkit ask``.

Every figure reads the graph through :func:`kgkit.view.read_view` (accepted facts with their fused
confidence; ``include="all"`` adds the rejected ones, drawn apart, for auditing) and the store's
``get_evidence``; kgkit's own code sends no Cypher from here. A query figure runs *the caller's*
read-only Cypher through ``store.query`` and keeps the entities and facts it returns.

>>> fig = entity_figure(store, "Marie Curie", hops=1)      # doctest: +SKIP
>>> fig.save_html("curie.html")                              # doctest: +SKIP
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from kgkit.errors import KgkitError
from kgkit.store.base import FactRecord
from kgkit.types import normalize_name
from kgkit.view import GraphView, read_view
from kgkit.viz.figure import EvidenceLine, FigureEdge, FigureNode, GraphFigure

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.reason.ask import AskResult
    from kgkit.reason.reasoner import Answer
    from kgkit.store.base import GraphStore

__all__ = ["EntityNotFoundError", "entity_figure", "query_figure", "answer_figure", "view_figure", "find_entity"]

DEFAULT_MAX_NODES = 300
MAX_NODES = 10_000  # neo4j-viz refuses more by default; a page that large is unreadable anyway


class EntityNotFoundError(KgkitError, LookupError):
    """No entity of the view has this id, name or alias."""


def find_entity(view: GraphView, name_or_id: str) -> str:
    """The id of the entity called ``name_or_id`` (an id, a name or an alias, case-insensitively).

    Several entities with that name: the one with the most facts in the view.

    Raises:
        EntityNotFoundError: nothing matches (the message lists close names).
    """
    if name_or_id in view.entities:
        return name_or_id
    canonical = view.canonical_id(name_or_id)
    if canonical in view.entities:
        return canonical
    wanted = normalize_name(name_or_id)
    hits = [e.id for e in view.entities.values()
            if normalize_name(e.name) == wanted or any(normalize_name(a) == wanted for a in e.aliases)]
    if hits:
        degree = _degrees(view.facts)
        return max(hits, key=lambda i: (degree.get(i, 0), i))
    from rapidfuzz import process

    close = process.extract(name_or_id, [e.name for e in view.entities.values()], limit=5)
    names = ", ".join(repr(c[0]) for c in close) or "none: the graph is empty (run `kgkit ingest` first)"
    raise EntityNotFoundError(f"no entity named {name_or_id!r} in the graph's view; close names: {names}")


def _degrees(facts: Iterable[FactRecord]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in facts:
        out[f.subject_id] = out.get(f.subject_id, 0) + 1
        out[f.object_id] = out.get(f.object_id, 0) + 1
    return out


def _check_max(max_nodes: int) -> int:
    if not 1 <= max_nodes <= MAX_NODES:
        raise KgkitError(f"max_nodes={max_nodes} is out of range; pass 1..{MAX_NODES}")
    return max_nodes


def view_figure(
    store: "GraphStore", view: GraphView, entity_ids: Iterable[str], facts: Iterable[FactRecord], *,
    title: str = "", evidence: int = 3, highlight_nodes: Iterable[str] = (), highlight_facts: Iterable[str] = (),
) -> GraphFigure:
    """A figure of ``facts`` and ``entity_ids`` of ``view``, with up to ``evidence`` sentences per fact.

    Fact endpoints are drawn as their canonical entity; ``evidence=0`` reads no evidence (fast for
    thousands of facts).
    """
    fig = GraphFigure(title=title)
    hn, hf = set(highlight_nodes), set(highlight_facts)
    ids = [view.canonical_id(i) for i in entity_ids]
    fact_list = list(facts)
    for f in fact_list:
        ids += [view.canonical_id(f.subject_id), view.canonical_id(f.object_id)]
    for i in dict.fromkeys(ids):
        fig.add_node(_node(view, i, highlight=i in hn))
    for f in fact_list:
        lines: list[EvidenceLine] = []
        total = 0
        if evidence > 0:
            found = store.get_evidence(target=f.id)
            total = len(found)
            lines = [EvidenceLine(e.document_id, e.start, e.end, e.text, e.extractor)
                     for e in sorted(found, key=lambda e: (-e.confidence, e.document_id, e.start or 0))[:evidence]]
        fig.edges.append(FigureEdge(
            f.id, view.canonical_id(f.subject_id), view.canonical_id(f.object_id), f.predicate,
            float(f.confidence), view.status(f), lines, total, highlight=f.id in hf))
    return fig


def _node(view: GraphView, entity_id: str, *, highlight: bool = False) -> FigureNode:
    e = view.entities.get(entity_id)
    if e is None:  # an endpoint outside the view (kept only by an audited, rejected fact)
        return FigureNode(entity_id, entity_id, "Entity", highlight=highlight)
    merged = tuple(str(m) for m in (e.properties.get("merged_ids") or ()) if m != e.id)
    return FigureNode(e.id, e.name, e.type, merged, tuple(e.aliases), highlight)


def entity_figure(
    store: "GraphStore", entity: str, *, hops: int = 1, include: str = "accepted", max_nodes: int = DEFAULT_MAX_NODES,
    evidence: int = 3, view: GraphView | None = None,
) -> GraphFigure:
    """The neighbourhood of ``entity`` (id, name or alias) within ``hops`` facts, at most ``max_nodes`` nodes.

    Raises:
        EntityNotFoundError: no such entity in the view.
    """
    if hops < 0:
        raise KgkitError(f"hops={hops}: pass 0 or more facts to walk from the entity")
    _check_max(max_nodes)
    view = view if view is not None else read_view(store, include=include)
    start = find_entity(view, entity)
    by_node: dict[str, list[FactRecord]] = {}
    for f in view.facts:
        s, o = view.canonical_id(f.subject_id), view.canonical_id(f.object_id)
        by_node.setdefault(s, []).append(f)
        by_node.setdefault(o, []).append(f)
    seen, kept = {start: 0}, {}
    queue = deque([start])
    truncated = False
    while queue:
        node = queue.popleft()
        if seen[node] >= hops:
            continue
        for f in by_node.get(node, ()):
            ends = (view.canonical_id(f.subject_id), view.canonical_id(f.object_id))
            new = [x for x in ends if x not in seen]
            if len(seen) + len(new) > max_nodes:
                truncated = True
                continue
            kept[f.id] = f
            for x in new:
                seen[x] = seen[node] + 1
                queue.append(x)
    fig = view_figure(store, view, seen, kept.values(), title=f"{view.name(start)} ({hops} hop{'s' * (hops != 1)})",
                      evidence=evidence, highlight_nodes=[start])
    if truncated:
        fig.notes.append(f"cut at max_nodes={max_nodes}; raise it or lower hops to see everything")
    return fig


def query_figure(
    store: "GraphStore", cypher: str, params: Mapping[str, Any] | None = None, *, include: str = "accepted",
    max_nodes: int = 2_000, evidence: int = 3, view: GraphView | None = None,
) -> GraphFigure:
    """The entities and facts a read-only Cypher query returns (nodes, relationships, paths or ids).

    Returned relationships are drawn as they are in the view (a fact the view leaves out is not
    drawn); when the query returns entities but no relationship, the view's facts among them are.
    """
    _check_max(max_nodes)
    view = view if view is not None else read_view(store, include=include)
    rows = store.query(cypher, params)
    entity_ids: dict[str, None] = {}
    fact_ids: dict[str, None] = {}
    facts_by_id = {f.id: f for f in view.facts}
    outside = 0
    for row in rows:
        row_entities: dict[str, None] = {}
        row_facts: dict[str, None] = {}
        for value in row.values():
            _collect(value, view, row_entities, row_facts)
        if row_facts and not any(i in facts_by_id for i in row_facts):
            outside += len(row_facts)  # a row about a fact outside the view: none of it is drawn
            continue
        entity_ids.update(row_entities)
        fact_ids.update(row_facts)
    if fact_ids:
        facts = [facts_by_id[i] for i in fact_ids if i in facts_by_id]
    else:
        wanted = {view.canonical_id(i) for i in entity_ids}
        facts = [f for f in view.facts
                 if view.canonical_id(f.subject_id) in wanted and view.canonical_id(f.object_id) in wanted]
    nodes = {view.canonical_id(i) for i in entity_ids} | {
        view.canonical_id(x) for f in facts for x in (f.subject_id, f.object_id)}
    if len(nodes) > max_nodes:
        raise KgkitError(f"the query returns {len(nodes)} entities, more than max_nodes={max_nodes}; "
                         "add a LIMIT or pass a larger max_nodes")
    fig = view_figure(store, view, entity_ids, facts, title=f"query: {' '.join(cypher.split())[:80]}", evidence=evidence)
    outside += sum(i not in facts_by_id for i in fact_ids)
    if outside:
        fig.notes.append(f"{outside} returned fact(s) are not in the {view.include!r} view "
                         "(rejected by fusion: pass include='all' to draw them)")
    return fig


def _collect(value: Any, view: GraphView, entity_ids: dict[str, None], fact_ids: dict[str, None]) -> None:
    """Entity and fact ids in one query value (a node/edge dict, a path, a list, or an id string)."""
    if isinstance(value, dict):
        vid = value.get("id")
        if isinstance(vid, str):
            if "_type" in value:
                fact_ids[vid] = None
            elif view.canonical_id(vid) in view.entities:
                entity_ids[vid] = None
        for key in ("nodes", "edges"):
            if isinstance(value.get(key), list) and "_labels" not in value:
                _collect(value[key], view, entity_ids, fact_ids)
    elif isinstance(value, list):
        for x in value:
            _collect(x, view, entity_ids, fact_ids)
    elif isinstance(value, str) and view.canonical_id(value) in view.entities:
        entity_ids[value] = None


def answer_figure(
    store: "GraphStore", answer: "AskResult | Answer", *, include: str = "accepted", evidence: int = 3,
    view: GraphView | None = None,
) -> GraphFigure:
    """The subgraph the reasoner searched for a question, its cited facts (the ranked paths to the
    best answers) highlighted, and the topic entities and best answer marked."""
    from kgkit.reason.ask import AskResult, cited_facts

    if isinstance(answer, AskResult):
        ans, cited = answer.answer, {c.fact.id for c in answer.cited}
    else:
        ans, cited = answer, {f.id for f in cited_facts(answer)}
    view = view if view is not None else read_view(store, include=include)
    facts_by_id = {f.id: f for f in view.facts}
    facts = [facts_by_id[f.id] for f in ans.subgraph.facts if f.id in facts_by_id]
    marked = {e.name for e in ans.entities} | set(ans.names(1))
    ends = {view.canonical_id(x) for f in facts for x in (f.subject_id, f.object_id)}
    highlight = [i for i in ends if view.name(i) in marked]
    fig = view_figure(store, view, [], facts, title=f"ask: {ans.question}", evidence=evidence,
                      highlight_nodes=highlight, highlight_facts=cited)
    if not facts:
        fig.notes.append(ans.no_answer_reason or "the answer has no facts in the view")
    return fig
