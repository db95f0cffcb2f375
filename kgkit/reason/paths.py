"""Path search over a :class:`~kgkit.reason.graph.GraphIndex`: plain functions of a graph.

A *relation path* is a tuple of directed relation ids (see :mod:`kgkit.reason.graph`). Following it
from the topic entities gives a set of answers; enumerating every relation path up to ``max_hops``
(pruned by fan-out) gives the candidates a scorer ranks. Answers never include the topic entities
themselves, and walks do not pass back through them: "films that share a director with [X]" does
not answer X, nor reach X's own genre through X.

>>> from kgkit.reason.graph import GraphIndex
>>> g = GraphIndex.from_triples([("Heat", "directed_by", "Mann"), ("Thief", "directed_by", "Mann")])
>>> p = (g.directed_relation("directed_by"), g.directed_relation("directed_by", inverse=True))
>>> [g.names[i] for i in follow_path(g, [g.node_id("Heat")], p)]
['Thief']
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from kgkit.reason.graph import GraphIndex

__all__ = [
    "RelationPath",
    "CandidatePath",
    "follow_path",
    "enumerate_relation_paths",
    "shortest_path",
    "path_to_names",
    "path_from_names",
]

RelationPath = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CandidatePath:
    """A relation path from the topic entities and the answers it reaches."""

    path: RelationPath
    answers: np.ndarray  # node ids, sorted, topic entities removed
    truncated: bool = False  # a frontier on the way was cut to ``max_frontier``


def follow_path(
    graph: GraphIndex,
    sources: Sequence[int],
    path: RelationPath,
    *,
    max_frontier: int | None = None,
) -> np.ndarray:
    """The nodes reached from ``sources`` along ``path`` (sources excluded at every step).

    Args:
        graph: the index.
        sources: topic node ids.
        path: directed relation ids.
        max_frontier: cut any intermediate frontier to this many nodes (keeps high-degree hubs from
            blowing up a walk); ``None`` for no limit.
    """
    src = np.unique(np.asarray(sources, dtype=np.int64))
    frontier = src
    for step, drel in enumerate(path):
        frontier, _ = graph.expand(frontier, drel)
        frontier = frontier[~np.isin(frontier, src)]
        if max_frontier is not None and step < len(path) - 1 and frontier.shape[0] > max_frontier:
            frontier = frontier[:max_frontier]
        if frontier.shape[0] == 0:
            break
    return frontier


def enumerate_relation_paths(
    graph: GraphIndex,
    sources: Sequence[int],
    *,
    max_hops: int = 3,
    max_frontier: int = 2000,
    max_paths: int = 2000,
) -> list[CandidatePath]:
    """Every relation path of 1..``max_hops`` hops from ``sources`` that reaches at least one node.

    A bounded breadth-first search over relation sequences: each step expands the whole frontier
    through one directed relation. A frontier larger than ``max_frontier`` is not expanded further
    (the path is kept, its extensions are not), which bounds the work at very high-degree nodes.

    Args:
        graph: the index.
        sources: topic node ids.
        max_hops: longest path.
        max_frontier: largest frontier that is expanded again.
        max_paths: stop after this many candidate paths.
    """
    src = np.unique(np.asarray(sources, dtype=np.int64))
    out: list[CandidatePath] = []
    queue: deque[tuple[RelationPath, np.ndarray]] = deque([((), src)])
    while queue and len(out) < max_paths:
        path, frontier = queue.popleft()
        pos = graph.neighbour_slices(frontier)
        if pos.shape[0] == 0:
            continue
        drels = graph.adj_drel[pos]
        nbrs = graph.adj_nbr[pos]
        for d in np.unique(drels):
            nxt = np.unique(nbrs[drels == d])
            nxt = nxt[~np.isin(nxt, src)]
            if nxt.shape[0] == 0:
                continue
            new_path = path + (int(d),)
            big = nxt.shape[0] > max_frontier
            out.append(CandidatePath(new_path, nxt, truncated=big))
            if len(new_path) < max_hops and not big:
                queue.append((new_path, nxt))
            if len(out) >= max_paths:
                break
    return out


def shortest_path(graph: GraphIndex, start: int, goal: int, *, max_hops: int = 4) -> list[int] | None:
    """Bidirectional breadth-first search; the fact indices of one shortest path, or ``None``.

    Edges are used in both directions. Each round grows the smaller side, so the search touches
    far fewer nodes than a one-sided search when both ends have high degree.
    """
    if start == goal:
        return []
    parents = [{start: (-1, -1)}, {goal: (-1, -1)}]  # node -> (previous node, fact)
    frontiers = [[start], [goal]]
    hops = 0
    while frontiers[0] and frontiers[1] and hops < max_hops:
        side = 0 if len(frontiers[0]) <= len(frontiers[1]) else 1
        nxt: list[int] = []
        for node in frontiers[side]:
            lo, hi = graph.indptr[node], graph.indptr[node + 1]
            for p in range(lo, hi):
                nb = int(graph.adj_nbr[p])
                if nb in parents[side]:
                    continue
                parents[side][nb] = (node, int(graph.adj_edge[p]))
                if nb in parents[1 - side]:
                    return _join(parents, nb)
                nxt.append(nb)
        frontiers[side] = nxt
        hops += 1
    return None


def _join(parents: list[dict[int, tuple[int, int]]], meet: int) -> list[int]:
    left: list[int] = []
    node = meet
    while parents[0][node][0] != -1:
        node, fact = parents[0][node]
        left.append(fact)
    right: list[int] = []
    node = meet
    while parents[1][node][0] != -1:
        node, fact = parents[1][node]
        right.append(fact)
    return list(reversed(left)) + right


def path_to_names(graph: GraphIndex, path: RelationPath) -> str:
    """``"directed_by^-1/starred_actors"``: a path as relation names, portable across indexes."""
    return "/".join(graph.drel_name(d) for d in path)


def path_from_names(graph: GraphIndex, text: str) -> RelationPath | None:
    """Inverse of :func:`path_to_names`; ``None`` when a relation is not in this graph."""
    out: list[int] = []
    for part in text.split("/"):
        inv = part.endswith("^-1")
        name = part[:-3] if inv else part
        if not graph.has_relation(name):
            return None
        out.append(graph.directed_relation(name, inverse=inv))
    return tuple(out)
