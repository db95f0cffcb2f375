"""An in-memory, array-backed index of a graph for fast path search.

The index keeps every fact once (``heads``, ``rels``, ``tails``) and a CSR adjacency over *directed
relations*: relation ``r`` read forwards has id ``2*r`` and read backwards ``2*r + 1``, so a path may
walk an edge either way ("the films directed by X" walks ``directed_by`` backwards). Compact numpy
arrays keep MetaQA (43k entities, 134k facts) at a few megabytes and make a frontier expansion one
vectorised gather instead of a Python loop per neighbour.

Build it from a KB file (:func:`load_kb`) or from a store (:func:`index_from_store`).

>>> g = GraphIndex.from_triples([("Heat", "directed_by", "Michael Mann")])
>>> g.names[g.expand([g.node_id("Michael Mann")], g.directed_relation("directed_by", inverse=True))[0][0]]
'Heat'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from kgkit.errors import ConfigError
from kgkit.types import fact_id, normalize_name

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.store.base import GraphStore
    from kgkit.view import GraphView

__all__ = ["GraphIndex", "load_kb", "index_from_store", "KBFormatError"]


class KBFormatError(ConfigError):
    """A KB file line could not be parsed into (subject, relation, object)."""


@dataclass
class GraphIndex:
    """Entities, relations and facts of a graph as numpy arrays.

    Attributes:
        names: display name of each node (index = node id).
        node_keys: the store id of each node (the name itself for KB files).
        relations: relation names (index = relation id).
        heads, rels, tails: one entry per fact.
        indptr, adj_nbr, adj_drel, adj_edge: CSR adjacency; the neighbours of node ``n`` are
            ``adj_nbr[indptr[n]:indptr[n+1]]`` reached through directed relation ``adj_drel`` by fact
            ``adj_edge``.
        fact_ids: store fact ids, or ``None`` to derive them from names (KB files).
        aliases: extra surface names per node id, for entity linking.
        node_types: ontology entity type of each node (``""`` when unknown), for answer typing.
        confidences: the (fused) confidence of each fact, or ``None``; breaks ties between answers.
    """

    names: list[str]
    node_keys: list[str]
    relations: list[str]
    heads: np.ndarray
    rels: np.ndarray
    tails: np.ndarray
    indptr: np.ndarray = field(repr=False)
    adj_nbr: np.ndarray = field(repr=False)
    adj_drel: np.ndarray = field(repr=False)
    adj_edge: np.ndarray = field(repr=False)
    fact_ids: list[str] | None = field(default=None, repr=False)
    aliases: dict[int, tuple[str, ...]] = field(default_factory=dict, repr=False)
    node_types: list[str] | None = field(default=None, repr=False)
    confidences: np.ndarray | None = field(default=None, repr=False)
    _key_to_id: dict[str, int] = field(default_factory=dict, repr=False)
    _rel_to_id: dict[str, int] = field(default_factory=dict, repr=False)

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def from_triples(
        cls,
        triples: Iterable[tuple[str, str, str]],
        *,
        names: dict[str, str] | None = None,
        fact_ids: Sequence[str] | None = None,
        aliases: dict[str, Sequence[str]] | None = None,
        types: dict[str, str] | None = None,
        confidences: Sequence[float] | None = None,
    ) -> "GraphIndex":
        """Build an index from ``(subject_key, relation, object_key)`` triples.

        Args:
            triples: the facts; keys are node identities (names for KB files, ids for stores).
            names: display name per key (defaults to the key).
            fact_ids: one id per triple, in order (defaults to ids derived from the keys).
            aliases: extra surface names per key.
            types: ontology entity type per key (unknown types stay ``""``).
            confidences: one confidence per triple, in order.
        """
        key_to_id: dict[str, int] = {}
        rel_to_id: dict[str, int] = {}
        h: list[int] = []
        r: list[int] = []
        t: list[int] = []
        for s, p, o in triples:
            h.append(key_to_id.setdefault(s, len(key_to_id)))
            r.append(rel_to_id.setdefault(p, len(rel_to_id)))
            t.append(key_to_id.setdefault(o, len(key_to_id)))
        keys = list(key_to_id)
        disp = [names.get(k, k) for k in keys] if names else keys
        heads = np.asarray(h, dtype=np.int32)
        rels = np.asarray(r, dtype=np.int32)
        tails = np.asarray(t, dtype=np.int32)
        indptr, nbr, drel, edge = _build_csr(len(keys), heads, rels, tails)
        if fact_ids is not None and len(fact_ids) != len(h):
            raise ConfigError(f"got {len(fact_ids)} fact ids for {len(h)} triples; pass one id per triple")
        if confidences is not None and len(confidences) != len(h):
            raise ConfigError(f"got {len(confidences)} confidences for {len(h)} triples; pass one per triple")
        alias_map: dict[int, tuple[str, ...]] = {}
        for k, al in (aliases or {}).items():
            if k in key_to_id and al:
                alias_map[key_to_id[k]] = tuple(al)
        return cls(
            names=disp, node_keys=keys, relations=list(rel_to_id), heads=heads, rels=rels, tails=tails,
            indptr=indptr, adj_nbr=nbr, adj_drel=drel, adj_edge=edge,
            fact_ids=list(fact_ids) if fact_ids is not None else None, aliases=alias_map,
            node_types=[types.get(k, "") for k in keys] if types else None,
            confidences=np.asarray(confidences, dtype=np.float32) if confidences is not None else None,
            _key_to_id=key_to_id, _rel_to_id=rel_to_id,
        )

    # -- lookups ---------------------------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        return len(self.names)

    @property
    def num_facts(self) -> int:
        return int(self.heads.shape[0])

    @property
    def num_directed_relations(self) -> int:
        return 2 * len(self.relations)

    def node_id(self, key: str) -> int:
        """Node id of a key (a KB name or a store id); raises ``KeyError`` when unknown."""
        return self._key_to_id[key]

    def has_node(self, key: str) -> bool:
        return key in self._key_to_id

    def has_relation(self, relation: str) -> bool:
        return relation in self._rel_to_id

    def directed_relation(self, relation: str, *, inverse: bool = False) -> int:
        """Directed relation id of ``relation`` read forwards (or backwards with ``inverse``)."""
        return 2 * self._rel_to_id[relation] + int(inverse)

    def drel_name(self, drel: int) -> str:
        """``"directed_by"`` or ``"directed_by^-1"`` for a directed relation id."""
        base = self.relations[drel // 2]
        return base + "^-1" if drel % 2 else base

    def drel_text(self, drel: int) -> str:
        """A readable phrase for a directed relation, used to embed paths ("directed by (reverse)")."""
        words = self.relations[drel // 2].replace("_", " ").replace(":", " ")
        words = "".join(" " + c.lower() if c.isupper() else c for c in words).strip()
        return f"{words} (reverse)" if drel % 2 else words

    def node_type(self, node: int) -> str:
        """The ontology type of a node, ``""`` when the index has none."""
        return self.node_types[node] if self.node_types is not None else ""

    def degree(self, node: int) -> int:
        return int(self.indptr[node + 1] - self.indptr[node])

    def fact_id_of(self, edge: int) -> str:
        """The fact id of fact ``edge``: the store's id, or one derived from the names."""
        if self.fact_ids is not None:
            return self.fact_ids[edge]
        return fact_id(self.node_keys[self.heads[edge]], self.relations[self.rels[edge]], self.node_keys[self.tails[edge]])

    def normalized_names(self) -> list[str]:
        return [normalize_name(n) for n in self.names]

    # -- traversal -------------------------------------------------------------------------------
    def neighbour_slices(self, frontier: np.ndarray) -> np.ndarray:
        """Positions into the adjacency arrays of every edge leaving ``frontier`` (vectorised)."""
        frontier = np.asarray(frontier, dtype=np.int64)
        starts = self.indptr[frontier]
        lens = self.indptr[frontier + 1] - starts
        total = int(lens.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64)
        offsets = np.repeat(starts - np.cumsum(lens) + lens, lens)
        return offsets + np.arange(total, dtype=np.int64)

    def expand(self, frontier: Sequence[int] | np.ndarray, drel: int) -> tuple[np.ndarray, np.ndarray]:
        """Follow directed relation ``drel`` from every node of ``frontier``.

        Returns:
            ``(nodes, positions)``: the distinct nodes reached, and the adjacency positions used
            (to recover facts and their sources).
        """
        pos = self.neighbour_slices(np.asarray(frontier))
        pos = pos[self.adj_drel[pos] == drel]
        return np.unique(self.adj_nbr[pos]), pos

    def out_relations(self, frontier: Sequence[int] | np.ndarray) -> np.ndarray:
        """The distinct directed relations leaving ``frontier``."""
        pos = self.neighbour_slices(np.asarray(frontier))
        return np.unique(self.adj_drel[pos])

    def memory_bytes(self) -> int:
        """Bytes held by the numpy arrays (names and dictionaries not included)."""
        arrs = (self.heads, self.rels, self.tails, self.indptr, self.adj_nbr, self.adj_drel, self.adj_edge)
        return int(sum(a.nbytes for a in arrs))


