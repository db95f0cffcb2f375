"""Entity linking: find the graph nodes a question talks about.

Four ways a mention can match, tried in this order: the exact name, a stored alias, the normalised
name (:func:`kgkit.types.normalize_name`), and a fuzzy match (rapidfuzz) above a threshold. Mentions
marked in brackets (MetaQA: ``what does [Tom Cullen] act in``) are used as given; otherwise every word
n-gram of the question is looked up and the longest non-overlapping matches win.

In a cased question ("Who founded the Green Belt Movement?") only noun phrases are mentions: a span
must begin and end with a capitalised word or a number, so a verb ("founded") never links to an
entity, not even fuzzily; and a span the question's capitalised phrase continues to the right of
("Paris" in "Paris Hilton") is not taken for that phrase. All-lowercase questions (MetaQA) keep
plain n-gram matching.

>>> from kgkit.reason.graph import GraphIndex
>>> g = GraphIndex.from_triples([("Heat", "directed_by", "Michael Mann")])
>>> linker = EntityLinker(g); linker.warm_up()
>>> [m.name for m in linker.link("who directed heat")]
['Heat']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kgkit.reason.graph import GraphIndex
from kgkit.types import normalize_name

__all__ = ["EntityLinker", "LinkedEntity", "BRACKET"]

BRACKET = re.compile(r"\[([^\[\]]+)\]")
_TOKEN = re.compile(r"[\w'’.&:-]+|[^\w\s]", re.UNICODE)
# Question words that are also node names in some graphs ("Who", "It") must not link on their own.
_STOP = frozenset(
    "a an the of in on at to for by with from and or is are was were be been what which who whom whose "
    "when where why how did does do that this these those it its his her their movie movies film films "
    "about also share same as name".split()
)
_CONNECTORS = frozenset("of and & de la le von van der du del the for on upon".split())


@dataclass(frozen=True, slots=True)
class LinkedEntity:
    """A question mention linked to one graph node."""

    node: int
    name: str
    mention: str
    method: str  # "exact" | "alias" | "normalized" | "fuzzy"
    score: float  # 1.0 for exact matches, the fuzzy ratio / 100 otherwise
    start: int = -1  # character offsets of the mention in the question, when known
    end: int = -1


class EntityLinker:
    """Links question mentions to nodes of a :class:`GraphIndex`.

    Args:
        graph: the index whose node names (and aliases) are matched.
        fuzzy_threshold: smallest rapidfuzz ``ratio`` (0-100) accepted for a fuzzy match.
        max_ngram: longest word n-gram tried when the question has no brackets.
        fuzzy_unbracketed: also try fuzzy matching of n-grams when nothing matched exactly (slower).
    """

    def __init__(
        self,
        graph: GraphIndex,
        *,
        fuzzy_threshold: float = 88.0,
        max_ngram: int = 8,
        fuzzy_unbracketed: bool = True,
    ) -> None:
        self.graph = graph
        self.fuzzy_threshold = fuzzy_threshold
        self.max_ngram = max_ngram
        self.fuzzy_unbracketed = fuzzy_unbracketed
        self._exact: dict[str, list[int]] | None = None
        self._alias: dict[str, list[int]] = {}
        self._norm: dict[str, list[int]] = {}
        self._norm_keys: list[str] = []

    def warm_up(self) -> None:
        """Build the name tables (idempotent)."""
        if self._exact is not None:
            return
        exact: dict[str, list[int]] = {}
        norm: dict[str, list[int]] = {}
        for i, name in enumerate(self.graph.names):
            exact.setdefault(name, []).append(i)
            norm.setdefault(normalize_name(name), []).append(i)
        for i, aliases in self.graph.aliases.items():
            for a in aliases:
                if a != self.graph.names[i]:
                    self._alias.setdefault(a, []).append(i)
                    norm.setdefault(normalize_name(a), []).append(i)
        norm.pop("", None)
        self._exact, self._norm = exact, norm
        self._norm_keys = list(norm)

    # -- public API -----------------------------------------------------------------------------
    def link(self, question: str) -> list[LinkedEntity]:
        """Linked entities of ``question``; bracketed mentions only when there are any."""
        self.warm_up()
        marked = [(m.group(1), m.start(1), m.end(1)) for m in BRACKET.finditer(question)]
        if marked:
            out: list[LinkedEntity] = []
            for mention, s, e in marked:
                out.extend(self.link_mention(mention, start=s, end=e))
            return out
        return self._link_ngrams(question)

    def link_mention(self, mention: str, *, start: int = -1, end: int = -1, fuzzy: bool = True) -> list[LinkedEntity]:
        """The nodes one mention names (several when names are shared), best method first."""
        self.warm_up()
        assert self._exact is not None
        for method, table, key in (
            ("exact", self._exact, mention),
            ("alias", self._alias, mention),
            ("normalized", self._norm, normalize_name(mention)),
        ):
            nodes = table.get(key)
            if nodes:
                return [self._make(n, mention, method, 1.0, start, end) for n in nodes]
        if fuzzy:
            return self._fuzzy(mention, start, end)
        return []

    @staticmethod
    def mask(question: str, entities: list[LinkedEntity], token: str = "NE") -> str:
        """The question with linked mentions replaced by ``token`` (what path scorers read)."""
        spans = sorted({(e.start, e.end) for e in entities if e.start >= 0}, reverse=True)
        text = question
        for s, e in spans:
            lo = s - 1 if s > 0 and text[s - 1] == "[" else s
            hi = e + 1 if e < len(text) and text[e] == "]" else e
            text = text[:lo] + token + text[hi:]
        return BRACKET.sub(token, text)

    # -- internals ------------------------------------------------------------------------------
    def _make(self, node: int, mention: str, method: str, score: float, start: int, end: int) -> LinkedEntity:
        return LinkedEntity(node, self.graph.names[node], mention, method, score, start, end)

    def _fuzzy(self, mention: str, start: int, end: int) -> list[LinkedEntity]:
        from rapidfuzz import fuzz, process

        key = normalize_name(mention)
        if not key:
            return []
        # Plain edit-distance ratio: WRatio scores a name contained in a longer one ("Copenhagen" in
        # "University of Copenhagen") at 90, which links a city to its university.
        hit = process.extractOne(key, self._norm_keys, scorer=fuzz.ratio, score_cutoff=self.fuzzy_threshold)
        if hit is None:
            return []
        name, score, _ = hit
        return [self._make(n, mention, "fuzzy", score / 100.0, start, end) for n in self._norm[name]]

    def _link_ngrams(self, question: str) -> list[LinkedEntity]:
        tokens = _tokens(question)
        cased = _is_cased(question)
        taken = [False] * len(tokens)
        found: list[LinkedEntity] = []
        for n in range(min(self.max_ngram, len(tokens)), 0, -1):
            for i in range(0, len(tokens) - n + 1):
                if any(taken[i : i + n]):
                    continue
                s, e = tokens[i][1], tokens[i + n - 1][2]
                span = question[s:e]
                if n == 1 and (tokens[i][0].casefold() in _STOP or len(span) < 2):
                    continue
                if cased and not _noun_phrase(tokens, i, n):
                    continue
                hits = self.link_mention(span, start=s, end=e, fuzzy=False)
                if hits:
                    found.extend(hits)
                    for j in range(i, i + n):
                        taken[j] = True
        if not found and self.fuzzy_unbracketed:
            found = self._fuzzy_ngrams(question, tokens)
        return found

    def _fuzzy_ngrams(self, question: str, tokens: list[tuple[str, int, int]]) -> list[LinkedEntity]:
        best: list[LinkedEntity] = []
        cased = _is_cased(question)
        for n in range(min(4, len(tokens)), 0, -1):
            for i in range(0, len(tokens) - n + 1):
                if n == 1 and tokens[i][0].casefold() in _STOP:
                    continue
                if cased and not _noun_phrase(tokens, i, n):
                    continue
                s, e = tokens[i][1], tokens[i + n - 1][2]
                hits = self._fuzzy(question[s:e], s, e)
                if hits and (not best or hits[0].score > best[0].score):
                    best = hits
        return best


def _tokens(question: str) -> list[tuple[str, int, int]]:
    """Word tokens with offsets; a possessive ``'s`` is cut off ("Einstein's" -> "Einstein")."""
    out = []
    for m in _TOKEN.finditer(question):
        text, start, end = m.group(0), m.start(), m.end()
        if len(text) > 2 and text[-2:] in ("'s", "’s"):
            text, end = text[:-2], end - 2
        out.append((text, start, end))
    return out


def _is_cased(question: str) -> bool:
    """Whether the question uses capitals beyond its first letter (then capitals mark names)."""
    body = question.strip()[1:]
    return any(c.isupper() for c in body)


def _capitalised(token: str) -> bool:
    return token[:1].isupper() or token[:1].isdigit()


def _noun_phrase(tokens: list[tuple[str, int, int]], i: int, n: int) -> bool:
    """Whether tokens ``i..i+n`` can name an entity in a cased question: capitalised (or numeric) at
    both ends, only connectors ("of", "and") lower-cased inside, and not the left part of a longer
    capitalised phrase ("Paris" of "Paris Hilton")."""
    words = [t[0] for t in tokens[i : i + n]]
    if not (_capitalised(words[0]) and _capitalised(words[-1])):
        return False
    if any(not _capitalised(w) and w.casefold() not in _CONNECTORS and w.isalpha() for w in words[1:-1]):
        return False
    nxt = i + n
    return not (nxt < len(tokens) and tokens[nxt][0][:1].isupper() and tokens[nxt][1] == tokens[nxt - 1][2] + 1)
