"""Whether a title's "The" belongs to its name: learned per relation and side from the examples.

"The Head Vanishes is a 2016 animated short ..." names the film *The Head Vanishes*; "The Mississippi
River flows ..." names *Mississippi River*. Nothing in the sentence says which, but the kind of thing
does, and the relation says the kind of thing: in Wikidata-TekGen's training examples a subject of
``castMember`` or ``characters`` that the text writes with "The" keeps it 40 times out of 40, one of
``mountainRange`` or ``competitionClass`` drops it 70 times out of 71 (the validation split agrees).
Over all relations the two are nearly even, which is why one rule for every name was no better than
none.

:func:`article_rates` counts, for each relation and side (``"s"`` subject, ``"o"`` object), how often
an example name written in its text after a capitalised "The" keeps the article;
:func:`choose_article` applies the majority to a name the extractor found in new text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["ARTICLE", "article_rates", "choose_article"]

ARTICLE = "The"
_MIN_SEEN = 3  # fewer names than this: the relation keeps the default rule


def article_rates(examples: Iterable[Any], smoothing: float = 1.0) -> dict[str, dict[str, float]]:
    """``relation -> {"s": rate, "o": rate}``: the share of names written after "The" in their text that
    keep it (add-``smoothing`` on both outcomes), for sides seen at least ``_MIN_SEEN`` times.

    ``examples`` are :class:`~kgkit.extract.trained.examples.Example` rows (``text``, ``triples``).
    """
    keep: Counter[tuple[str, str]] = Counter()
    seen: Counter[tuple[str, str]] = Counter()
    for ex in examples:
        for s, r, o in set(ex.triples):
            for side, name in (("s", s), ("o", o)):
                name = name.replace("_", " ").strip()
                kept = name.startswith(ARTICLE + " ")
                core = name[len(ARTICLE) + 1:] if kept else name
                if not core[:1].isupper():
                    continue
                if re.search(r"(?<!\w)" + ARTICLE + r"\s+" + re.escape(core) + r"(?!\w)", ex.text):
                    seen[(r, side)] += 1
                    keep[(r, side)] += kept
    out: dict[str, dict[str, float]] = {}
    for (r, side), n in sorted(seen.items()):
        if n >= _MIN_SEEN:
            out.setdefault(r, {})[side] = round((keep[(r, side)] + smoothing) / (n + 2 * smoothing), 4)
    return out


def choose_article(doc: Any, mention: Any, name: str, relation: str, side: str,
                   rates: Mapping[str, Mapping[str, float]]) -> str:
    """``name`` with or without its leading "The", as the examples of ``relation`` write such names.

    Applies only to a name the extractor made from the text (not one the gazetteer knows) whose span
    starts with "The" or follows it; other names and relations without a rate are returned unchanged.
    """
    rate = rates.get(relation, {}).get(side)
    if rate is None or mention.resolved.known:
        return name
    m = mention.resolved
    has = name.startswith(ARTICLE + " ")
    core = name[len(ARTICLE) + 1:] if has else name
    if not core[:1].isupper():
        return name
    written = doc[m.start].text == ARTICLE or (m.start > 0 and doc[m.start - 1].text == ARTICLE)
    if not written:
        return name
    return f"{ARTICLE} {core}" if rate > 0.5 else core
