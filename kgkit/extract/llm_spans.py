"""Locate a model's evidence quote (or an entity name) in the chunk it came from.

Models paraphrase, re-case and re-space their quotes, so the search goes exact -> case- and
whitespace-insensitive -> fuzzy (rapidfuzz partial alignment). The score tells the caller how much to
trust the span.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["QuoteMatch", "find_quote"]

_QUOTES = "\"'“”‘’`«»"


class QuoteMatch(NamedTuple):
    start: int  # offset in the searched text
    end: int
    score: float  # 1.0 exact, 0.95 case/space-insensitive, else the fuzzy similarity in [0, 1]
    method: str  # "exact" | "normalized" | "fuzzy"


def find_quote(text: str, quote: str, *, fuzzy_threshold: float = 85.0) -> QuoteMatch | None:
    """Find ``quote`` in ``text``.

    Args:
        text: the chunk text.
        quote: what the model says supports a fact.
        fuzzy_threshold: minimum rapidfuzz ``partial_ratio`` (0-100) for a fuzzy match; >100 disables it.

    >>> find_quote("Marie Curie was born in Warsaw.", "born in  WARSAW").method
    'normalized'
    """
    q = (quote or "").strip().strip(_QUOTES).strip()
    if not q or not text:
        return None
    i = text.find(q)
    if i >= 0:
        return QuoteMatch(i, i + len(q), 1.0, "exact")
    tokens = q.split()
    pattern = r"\s+".join(re.escape(t) for t in tokens)
    m = re.search(pattern, text, re.IGNORECASE)
    if m:
        return QuoteMatch(m.start(), m.end(), 0.95, "normalized")
    if fuzzy_threshold > 100 or len(q) < 8 or len(q) > 2 * len(text):
        return None
    from rapidfuzz import fuzz

    al = fuzz.partial_ratio_alignment(q, text, score_cutoff=fuzzy_threshold)
    if al is None or al.dest_end <= al.dest_start:
        return None
    start, end = al.dest_start, al.dest_end
    if len(q) > len(text):  # rapidfuzz aligns the shorter string inside the longer one
        start, end = al.src_start, al.src_end
    start, end = _snap_to_words(text, start, end)
    return QuoteMatch(start, end, round(al.score / 100.0, 4), "fuzzy")


def _snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a fuzzy span to whole words so evidence never starts or ends mid-word."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and end > 0 and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end
