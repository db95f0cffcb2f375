"""A kgkit plugin living outside kgkit: a reader for ``.note`` files and a regex extractor.

``.note`` files are plain UTF-8 text whose lines starting with ``%`` are comments (dropped).
The extractor finds "<Name Name> was born in <Place>." and nothing else.
"""

from __future__ import annotations

import re
from typing import Sequence

from kgkit.extract.base import ChunkExtraction
from kgkit.ingest.readers import ParsedText, Reader
from kgkit.types import Chunk, Entity, Provenance, Span, Triple

__all__ = ["NOTE_READER", "PatternExtractor"]


def _parse_note(data: bytes, path: str) -> ParsedText:
    lines = data.decode("utf-8").splitlines()
    return ParsedText("\n".join(ln for ln in lines if not ln.startswith("%")), "utf-8", None)


NOTE_READER = Reader("text/x-note", (".note",), _parse_note)

_BORN = re.compile(r"([A-Z][a-z]+ [A-Z][a-z]+) was born in ([A-Z][a-z]+)")


class PatternExtractor:
    """``bornIn`` facts from one fixed sentence pattern."""

    name = "example-pattern"

    def __init__(self, ontology: object = None, confidence: float = 0.9) -> None:
        self.ontology = ontology
        self.confidence = confidence
        self.version = f"1+{confidence}"

    def warm_up(self) -> None:
        pass

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        out = []
        for c in chunks:
            triples = []
            for m in _BORN.finditer(c.text):
                prov = Provenance(c.document_id, c.id, Span(c.start + m.start(), c.start + m.end()), self.name,
                                  self.version, self.confidence)
                triples.append(Triple(Entity(m.group(1), "Person"), "bornIn", Entity(m.group(2), "Place"), prov,
                                      m.group(0)))
            out.append(ChunkExtraction(c, tuple(triples)))
        return out
