"""Subgraphs of supporting facts, built under a size budget and verbalised into a prompt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from kgkit.reason.graph import GraphIndex
from kgkit.reason.paths import RelationPath

__all__ = ["SubgraphFact", "Subgraph", "supporting_chains", "build_subgraph"]


@dataclass(frozen=True, slots=True)
class SubgraphFact:
    """One fact of a subgraph, with the names shown to a reader or a model."""

    id: str
    subject: str
    predicate: str
    object: str
    index: int  # fact index in the GraphIndex

    def verbalize(self) -> str:
        return f"[{self.id}] {self.subject} -- {self.predicate} --> {self.object}"


@dataclass
class Subgraph:
    """The facts kept for a question, in the order they were added (best-supported first)."""

    facts: list[SubgraphFact] = field(default_factory=list)

    @property
    def fact_ids(self) -> set[str]:
        return {f.id for f in self.facts}

    @property
    def node_names(self) -> set[str]:
        return {f.subject for f in self.facts} | {f.object for f in self.facts}

    def contains_any(self, names: Iterable[str]) -> bool:
        nodes = self.node_names
        return any(n in nodes for n in names)

    def verbalize(self) -> str:
        """One line per fact: ``[fact id] subject -- predicate --> object``."""
        return "\n".join(f.verbalize() for f in self.facts)


def supporting_chains(
    graph: GraphIndex,
    sources: Sequence[int],
    path: RelationPath,
    answers: Sequence[int],
    *,
    chains_per_answer: int = 1,
) -> dict[int, list[list[int]]]:
    """Fact chains (fact indices, source to answer) along ``path`` for each of ``answers``.

    The forward frontiers are computed once; each answer is then traced backwards through nodes
    that were on the forward frontier of the previous step.
    """
    src = np.unique(np.asarray(sources, dtype=np.int64))
    src_set = set(src.tolist())
    frontiers: list[set[int]] = [src_set]
    cur = src
    for drel in path:
        nxt, _ = graph.expand(cur, drel)
        cur = nxt[~np.isin(nxt, src)]
        frontiers.append(set(cur.tolist()))
    out: dict[int, list[list[int]]] = {}
    for a in answers:
        a = int(a)
        if a not in frontiers[-1]:
            continue
        found: list[list[int]] = []
        _trace(graph, path, frontiers, a, len(path), [], found, chains_per_answer)
        if found:
            out[a] = found
    return out


def _trace(
    graph: GraphIndex, path: RelationPath, frontiers: list[set[int]], node: int, step: int,
    acc: list[int], found: list[list[int]], limit: int,
) -> None:
    if step == 0:
        found.append(list(reversed(acc)))
        return
    back = path[step - 1] ^ 1  # the same relation read the other way
    lo, hi = int(graph.indptr[node]), int(graph.indptr[node + 1])
    drels = graph.adj_drel[lo:hi]
    for p in np.nonzero(drels == back)[0]:
        prev = int(graph.adj_nbr[lo + p])
        if prev in frontiers[step - 1]:
            _trace(graph, path, frontiers, prev, step - 1, acc + [int(graph.adj_edge[lo + p])], found, limit)
            if len(found) >= limit:
                return


def build_subgraph(graph: GraphIndex, chains: Iterable[list[int]], *, max_facts: int = 60) -> Subgraph:
    """A subgraph of the facts of ``chains`` (best first), stopping before ``max_facts`` is passed.

    A chain is added whole or not at all, so every kept answer keeps a complete path to the topic.
    """
    sub = Subgraph()
    seen: set[int] = set()
    for chain in chains:
        new = [f for f in chain if f not in seen]
        if len(sub.facts) + len(new) > max_facts:
            if len(sub.facts) >= max_facts:
                break
            continue
        for f in new:
            seen.add(f)
            sub.facts.append(
                SubgraphFact(
                    id=graph.fact_id_of(f), subject=graph.names[graph.heads[f]],
                    predicate=graph.relations[graph.rels[f]], object=graph.names[graph.tails[f]], index=f,
                )
            )
    return sub