def _build_csr(
    n: int, heads: np.ndarray, rels: np.ndarray, tails: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    m = heads.shape[0]
    src = np.concatenate([heads, tails])
    dst = np.concatenate([tails, heads])
    drel = np.concatenate([2 * rels, 2 * rels + 1]).astype(np.int32)
    edge = np.concatenate([np.arange(m, dtype=np.int32)] * 2)
    order = np.lexsort((dst, drel, src))
    counts = np.bincount(src, minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, dst[order].astype(np.int32), drel[order], edge[order]


def load_kb(path: str | Path, *, separator: str | None = None) -> GraphIndex:
    """Load a KB file of ``subject|relation|object`` (MetaQA) or tab-separated lines.

    Exact duplicate lines are kept once.

    Args:
        path: the KB file.
        separator: field separator; detected from the first line when ``None`` (tab, else ``|``).

    Raises:
        KBFormatError: a line does not have three fields.
        ConfigError: the file does not exist.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"KB file {p} not found; pass --kb with the path of a subject|relation|object file")
    seen: set[tuple[str, str, str]] = set()
    triples: list[tuple[str, str, str]] = []
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            sep = separator or ("\t" if "\t" in line else "|")
            parts = line.split(sep)
            if len(parts) != 3:
                raise KBFormatError(
                    f"{p}:{lineno}: expected 3 fields separated by {sep!r}, got {len(parts)}; "
                    "fix the line or pass the right separator"
                )
            tr = (parts[0].strip(), parts[1].strip(), parts[2].strip())
            if tr not in seen:
                seen.add(tr)
                triples.append(tr)
    return GraphIndex.from_triples(triples)


def index_from_store(store: "GraphStore", *, include: str = "accepted", view: "GraphView | None" = None) -> GraphIndex:
    """Build an index from the view of ``store`` (keys are store ids, names displayed).

    The index holds what :func:`kgkit.view.read_view` shows: by default the facts fusion accepted,
    so an answer or a cited fact is never one fusion rejected; ``include="all"`` shows everything.

    Args:
        store: an open store.
        include: ``"accepted"`` (default) or ``"all"``.
        view: a view already read (then ``store`` and ``include`` are not used).
    """
    from kgkit.view import read_view

    if view is None:
        view = read_view(store, include=include)
    names: dict[str, str] = {}
    aliases: dict[str, Sequence[str]] = {}
    types: dict[str, str] = {}
    for e in view.entities.values():
        names[e.id] = e.name
        types[e.id] = e.type
        if e.aliases:
            aliases[e.id] = e.aliases
    triples = [(f.subject_id, f.predicate, f.object_id) for f in view.facts]
    return GraphIndex.from_triples(triples, names=names, fact_ids=[f.id for f in view.facts], aliases=aliases,
                                   types=types, confidences=[f.confidence for f in view.facts])
