"""Name normalisation for entity resolution: folding, tokens, initials and blocking keys.

Identity in the store already uses :func:`kgkit.types.normalize_name` (NFKC + casefold); fusion
goes further for *matching*: it folds diacritics ("Skłodowska" ~ "Sklodowska"), drops honorifics
and corporate suffixes, and exposes tokens, initials and character n-grams for blocking.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from kgkit.types import normalize_name

__all__ = ["fold", "match_key", "tokens", "char_ngrams", "initials_compatible", "given_names_compatible"]

# Letters that NFKD does not decompose into base letter + combining mark.
_SPECIAL = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th"})
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
# Titles are dropped only in front of a person's name ("Dr. Marie Curie", "Lord Byron", not "Tom Lord"),
# degrees and "Jr." only behind it; corporate suffixes only at the end of a name ("Apple Inc", not
# "Co-operative Bank"), and a leading "the" from any name. Generation numbers ("Elizabeth II") stay:
# they tell people apart.
HONORIFICS = frozenset("mr mrs ms miss dr prof professor sir dame lord lady rev saint st".split())
PERSON_SUFFIXES = frozenset("jr sr phd md".split())
ORG_SUFFIXES = frozenset("inc ltd llc plc corp co gmbh ag sa nv bv company corporation limited".split())
STOPWORDS = frozenset("of and de la le du von van der den da di the".split())


@lru_cache(maxsize=1 << 18)
def fold(name: str) -> str:
    """Normalise, then fold diacritics and punctuation to spaces.

    >>> fold("Maria Skłodowska-Curie")
    'maria sklodowska curie'
    """
    s = normalize_name(name).translate(_SPECIAL)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.replace("'", "").replace("\u2019", "")
    return " ".join(_NON_WORD.sub(" ", s).replace("_", " ").split())


def tokens(name: str, *, person: bool = True) -> list[str]:
    """Folded tokens without a leading "the", titles and degrees (persons) and corporate suffixes.

    >>> tokens("Dr. Marie Curie")
    ['marie', 'curie']
    >>> tokens("Tom Lord"), tokens("St. Louis", person=False), tokens("The Apple Computer Company")
    (['tom', 'lord'], ['st', 'louis'], ['apple', 'computer'])
    """
    toks = fold(name).split()
    lead = HONORIFICS | {"the"} if person else frozenset({"the"})
    trail = ORG_SUFFIXES | PERSON_SUFFIXES if person else ORG_SUFFIXES
    i, j = 0, len(toks)
    while i < j and toks[i] in lead:
        i += 1
    while j > i and toks[j - 1] in trail:
        j -= 1
    return toks[i:j] or toks


def match_key(name: str, *, person: bool = True) -> str:
    """A key under which trivially different spellings collide: folded tokens, joined by a space."""
    return " ".join(tokens(name, person=person))


def char_ngrams(text: str, n: int = 3) -> set[str]:
    """Character n-grams of ``text`` padded with spaces (``'#'`` marks word edges)."""
    s = f"#{text.replace(' ', '#')}#"
    if len(s) <= n:
        return {s}
    return {s[i : i + n] for i in range(len(s) - n + 1)}


def _initial_match(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) == 1:
        return b.startswith(a)
    if len(b) == 1:
        return a.startswith(b)
    return False


def initials_compatible(a: list[str], b: list[str]) -> bool:
    """Whether the shorter token list is consistent with the longer one, allowing initials.

    ``["m", "curie"]`` is compatible with ``["marie", "curie"]``; ``["pierre", "curie"]`` is not.
    """
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    j = 0
    for t in short:
        while j < len(long_) and not _initial_match(t, long_[j]):
            j += 1
        if j == len(long_):
            return False
        j += 1
    return True


def given_names_compatible(a: list[str], b: list[str], *, threshold: float = 0.85) -> bool:
    """False when both names carry a given name and those given names clearly differ.

    Used as a cannot-link signal between persons: "Marie Curie" vs "Pierre Curie". Single-token
    names ("Curie") carry no given name and are always compatible. Near-identical spellings
    ("Maria" / "Marie") stay compatible.
    """
    if len(a) < 2 or len(b) < 2:
        return True
    x, y = a[0], b[0]
    if _initial_match(x, y):
        return True
    from rapidfuzz.distance import JaroWinkler

    return JaroWinkler.similarity(x, y) >= threshold
