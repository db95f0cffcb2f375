"""Read the store into what fusion needs: entities, facts, evidence, and matcher views."""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping

from kgkit.fuse.scoring import EntityView
from kgkit.ontology import Ontology
from kgkit.store.base import EntityRecord, FactRecord, GraphStore
from kgkit.types import Evidence

__all__ = ["GraphSnapshot", "load_snapshot", "build_views", "source_of"]


@dataclass
class GraphSnapshot:
    entities: dict[str, EntityRecord]
    facts: dict[str, FactRecord]
    evidence: dict[str, list[Evidence]]  # target id -> evidence

    def fact_sources(self, fact_id: str, publishers: Mapping[str, str] | None = None) -> dict[str, float]:
        """Source -> best extraction confidence among the fact's evidence."""
        out: dict[str, float] = {}
        for ev in self.evidence.get(fact_id, ()):
            src = source_of(ev, publishers)
            out[src] = max(out.get(src, 0.0), float(ev.confidence))
        return out


def source_of(ev: Evidence, publishers: Mapping[str, str] | None = None) -> str:
    """The source a piece of evidence counts for: a configured publisher, else its document.

    ``publishers`` maps glob patterns over document ids (``"news/*"``) to publisher names; an explicit
    ``source`` on the evidence (other than the document id) wins.
    """
    if ev.source and ev.source != ev.document_id:
        return ev.source
    for pattern, publisher in (publishers or {}).items():
        if fnmatch.fnmatchcase(ev.document_id, pattern):
            return publisher
    return ev.document_id


def load_snapshot(store: GraphStore) -> GraphSnapshot:
    entities = {e.id: e for e in store.iter_entities()}
    # Candidate facts a model proposed (kgkit embed predict) are not claims: fusion neither scores
    # nor resolves them, so their "candidate" status is never overwritten.
    facts = {f.id: f for f in store.iter_facts() if f.properties.get("fusion_status") != "candidate"}
    evidence: dict[str, list[Evidence]] = defaultdict(list)
    for ev in store.get_evidence():
        evidence[ev.target].append(ev)
    return GraphSnapshot(entities, facts, dict(evidence))


def build_views(snap: GraphSnapshot, ontology: Ontology) -> list[EntityView]:
    functional = set(ontology.functional_relations())
    views: dict[str, EntityView] = {}
    for e in snap.entities.values():
        merged = e.properties.get("merged_ids") or ()
        views[e.id] = EntityView(
            id=e.id, name=e.name, type=e.type, aliases=tuple(a for a in e.aliases if a),
            merged_ids=frozenset(merged), support=len(snap.evidence.get(e.id, ())),
            documents=frozenset(ev.document_id for ev in snap.evidence.get(e.id, ())),
        )
    for f in snap.facts.values():
        s, o = views.get(f.subject_id), views.get(f.object_id)
        if s is None or o is None:
            continue
        fact_evidence = snap.evidence.get(f.id, ())
        n_ev = len(fact_evidence)
        s.support += n_ev
        o.support += n_ev
        docs = frozenset(ev.document_id for ev in fact_evidence)
        s.documents |= docs
        o.documents |= docs
        s.neighbours.add(o.id)
        o.neighbours.add(s.id)
        s.facts.add(("out", f.predicate, o.id))
        o.facts.add(("in", f.predicate, s.id))
        s.fact_documents[("out", f.predicate, o.id)] = s.fact_documents.get(("out", f.predicate, o.id), frozenset()) | docs
        o.fact_documents[("in", f.predicate, s.id)] = o.fact_documents.get(("in", f.predicate, s.id), frozenset()) | docs
        if f.predicate in functional:
            s.functional.setdefault(f.predicate, set()).add(o.name)
    return sorted(views.values(), key=lambda v: v.id)
