"""``show``: one entry point that picks the figure from what it is given (behind ``kg.show`` and
``kgkit show``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kgkit.errors import ConfigError
from kgkit.viz.figure import GraphFigure
from kgkit.viz.views import DEFAULT_MAX_NODES, answer_figure, entity_figure, query_figure

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.store.base import GraphStore

__all__ = ["show", "looks_like_cypher"]

# MATCH (...), MATCH p = (...), UNWIND ... AS ..., WITH/CALL ... RETURN ...; a name such as "Match Point"
# or "Return to Oz" is not a query (anything else: pass kind="cypher").
_CYPHER_START = re.compile(
    r"^\s*(?:(?:OPTIONAL\s+)?MATCH\s*(?:\w+\s*=\s*)?\(|UNWIND\s.+\sAS\s|(?:WITH|CALL)\s.*\bRETURN\b)",
    re.IGNORECASE | re.DOTALL)
KINDS = ("auto", "entity", "cypher")


def looks_like_cypher(text: str) -> bool:
    """Whether ``text`` reads as a Cypher query (``MATCH (``, ``WITH ``, ...) rather than a name.

    >>> looks_like_cypher("MATCH (p:Person) RETURN p"), looks_like_cypher("Match Point")
    (True, False)
    >>> looks_like_cypher("UNWIND $ids AS i MATCH (e {id: i}) RETURN e"), looks_like_cypher("Return to Oz")
    (True, False)
    """
    return bool(_CYPHER_START.match(text))


def show(
    store: "GraphStore", target: Any, params: Mapping[str, Any] | None = None, *, kind: str = "auto",
    hops: int = 1, include: str = "accepted", max_nodes: int | None = None, evidence: int = 3,
) -> GraphFigure:
    """A figure of ``target``: an entity (id, name or alias), a Cypher query (with ``params``), or an
    answer (``AskResult`` of ``kg.ask`` / ``ask_store``, or a reasoner ``Answer``).

    Args:
        store: an open graph store.
        target: what to draw.
        params: Cypher parameters (a query only).
        kind: ``auto`` (default: an answer object, a string that reads as Cypher, else an entity),
            ``entity`` or ``cypher``.
        hops: an entity's neighbourhood radius.
        include: ``accepted`` (what fusion kept) or ``all`` (rejected facts too, drawn red).
        max_nodes: at most this many nodes (default 300 around an entity, 2,000 for a query).
        evidence: evidence sentences per fact shown when it is clicked (0: read none).
    """
    from kgkit.reason.ask import AskResult
    from kgkit.reason.reasoner import Answer

    if kind not in KINDS:
        raise ConfigError(f"unknown kind {kind!r}; choose one of: {', '.join(KINDS)}")
    if isinstance(target, (AskResult, Answer)):
        return answer_figure(store, target, include=include, evidence=evidence)
    if not isinstance(target, str):
        raise ConfigError(f"cannot show a {type(target).__name__}; pass an entity name or id, a Cypher query, "
                          "or the result of kg.ask(...)")
    if kind == "cypher" or (kind == "auto" and (params is not None or looks_like_cypher(target))):
        return query_figure(store, target, params, include=include, max_nodes=2_000 if max_nodes is None else max_nodes, evidence=evidence)
    if params is not None:
        raise ConfigError("params are for a Cypher query; an entity takes none (or pass kind='cypher')")
    return entity_figure(store, target, hops=hops, include=include, max_nodes=DEFAULT_MAX_NODES if max_nodes is None else max_nodes,
                         evidence=evidence)
