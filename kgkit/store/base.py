"""The :class:`GraphStore` protocol and a Cypher-backed base class shared by FalkorDB and Neo4j.

Graph model (identical in every store)::

    (:Document {id, path, content_hash, title, media_type})
    (:Entity:<Type> {id, name, type, norm, aliases})
    (:Entity)-[:<REL_TYPE> {id, predicate, confidence}]->(:Entity)     one relationship per fact
    (:Evidence {id, kind, target, document_id, chunk_id, start, end,
                extractor, extractor_version, confidence, text, source,
                subject, object, rel_type})                             one node per supporting span

A fact exists while at least one Evidence node targets it; an entity exists while it has a
relationship or a mention. Retracting a document deletes its evidence and then whatever lost its
last support. Because every id is deterministic, every write is an idempotent ``MERGE``.
"""

from __future__ import annotations

import abc
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Protocol, Sequence, runtime_checkable

from kgkit.ontology import relationship_type, validate_identifier
from kgkit.store import cypher as Q
from kgkit.store.batching import Phase, Statement, batches, fact_phases, spread
from kgkit.store.readonly import check_read_only_query
from kgkit.store.candidate_ops import CandidateOpsMixin
from kgkit.store.fusion_ops import FusionOpsMixin
from kgkit.types import Document, Entity, Evidence, GraphStats, RetractionResult, Triple, normalize_name

__all__ = ["GraphStore", "CypherGraphStore", "FactRecord", "EntityRecord", "WriteResult"]

DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class EntityRecord:
    id: str
    name: str
    type: str
    aliases: tuple[str, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FactRecord:
    id: str
    subject_id: str
    predicate: str  # ontology relation name, e.g. "bornIn"
    rel_type: str  # relationship type, e.g. "BORN_IN"
    object_id: str
    confidence: float
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WriteResult:
    entities: int
    facts: int
    evidence: int


@runtime_checkable
class GraphStore(Protocol):
    """What every kgkit store provides. ``kgkit.store.testing`` checks a store against it."""

    name: str

    def open(self) -> None: ...
    def close(self) -> None: ...
    def ensure_schema(self) -> None: ...
    def clear(self) -> None: ...

    def upsert_documents(self, documents: Sequence[Document]) -> int: ...
    def upsert_entities(self, entities: Sequence[Entity]) -> int: ...
    def write_triples(self, triples: Sequence[Triple], mentions: Sequence[tuple[Entity, Evidence]] = ()) -> WriteResult: ...
    def retract_document(self, document_id: str, *, delete_document: bool = False) -> RetractionResult: ...

    def query(self, cypher: str, params: Mapping[str, Any] | None = None, *, write: bool = False) -> list[dict[str, Any]]: ...
    def stats(self) -> GraphStats: ...

    def iter_entities(self) -> Iterator[EntityRecord]: ...
    def iter_facts(self) -> Iterator[FactRecord]: ...
    def get_evidence(self, *, target: str | None = None, document_id: str | None = None) -> list[Evidence]: ...
    def document_ids(self) -> set[str]: ...
    def iter_view_facts(self, *, include_rejected: bool = False) -> Iterator[FactRecord]: ...

    def delete_facts(self, fact_ids: Sequence[str]) -> int: ...
    def delete_entities(self, entity_ids: Sequence[str]) -> int: ...
    def set_entity_properties(self, rows: Sequence[tuple[str, Mapping[str, Any]]]) -> int: ...
    def set_fact_properties(self, rows: Sequence[tuple[str, Mapping[str, Any]]]) -> int: ...

    # fusion (kgkit.store.fusion_ops): exact pre-images and rewrites, and the fusion log
    def entity_images(self, ids: Iterable[str]) -> dict[str, dict[str, Any] | None]: ...
    def fact_images(self, ids: Iterable[str]) -> dict[str, dict[str, Any] | None]: ...
    def evidence_images(self, ids: Iterable[str]) -> dict[str, dict[str, Any] | None]: ...
    def replace_entities(self, rows: Sequence[tuple[Sequence[str], Mapping[str, Any]]]) -> int: ...
    def create_facts(self, rows: Sequence[tuple[str, str, str, Mapping[str, Any]]]) -> int: ...
    def delete_evidence(self, evidence_ids: Sequence[str]) -> int: ...
    def replace_evidence(self, rows: Sequence[Mapping[str, Any]]) -> int: ...
    def update_evidence(self, rows: Sequence[tuple[str, Mapping[str, Any]]]) -> int: ...
    def set_fact_properties_of(self, rows: Sequence[tuple[str, str, Mapping[str, Any]]]) -> int: ...
    def add_fusion_records(self, label: str, rows: Sequence[Mapping[str, Any]]) -> int: ...
    def fusion_records(self, label: str, run_id: str | None = None) -> list[dict[str, Any]]: ...
    def update_fusion_record(self, label: str, record_id: str, props: Mapping[str, Any]) -> int: ...
    def fusion_runs(self) -> list[dict[str, Any]]: ...
    def delete_fusion_run(self, run_id: str) -> int: ...

    # candidate facts proposed by a model (kgkit.store.candidate_ops)
    def write_candidate_facts(self, model_id: str, rows: Sequence[Mapping[str, Any]]) -> int: ...
    def candidate_facts(self, model_id: str | None = None) -> list[FactRecord]: ...
    def candidate_facts_of_entities(self, entity_ids: Sequence[str]) -> list[FactRecord]: ...
    def delete_candidate_facts(self, model_id: str | None = None) -> int: ...


class CypherGraphStore(FusionOpsMixin, CandidateOpsMixin, abc.ABC):
    """A :class:`GraphStore` written once in Cypher; subclasses supply the connection and dialect.

    Subclasses implement :meth:`_run` (execute one statement, return rows as dicts) and
    :meth:`_schema_statements`; everything else is shared so both stores behave the same.
    """

    name = "cypher"

    #: concurrent write transactions; stores whose server can run writes in parallel raise it.
    writers: int = 1

    def __init__(self, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.batch_size = batch_size

    # -- to implement ---------------------------------------------------------------------------
    @abc.abstractmethod
    def open(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def _run(self, cypher: str, params: Mapping[str, Any] | None = None, *, write: bool = True) -> list[dict[str, Any]]:
        """Run one statement. ``write=False`` must be enforced read-only by the server."""

    @abc.abstractmethod
    def _schema_statements(self) -> list[str]: ...

    def _run_phase(self, phase: Phase) -> list[tuple[Statement, list[dict[str, Any]]]]:
        """Run the jobs of one write phase (see :mod:`kgkit.store.batching`); here, in order.

        Returns each statement with its result rows.
        """
        return [((stmt, params), self._run(stmt, params)) for job in phase for stmt, params in job]

    def _run_independent(self, statements: list[Statement]) -> list[tuple[Statement, list[dict[str, Any]]]]:
        return self._run_phase(spread(statements, self.writers))

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> "CypherGraphStore":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ensure_schema(self) -> None:
        for stmt in self._schema_statements():
            self._run(stmt)

    def _ensure_schema_or_close(self) -> None:
        """For :meth:`open`: create the schema, or close what was opened and re-raise."""
        try:
            self.ensure_schema()
        except BaseException:
            self.close()
            raise

    def clear(self) -> None:
        self._run(Q.CLEAR)

    # -- writes ---------------------------------------------------------------------------------
    def upsert_documents(self, documents: Sequence[Document]) -> int:
        rows = [
            {"id": d.id, "path": d.path, "content_hash": d.content_hash, "title": d.title or "", "media_type": d.media_type}
            for d in documents
        ]
        for batch in batches(rows, self.batch_size):
            self._run(Q.UPSERT_DOCUMENTS, {"rows": batch})
        return len(rows)

    def upsert_entities(self, entities: Sequence[Entity]) -> int:
        rows_by_label = _entity_rows(entities)
        self._write_entities(rows_by_label)
        return sum(len(rows) for rows in rows_by_label.values())

    def _write_entities(self, rows_by_label: Mapping[str, list[dict[str, Any]]]) -> Mapping[str, str]:
        """Upsert entity rows; a store may return handles (entity id -> its own node reference)
        that :meth:`_write_facts` uses to find the endpoints faster. Here: none."""
        self._run_independent([
            (Q.upsert_entities(label), {"rows": b}) for label, rows in rows_by_label.items() for b in batches(rows, self.batch_size)
        ])
        return {}

    def _write_facts(self, rows_by_type: Mapping[str, list[dict[str, Any]]], handles: Mapping[str, str]) -> None:
        """Upsert fact rows (``id, s, o, p, c``) per relationship type, as planned by :func:`fact_phases`."""
        for phase in fact_phases(rows_by_type, Q.upsert_facts, batch_size=self.batch_size, writers=self.writers):
            self._run_phase(phase)

    def write_triples(
        self, triples: Sequence[Triple], mentions: Sequence[tuple[Entity, Evidence]] = ()
    ) -> WriteResult:
        """Upsert the entities, facts and evidence of ``triples`` (and entity ``mentions``)."""
        # Validate every relationship type and label before writing anything, so that a hostile or
        # malformed name refuses the whole call instead of leaving its entities behind.
        rel_of = {p: relationship_type(p) for p in {t.predicate for t in triples}}
        entities = [t.subject for t in triples] + [t.object for t in triples] + [e for e, _ in mentions]
        rows_by_label = _entity_rows(entities)  # validates every label
        handles = self._write_entities(rows_by_label)
        n_entities = sum(len(rows) for rows in rows_by_label.values())
        facts: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        evidence: dict[str, dict[str, Any]] = {}
        for t in triples:
            rel, fid, sid, oid = rel_of[t.predicate], t.id, t.subject.id, t.object.id
            prev = facts[rel].get(fid)
            conf = max(t.confidence, prev["c"]) if prev else t.confidence
            facts[rel][fid] = {"id": fid, "s": sid, "o": oid, "p": t.predicate, "c": conf}
            ev = Evidence.for_triple(t, fact_id=fid)
            evidence[ev.id] = _evidence_row(ev, subject=sid, obj=oid, rel_type=rel)
        for _ent, ev in mentions:
            evidence[ev.id] = _evidence_row(ev)
        rows_by_type = {rel: list(rows_by_id.values()) for rel, rows_by_id in facts.items()}
        self._write_facts(rows_by_type, handles)
        ev_rows = list(evidence.values())
        self._run_independent([(Q.UPSERT_EVIDENCE, {"rows": b}) for b in batches(ev_rows, self.batch_size)])
        return WriteResult(n_entities, sum(len(r) for r in rows_by_type.values()), len(ev_rows))

    def retract_document(self, document_id: str, *, delete_document: bool = False) -> RetractionResult:
        """Remove a document's evidence, then every fact and entity left with no support."""
        targets = self._run(Q.EVIDENCE_TARGETS_OF_DOCUMENT, {"doc": document_id}, write=False)
        n_ev = self._count(Q.DELETE_EVIDENCE_OF_DOCUMENT, {"doc": document_id})
        fact_rows = [r for r in targets if r["kind"] == "fact"]
        candidates = {r["target"] for r in targets if r["kind"] == "mention"}
        for r in fact_rows:
            candidates.update((r["subject"], r["object"]))
        dead = self._unsupported([r["target"] for r in fact_rows])
        ends = {r["target"]: (r["subject"], r["object"]) for r in fact_rows}
        dead_rows = [{"id": f, "s": ends[f][0], "o": ends[f][1]} for f in sorted(dead)]
        n_facts = sum(self._count(Q.DELETE_FACTS_ANCHORED, {"rows": b}) for b in batches(dead_rows, self.batch_size))
        n_ent = self._delete_orphan_entities(sorted(c for c in candidates if c))
        if delete_document:
            self._run(Q.DELETE_DOCUMENT, {"doc": document_id})
        return RetractionResult(document_id, n_ev, n_facts, n_ent)

    def delete_facts(self, fact_ids: Sequence[str]) -> int:
        if not fact_ids:
            return 0
        n = 0
        for batch in batches(fact_ids, self.batch_size):
            n += self._count(Q.DELETE_FACTS, {"ids": batch})
        return n

    def delete_entities(self, entity_ids: Sequence[str]) -> int:
        n = 0
        for batch in batches(entity_ids, self.batch_size):
            n += self._count(Q.DELETE_ENTITIES, {"ids": batch})
        return n

    def set_entity_properties(self, rows: Sequence[tuple[str, Mapping[str, Any]]]) -> int:
        return self._set_props(Q.SET_ENTITY_PROPERTIES, rows)

    def set_fact_properties(self, rows: Sequence[tuple[str, Mapping[str, Any]]]) -> int:
        return self._set_props(Q.SET_FACT_PROPERTIES, rows)

    def _set_props(self, stmt: str, rows: Sequence[tuple[str, Mapping[str, Any]]]) -> int:
        n = 0
        payload = [{"id": i, "props": dict(p)} for i, p in rows]
        for p in payload:
            for k in p["props"]:
                validate_identifier(k, "property name")
        for batch in batches(payload, self.batch_size):
            n += self._count(stmt, {"rows": batch})
        return n

    def _unsupported(self, fact_ids: Iterable[str]) -> set[str]:
        ids = sorted(set(fact_ids))
        dead: set[str] = set()
        for batch in batches(ids, self.batch_size):
            for r in self._run(Q.EVIDENCE_COUNTS, {"ids": batch}, write=False):
                if r["n"] == 0:
                    dead.add(r["id"])
        return dead

    def _delete_orphan_entities(self, entity_ids: Sequence[str]) -> int:
        n = 0
        for batch in batches(entity_ids, self.batch_size):
            n += self._count(Q.DELETE_ORPHAN_ENTITIES, {"ids": batch})
        return n

    def _count(self, stmt: str, params: Mapping[str, Any]) -> int:
        rows = self._run(stmt, params)
        return int(rows[0]["n"]) if rows else 0

    # -- reads ----------------------------------------------------------------------------------
    def query(self, cypher: str, params: Mapping[str, Any] | None = None, *, write: bool = False) -> list[dict[str, Any]]:
        """Run user Cypher. Read-only unless ``write=True``; parameters are always passed separately."""
        if write:
            return self._run(cypher, params or {}, write=True)
        return self._run_read_only(cypher, params or {})

    def _run_read_only(self, cypher: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """User Cypher in read-only mode: the guard of :mod:`kgkit.store.readonly`; stores add their budget."""
        check_read_only_query(cypher, params)
        return self._run(cypher, params, write=False)

    def stats(self) -> GraphStats:
        """Counts; ``facts`` are the view's (see :class:`~kgkit.types.GraphStats`), rejected and
        candidate facts are counted apart."""
        ent_types = {r["t"]: int(r["c"]) for r in self._run(Q.ENTITY_TYPE_COUNTS, write=False)}
        rel_types: dict[str, int] = {}
        apart = {"rejected": 0, "candidate": 0}
        for r in self._run(Q.REL_TYPE_COUNTS, write=False):
            if r["st"] in apart:
                apart[r["st"]] += int(r["c"])
            else:
                rel_types[r["t"]] = rel_types.get(r["t"], 0) + int(r["c"])
        docs = self._run(Q.COUNT_LABEL["Document"], write=False)[0]["c"]
        ev = self._run(Q.COUNT_LABEL["Evidence"], write=False)[0]["c"]
        return GraphStats(
            documents=int(docs), entities=sum(ent_types.values()), facts=sum(rel_types.values()),
            evidence=int(ev), entity_types=dict(sorted(ent_types.items())), relation_types=dict(sorted(rel_types.items())),
            rejected_facts=apart["rejected"], candidate_facts=apart["candidate"],
        )

    def iter_entities(self) -> Iterator[EntityRecord]:
        for r in self._run(Q.ALL_ENTITIES, write=False):
            props = {k: v for k, v in (r["props"] or {}).items() if k not in {"id", "name", "type", "aliases", "norm"}}
            yield EntityRecord(r["id"], r["name"], r["type"], tuple(r["aliases"] or ()), props)

    def iter_facts(self) -> Iterator[FactRecord]:
        for r in self._run(Q.ALL_FACTS, write=False):
            props = {k: v for k, v in (r["props"] or {}).items() if k not in {"id", "predicate", "confidence"}}
            yield FactRecord(r["id"], r["s"], r["p"], r["rel"], r["o"], float(r["c"] or 0.0), props)

    def get_evidence(self, *, target: str | None = None, document_id: str | None = None) -> list[Evidence]:
        if target is not None:
            rows = self._run(Q.EVIDENCE_BY_TARGET, {"t": target}, write=False)
        elif document_id is not None:
            rows = self._run(Q.EVIDENCE_BY_DOCUMENT, {"doc": document_id}, write=False)
        else:
            rows = self._run(Q.ALL_EVIDENCE, write=False)
        return [_evidence_from_row(r["e"]) for r in rows]

    def document_ids(self) -> set[str]:
        return {r["id"] for r in self._run(Q.DOCUMENT_IDS, write=False)}

    def iter_view_facts(self, *, include_rejected: bool = False) -> Iterator[FactRecord]:
        """The facts every reader sees (see :mod:`kgkit.view`): ``confidence`` is fusion's
        ``fused_confidence`` where fusion scored the fact, else the extraction confidence; facts
        fusion rejected in a conflict (``fusion_status = 'rejected'``) and candidate facts a model
        proposed (``'candidate'``) are left out unless ``include_rejected``. ``properties`` keep ``fusion_status`` for the caller."""
        for r in self._run(Q.VIEW_FACTS, {"all": include_rejected}, write=False):
            props = {k: v for k, v in (r["props"] or {}).items() if k not in {"id", "predicate", "confidence"}}
            yield FactRecord(r["id"], r["s"], r["p"], r["rel"], r["o"], float(r["c"] or 0.0), props)


def _entity_rows(entities: Iterable[Entity]) -> dict[str, list[dict[str, Any]]]:
    """Entity rows per label, one per id (named by its first occurrence), with every alias merged."""
    first: dict[str, Entity] = {}
    aliases: dict[str, set[str]] = defaultdict(set)
    for e in entities:
        first.setdefault(e.id, e)
        names = aliases[e.id]
        names.add(e.name)
        names.update(e.aliases)
    by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for label in {e.type for e in first.values()}:
        validate_identifier(label, "entity type")
    for eid, e in first.items():
        by_label[e.type].append({"id": eid, "name": e.name, "type": e.type, "norm": normalize_name(e.name),
                                "aliases": sorted(aliases[eid])})
    return dict(by_label)


def _evidence_row(ev: Evidence, *, subject: str = "", obj: str = "", rel_type: str = "") -> dict[str, Any]:
    return {
        "id": ev.id, "kind": ev.kind, "target": ev.target, "document_id": ev.document_id,
        "chunk_id": ev.chunk_id, "start": ev.start if ev.start is not None else -1,
        "end": ev.end if ev.end is not None else -1, "extractor": ev.extractor,
        "extractor_version": ev.extractor_version, "confidence": float(ev.confidence),
        "text": ev.text[:1000], "source": ev.source or ev.document_id,
        "subject": subject, "object": obj, "rel_type": rel_type,
    }


def _evidence_from_row(p: Mapping[str, Any]) -> Evidence:
    start = p.get("start", -1)
    end = p.get("end", -1)
    return Evidence(
        id=p["id"], kind=p["kind"], target=p["target"], document_id=p["document_id"], chunk_id=p["chunk_id"],
        start=None if start is None or start < 0 else int(start), end=None if end is None or end < 0 else int(end),
        extractor=p["extractor"], extractor_version=p["extractor_version"], confidence=float(p["confidence"]),
        text=p.get("text", "") or "", source=p.get("source"),
    )
