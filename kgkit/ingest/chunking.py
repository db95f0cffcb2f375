"""Sentence-aware chunking with overlap.

Sentences are found with a fast rule-based splitter (paragraph breaks, then sentence punctuation
followed by an upper-case start), so chunking needs no model. Chunks pack whole sentences up to
``max_chars`` and repeat the last ``overlap_sentences`` sentences of a chunk at the start of the next,
so a fact stated across a boundary is still seen whole. Offsets always refer to the document text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from kgkit.errors import ConfigError
from kgkit.types import Chunk, Document

__all__ = ["SentenceChunker", "split_sentences"]

# Paragraph breaks: a blank line, or a line break before a list bullet ("- ", "* ", "1. ").
_PARA = re.compile(r"\n\s*\n|\n(?=[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t])")
# End of sentence: . ! ? (optionally closing quote/bracket) + space + an upper-case letter, digit or quote.
_SENT_END = re.compile(r"(?<=[.!?])[\"'”’)\]]?\s+(?=[\"“‘(\[]?[A-ZÀ-ÖØ-Þ0-9])")
_ABBREV = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Mt|vs|etc|e\.g|i\.e|Inc|Ltd|Co|Corp|No|Fig|Gen|Col|Lt|Sgt|Capt|Rev|Hon)|\b[A-Z])\.$")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Return ``(start, end)`` offsets of the sentences in ``text[start:end]``, stripped of spaces.

    >>> t = "Marie Curie was born in Warsaw. She moved to Paris.\\n\\nDr. Smith agreed."
    >>> [t[s:e] for s, e in split_sentences(t)]
    ['Marie Curie was born in Warsaw.', 'She moved to Paris.', 'Dr. Smith agreed.']
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    para_start = start
    for m in list(_PARA.finditer(text, start, end)) + [None]:
        para_end = m.start() if m else end
        s = para_start
        for sm in _SENT_END.finditer(text, para_start, para_end):
            if _ABBREV.search(text, max(para_start, sm.start() - 6), sm.start()):
                continue
            _add(text, s, sm.start(), spans)
            s = sm.end()
        _add(text, s, para_end, spans)
        if m:
            para_start = m.end()
    return spans


def _add(text: str, s: int, e: int, spans: list[tuple[int, int]]) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s:
        spans.append((s, e))


@dataclass(frozen=True)
class SentenceChunker:
    """Pack sentences into chunks of at most ``max_chars`` characters with sentence overlap.

    Args:
        max_chars: upper bound on a chunk's length (a single longer sentence is cut at spaces).
        overlap_sentences: how many trailing sentences of a chunk start the next one.
    """

    max_chars: int = 1500
    overlap_sentences: int = 1

    def __post_init__(self) -> None:
        if self.max_chars < 50:
            raise ConfigError(f"chunking.max_chars={self.max_chars} is too small; use at least 50")
        if self.overlap_sentences < 0:
            raise ConfigError("chunking.overlap_sentences must be >= 0")

    def chunk(self, doc: Document) -> list[Chunk]:
        return [
            Chunk(id=f"{doc.id}#{i}", document_id=doc.id, index=i, text=doc.text[s:e], start=s, end=e)
            for i, (s, e) in enumerate(self._windows(doc.text))
        ]

    def _windows(self, text: str) -> Iterator[tuple[int, int]]:
        sents: list[tuple[int, int]] = []
        for s, e in split_sentences(text):
            sents.extend(self._cut_long(text, s, e))
        i = 0
        n = len(sents)
        while i < n:
            j = i
            while j + 1 < n and sents[j + 1][1] - sents[i][0] <= self.max_chars:
                j += 1
            yield sents[i][0], sents[j][1]
            if j + 1 >= n:
                break
            # The next window starts up to `overlap` sentences back, but only as far back as still
            # lets it reach sentence j+1; otherwise it would repeat a subset of this window.
            nxt = j + 1
            for k in range(self.overlap_sentences, 0, -1):
                cand = j + 1 - k
                if cand > i and sents[j + 1][1] - sents[cand][0] <= self.max_chars:
                    nxt = cand
                    break
            i = nxt

    def _cut_long(self, text: str, s: int, e: int) -> Iterator[tuple[int, int]]:
        while e - s > self.max_chars:
            cut = text.rfind(" ", s, s + self.max_chars)
            if cut <= s:
                cut = s + self.max_chars
            yield s, cut
            s = cut
            while s < e and text[s].isspace():
                s += 1
        if e > s:
            yield s, e
