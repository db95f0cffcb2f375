"""Boundary types shared by every stage of the pipeline.

All are frozen dataclasses: cheap to build in bulk, hashable, and explicit about what crosses a
module boundary. Identifiers are deterministic (content- or name-derived) so that re-running a stage
produces the same ids, which is what makes store writes idempotent.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Document",
    "Chunk",
    "Span",
    "Provenance",
    "Entity",
    "Triple",
    "Evidence",
    "GraphStats",
    "RetractionResult",
    "stable_hash",
    "normalize_name",
    "entity_id",
    "fact_id",
]


def stable_hash(*parts: str, length: int = 16) -> str:
    """A short, stable hex digest of ``parts`` (joined with a separator that cannot occur in text)."""
    data = "".join(p + "\x1f" for p in parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=max(8, length // 2 + length % 2)).hexdigest()[:length]


_WS = re.compile(r"\s+")
_PUNCT_EDGES = re.compile(r"^[\W_]+|[\W_]+$", re.UNICODE)


def normalize_name(name: str) -> str:
    """Normalise a surface name for identity: NFKC, casefold, collapse spaces, trim punctuation.

    >>> normalize_name("  Marie   CURIE, ")
    'marie curie'
    """
    s = unicodedata.normalize("NFKC", name).casefold()
    s = _WS.sub(" ", s).strip()
    s = _PUNCT_EDGES.sub("", s)
    return s


def entity_id(type_: str, name: str) -> str:
    """Deterministic id of an entity: its type plus its normalised name."""
    return f"{type_}:{stable_hash(type_, normalize_name(name))}"


def fact_id(subject_id: str, predicate: str, object_id: str) -> str:
    """Deterministic id of a fact (subject, predicate, object)."""
    return "f:" + stable_hash(subject_id, predicate, object_id, length=20)


@dataclass(frozen=True, slots=True)
class Document:
    """One source file, already decoded to text."""

    id: str  # stable id: path relative to the ingest root, with '/' separators
    path: str  # absolute path when read
    text: str
    content_hash: str  # hash of the raw bytes
    media_type: str  # "text/plain", "text/markdown", "text/html", "application/pdf"
    encoding: str = "utf-8"
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A contiguous piece of a document's text. ``start``/``end`` are offsets into ``Document.text``."""

    id: str
    document_id: str
    index: int
    text: str
    start: int
    end: int

    @property
    def content_hash(self) -> str:
        return stable_hash(self.text, length=20)


@dataclass(frozen=True, slots=True)
class Span:
    """A character span ``[start, end)`` in a document's text."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"invalid span [{self.start}, {self.end})")


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a fact or mention came from, and which extractor produced it."""

    document_id: str
    chunk_id: str
    span: Span | None
    extractor: str
    extractor_version: str
    confidence: float = 1.0
    source: str | None = None  # publisher, when configured; defaults to the document


@dataclass(frozen=True, slots=True)
class Entity:
    """A node of the graph. ``type`` is an ontology entity type."""

    name: str
    type: str
    aliases: tuple[str, ...] = ()
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", entity_id(self.type, self.name))


@dataclass(frozen=True, slots=True)
class Triple:
    """An extracted fact with its provenance: ``subject -predicate-> object``.

    ``predicate`` is an ontology relation name (e.g. ``bornIn``); stores turn it into a relationship
    type after validation. ``evidence`` is the supporting text as it appears in the chunk.
    """

    subject: Entity
    predicate: str
    object: Entity
    provenance: Provenance
    evidence: str = ""

    @property
    def id(self) -> str:
        return fact_id(self.subject.id, self.predicate, self.object.id)

    @property
    def confidence(self) -> float:
        return self.provenance.confidence


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of support for a fact or an entity mention, as stored.

    ``kind`` is ``"fact"`` (target = fact id) or ``"mention"`` (target = entity id).
    """

    id: str
    kind: str
    target: str
    document_id: str
    chunk_id: str
    start: int | None
    end: int | None
    extractor: str
    extractor_version: str
    confidence: float
    text: str = ""
    source: str | None = None

    @staticmethod
    def for_triple(t: Triple, *, fact_id: str | None = None) -> "Evidence":
        """The evidence of ``t`` (pass ``fact_id`` when ``t.id`` is already known: it is a hash)."""
        p = t.provenance
        fid = fact_id or t.id
        s, e = (p.span.start, p.span.end) if p.span else (None, None)
        # Keyed by document-level span, not chunk: the same sentence seen in two overlapping chunks
        # is one piece of evidence.
        eid = "ev:" + stable_hash("fact", fid, p.document_id, str(s), str(e), p.extractor, length=20)
        return Evidence(
            eid, "fact", fid, p.document_id, p.chunk_id, s, e, p.extractor, p.extractor_version,
            p.confidence, t.evidence, p.source,
        )

    @staticmethod
    def for_mention(entity: Entity, p: Provenance, text: str = "") -> "Evidence":
        s, e = (p.span.start, p.span.end) if p.span else (None, None)
        eid = "ev:" + stable_hash("mention", entity.id, p.document_id, str(s), str(e), p.extractor, length=20)
        return Evidence(
            eid, "mention", entity.id, p.document_id, p.chunk_id, s, e, p.extractor,
            p.extractor_version, p.confidence, text, p.source,
        )


@dataclass(frozen=True, slots=True)
class GraphStats:
    """What a store holds. ``facts`` and ``relation_types`` count what the view shows (:mod:`kgkit.view`:
    facts fusion did not reject); facts fusion rejected in a conflict and candidate facts a model
    proposed (``kgkit embed predict``, never accepted) are counted apart, so
    ``facts + rejected_facts + candidate_facts`` is every relationship between entities."""

    documents: int
    entities: int
    facts: int
    evidence: int
    entity_types: dict[str, int]
    relation_types: dict[str, int]
    rejected_facts: int = 0
    candidate_facts: int = 0


@dataclass(frozen=True, slots=True)
class RetractionResult:
    document_id: str
    evidence_removed: int
    facts_removed: int
    entities_removed: int
