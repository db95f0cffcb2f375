"""One view of the truth: the graph every later stage reads after fusion has decided.

Fusion records its decisions in the store (see :mod:`kgkit.fuse.fusion`): a fact that lost a
conflict keeps ``fusion_status = "rejected"``, every scored fact gets ``fused_confidence``, and merged
entities are folded into their canonical entity (which keeps the members' ids in ``merged_ids``).
:func:`read_view` turns that into what the reasoner (``kgkit ask``), the KGE export
(:mod:`kgkit.embed.graph`), ``kgkit export`` and :meth:`kgkit.api.KnowledgeGraph.to_networkx` read, so
a decision taken once holds everywhere.

The default, ``include="accepted"``:

* facts fusion rejected are left out;
* every fact carries its fused confidence (the extraction confidence where fusion has not run);
* an entity is seen as its canonical entity: :meth:`GraphView.canonical_id` maps a merged member's
  old id to it; entities whose every fact was rejected (a value only a losing claim named, such as
  the wrong birth date) are left out too.

Facts a model proposed by link prediction (``kgkit embed predict``; ``fusion_status = "candidate"``,
see :mod:`kgkit.store.candidate_ops`) are never accepted: the default view leaves them out.

``include="all"`` (``--audit`` on the CLI) shows everything, rejected and candidate facts included,
each with its ``status``.

>>> from kgkit.store.embedded import FalkorDBStore      # doctest: +SKIP
>>> view = read_view(store)                               # doctest: +SKIP
>>> [(f.subject_id, f.predicate, f.object_id, f.confidence) for f in view.facts][:1]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

from kgkit.errors import ConfigError

from kgkit.store.base import EntityRecord, FactRecord

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.store.base import GraphStore

__all__ = ["Include", "INCLUDE_CHOICES", "GraphView", "read_view", "check_include"]

Include = Literal["accepted", "all"]
INCLUDE_CHOICES: tuple[str, ...] = get_args(Include)


def check_include(include: str) -> Include:
    """``include`` if it is a known choice.

    Raises:
        ConfigError: anything else (the message lists the choices).
    """
    if include not in INCLUDE_CHOICES:
        raise ConfigError(f"unknown view {include!r}; choose one of: {', '.join(INCLUDE_CHOICES)} "
                          "(accepted: what fusion kept; all: everything, for auditing)")
    return include  # type: ignore[return-value]


@dataclass
class GraphView:
    """Entities and facts as every reader should see them.

    Attributes:
        include: ``"accepted"`` or ``"all"``.
        entities: entity id -> record, for the entities in the view.
        facts: the facts in the view (``confidence`` is the fused confidence where fusion scored them).
        rejected: ids of the facts fusion rejected (left out of ``facts`` unless ``include="all"``).
        candidates: ids of the candidate facts a model proposed (left out unless ``include="all"``).
    """

    include: Include
    entities: dict[str, EntityRecord]
    facts: list[FactRecord]
    rejected: frozenset[str] = frozenset()
    candidates: frozenset[str] = frozenset()
    _canonical: dict[str, str] = field(default_factory=dict, repr=False)

    def canonical_id(self, entity_id: str) -> str:
        """The id an entity is seen under: its canonical entity's id when fusion merged it away."""
        return self._canonical.get(entity_id, entity_id)

    def status(self, fact: FactRecord) -> str:
        """``"rejected"``, ``"chosen"`` (won a conflict), ``"candidate"`` (proposed by a model, never
        accepted) or ``"accepted"`` (never in a conflict)."""
        return str(fact.properties.get("fusion_status") or "accepted")

    def name(self, entity_id: str) -> str:
        e = self.entities.get(self.canonical_id(entity_id))
        return e.name if e is not None else entity_id


def read_view(store: "GraphStore", *, include: str = "accepted", min_confidence: float = 0.0) -> GraphView:
    """Read the view of ``store``: see the module docstring for what ``include`` keeps.

    Args:
        store: an open graph store.
        include: ``"accepted"`` (default) or ``"all"``.
        min_confidence: also leave out facts whose (fused) confidence is below this.

    Raises:
        ConfigError: an unknown ``include``.
    """
    include = check_include(include)
    entities = {e.id: e for e in store.iter_entities()}
    canonical: dict[str, str] = {}
    for e in entities.values():
        for old in e.properties.get("merged_ids") or ():
            if old != e.id:
                canonical[str(old)] = e.id
    kept: list[FactRecord] = []
    rejected: set[str] = set()
    candidates: set[str] = set()
    lost: set[str] = set()  # endpoints of rejected facts
    for f in store.iter_view_facts(include_rejected=True):
        if f.properties.get("fusion_status") == "candidate":
            candidates.add(f.id)
            if include == "accepted":
                continue
        elif f.properties.get("fusion_status") == "rejected":
            rejected.add(f.id)
            lost.update((f.subject_id, f.object_id))
            if include == "accepted":
                continue
        if f.confidence >= min_confidence:
            kept.append(f)
    if include == "accepted" and lost:
        # An entity named only by losing claims (the wrong date) is not part of the accepted graph.
        touched = {x for f in kept for x in (f.subject_id, f.object_id)}
        entities = {k: v for k, v in entities.items() if k in touched or k not in lost}
    kept.sort(key=lambda f: f.id)
    return GraphView(include, entities, kept, frozenset(rejected), frozenset(candidates), canonical)
