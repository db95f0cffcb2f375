"""The :class:`Extractor` protocol: chunks in, typed triples with provenance out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable

from kgkit.types import Chunk, Entity, Evidence, Triple

__all__ = ["ChunkExtraction", "Extractor"]


@dataclass(frozen=True, slots=True)
class ChunkExtraction:
    """What an extractor found in one chunk, or why it failed.

    ``error`` is set (and ``triples``/``mentions`` empty) when the chunk could not be extracted; the
    ingest run records it in the ledger's quarantine and carries on (``kgkit retry-failed`` re-runs it).
    """

    chunk: Chunk
    triples: tuple[Triple, ...] = ()
    mentions: tuple[tuple[Entity, Evidence], ...] = ()
    error: str | None = None
    stats: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None


@runtime_checkable
class Extractor(Protocol):
    """Turns chunks into triples. Spans in provenance are offsets into the *document* text."""

    name: str
    version: str

    def warm_up(self) -> None:
        """Load models / open clients. Constructors do no I/O."""

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        """Extract every chunk; never raise for one bad chunk, report it in ``error`` instead."""
