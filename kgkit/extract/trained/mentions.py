"""Candidate mentions in a parsed text, and the gazetteer (alias table) learned from training examples.

Candidates are the union of: gazetteer matches (surfaces seen in training, longest first), spaCy named
entities, runs of proper nouns, the subject phrase and the title-like opening words of each sentence,
noun chunks, numbers, quoted strings, subject pronouns (resolved to an antecedent) and the short form
of a long person name ("Jack William Nicklaus" -> "Jack Nicklaus"). The union is deliberately generous;
the relation classifier decides which pairs hold a fact. Each candidate carries the canonical name
extraction will output: the training name for a known surface ("Abilene" -> "Abilene, Texas"), else
the cleaned surface.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kgkit.extract.trained.literals import date_value, number_value

__all__ = ["Gazetteer", "Mention", "display_name", "find_mentions", "name_variants", "sentence_of", "sentences",
           "short_person_names", "surface_key"]

PRONOUNS = {"it", "its", "he", "his", "she", "her", "they", "their"}
_STOP = {"the", "a", "an", "it", "its", "he", "she", "they", "this", "that", "these", "those", "which", "who",
         "there", "his", "her", "their", "also", "is", "was", "of", "in", "and", "or", "to", "by", "on", "at"}
_CONNECT = {"of", "de", "del", "la", "le", "the", "and", "&", "-", "von", "van", "da", "di", "du", "y", "für", "for"}
_MAX_GAZ_TOKENS = 10
_PREFIX_CHARS = 24  # name-key prefixes kept by Gazetteer.prefixes (longer keys are checked in full)
_QUOTED = re.compile(r'"([^"\n]{1,80})"')
_LITERAL_KINDS = {"num", "date", "quote"}


@functools.lru_cache(maxsize=100_000)  # called for every token of every text; words recur
def surface_key(text: str) -> str:
    """Key for comparing surfaces: accents folded, case folded, punctuation and spaces dropped."""
    s = unicodedata.normalize("NFKD", text)
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    return re.sub(r"[\W_]+", "", s)


def display_name(name: str) -> str:
    """A training name as users read it: ``Abilene,_Texas`` -> ``Abilene, Texas``."""
    return " ".join(name.replace("_", " ").split())


def name_variants(name: str) -> list[str]:
    """Ways a canonical name may be written in text, most specific first."""
    base = display_name(name).strip('"').strip()
    out = [base]
    no_paren = re.sub(r"\s*\([^)]*\)\s*", " ", base).strip()
    out.append(no_paren)
    if "," in no_paren:
        out.append(no_paren.split(",", 1)[0].strip())
    out.append(no_paren.replace(".", "").strip())
    if base.lower().startswith("the "):
        out.append(base[4:])  # mentions drop a leading article: "The Secret Life of Pets" -> "Secret Life of Pets"
    return [v for v in dict.fromkeys(out) if v]


@dataclass
class Gazetteer:
    """Surfaces seen in training -> canonical names and entity types (most frequent wins)."""

    names: dict[str, Counter[str]] = field(default_factory=dict)  # surface key -> canonical name counts
    types: dict[str, Counter[str]] = field(default_factory=dict)  # canonical name -> entity type counts
    max_tokens: int = 1
    # read many times per text and changed only by add / add_type (which clear them)
    _best: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)  # key -> canonical
    _best_type: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)  # canonical -> type
    _prefixes: set[str] | None = field(default=None, repr=False, compare=False)

    def add(self, surface: str, canonical: str, n_tokens: int) -> None:
        key = surface_key(surface)
        if not key or surface.strip().lower() in _STOP or (len(key) < 2 and not key.isdigit()):
            return
        self.names.setdefault(key, Counter())[canonical] += 1
        self.max_tokens = min(_MAX_GAZ_TOKENS, max(self.max_tokens, n_tokens))
        self._best.clear()
        self._prefixes = None

    def add_type(self, canonical: str, etype: str) -> None:
        self.types.setdefault(canonical, Counter())[etype] += 1
        self._best_type.clear()

    def canonical(self, surface: str) -> str | None:
        """The most frequent canonical name of a surface (``None`` if unknown)."""
        return _most_common(self._best, self.names, surface_key(surface))

    def type_of(self, canonical: str) -> str | None:
        return _most_common(self._best_type, self.types, canonical)

    def prefixes(self) -> set[str]:
        """The leading parts (up to :data:`_PREFIX_CHARS` characters) of every name key: a span whose key is
        not among them starts no name, nor does any longer span from the same token."""
        if self._prefixes is None:
            self._prefixes = {k[:n] for k in self.names for n in range(1, min(len(k), _PREFIX_CHARS) + 1)}
        return self._prefixes

    def to_dict(self) -> dict[str, Any]:
        return {"names": {k: dict(v) for k, v in self.names.items()}, "types": {k: dict(v) for k, v in self.types.items()},
                "max_tokens": self.max_tokens}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Gazetteer:
        return cls({k: Counter(v) for k, v in d["names"].items()}, {k: Counter(v) for k, v in d["types"].items()},
                   int(d.get("max_tokens", 1)))


@dataclass
class Mention:
    """A candidate span of a parsed text (token offsets ``[start, end)`` into the spaCy doc)."""

    start: int
    end: int
    start_char: int
    end_char: int
    surface: str
    kind: str  # gaz | ent:LABEL | propn | subj | lead* | chunk | num | date | quote | pron | short
    canonical: str
    known: bool = False  # canonical name comes from the gazetteer
    antecedent: Mention | None = None
    # "inner": inside a longer candidate ("Sam Brown" in "Sam Brown III"), "outer": around a shorter
    # one, "both", or "": lets the classifier learn which of two nested names the examples use
    nesting: str = ""
    # set on a long person name that also stands as kind "short" ("Jack William Nicklaus"): the
    # classifier learns from the examples when facts use which form
    shortened: bool = False

    @property
    def is_literal(self) -> bool:
        return self.kind in _LITERAL_KINDS

    @property
    def resolved(self) -> Mention:
        return self.antecedent if self.antecedent is not None else self

    def keys(self) -> set[str]:
        """Keys that identify what this mention names (for matching gold names in training)."""
        m = self.resolved
        if m.kind == "short":  # only the short form: the long one is its own mention
            return {surface_key(m.canonical)} - {""}
        keys = {surface_key(m.canonical), surface_key(m.surface)}
        n = number_value(m.surface)
        if n is not None:
            keys.add(f"num:{n:g}")
        d = date_value(m.surface) if m.kind in ("date", "num", "ent:DATE") or any(ch.isdigit() for ch in m.surface) else None
        if d is not None:
            keys.add(f"date:{d}")
        keys.discard("")
        return keys


def _most_common(cache: dict[str, str | None], counts: dict[str, Counter[str]], key: str) -> str | None:
    """``counts[key]``'s most common entry, remembered in ``cache`` (``None`` when ``key`` has no counts)."""
    if key not in cache:
        c = counts.get(key)
        cache[key] = c.most_common(1)[0][0] if c else None
    return cache[key]


def sentences(doc: Any) -> list[Any]:
    """``list(doc.sents)``, computed once per doc (each ``doc.sents`` walks every token again)."""
    sents = doc.user_data.get("kgkit_sents")
    if sents is None:
        sents = doc.user_data["kgkit_sents"] = list(doc.sents)
    return sents


def sentence_of(doc: Any) -> list[int]:
    """For each token, the index of its sentence in :func:`sentences` (cached per doc)."""
    idx = doc.user_data.get("kgkit_sent_of")
    if idx is None:
        idx = [0] * len(doc)
        for k, sent in enumerate(sentences(doc)):
            idx[sent.start:sent.end] = [k] * (sent.end - sent.start)
        doc.user_data["kgkit_sent_of"] = idx
    return idx


def _clean(span: Any) -> tuple[int, int]:
    """Token bounds of a span without leading determiners/possessives and trailing punctuation."""
    s, e = span.start, span.end
    doc = span.doc
    while s < e and (doc[s].lower_ in ("the", "a", "an") or doc[s].pos_ in ("DET", "PRON") or doc[s].is_punct and doc[s].text != '"'):
        if doc[s].text == "The" and not doc[s].is_sent_start and s + 1 < e and doc[s + 1].text[:1].isupper():
            break  # a capitalised "The" inside a sentence belongs to the name ("preceded by The Hobbit")
        s += 1
    while e > s and (doc[e - 1].is_punct or doc[e - 1].lower_ in ("'s", "’s")) and doc[e - 1].text not in (")", '"'):
        e -= 1
    return s, e


def find_mentions(doc: Any, gaz: Gazetteer) -> list[Mention]:
    """Every candidate mention of ``doc``, de-duplicated by span, in text order (see the module docstring)."""
    spans: dict[tuple[int, int], str] = {}

    def add(s: int, e: int, kind: str) -> None:
        s, e = _trim(doc, s, e)
        if e <= s:
            return
        if doc[s:e].text.strip().lower() in _STOP:
            return
        spans.setdefault((s, e), kind)

    n = len(doc)
    keys = [surface_key(t.text) for t in doc]
    punct = [t.is_punct and t.text not in (")", '"') for t in doc]
    names, prefixes = gaz.names, gaz.prefixes()
    for i in range(n):  # gazetteer: longest match at each token
        if punct[i] and doc[i].text != '"':
            continue
        longest = 0
        key = ""
        for j in range(i + 1, min(n, i + gaz.max_tokens) + 1):  # growing the span while its key may start a name
            key += keys[j - 1]
            if key and key[:_PREFIX_CHARS] not in prefixes:  # an opening quote has an empty key
                break
            if not punct[j - 1] and key in names:
                longest = j
        if longest:
            add(i, longest, "gaz")
    for ent in doc.ents:
        s, e = _clean(ent)
        kind = "date" if ent.label_ == "DATE" else "num" if ent.label_ in ("CARDINAL", "QUANTITY", "MONEY", "PERCENT") else f"ent:{ent.label_}"
        if kind in ("date", "num"):
            _add_literal_parts(doc, s, e, kind, add)
        else:
            add(s, e, kind)
    _add_propn_runs(doc, add)
    _add_sentence_subjects(doc, add)
    _add_lead_spans(doc, add)
    for nc in doc.noun_chunks:
        s, e = _clean(nc)
        add(s, e, "chunk")
    for t in doc:
        if t.like_num or number_value(t.text) is not None:
            add(t.i, t.i + 1, "num")
    for m in _QUOTED.finditer(doc.text):
        sp = doc.char_span(m.start(1), m.end(1), alignment_mode="expand")
        if sp is not None:
            add(sp.start, sp.end, "quote")
    named = [(s, e) for (s, e), k in spans.items() if k != "chunk"]
    # a noun chunk around a name adds nothing but pairs to score ("the city of Abilene" vs "Abilene")
    keep = {se: k for se, k in spans.items()
            if k != "chunk" or not any(s < se[1] and se[0] < e for s, e in named)}
    out = [_make(doc, s, e, kind, gaz) for (s, e), kind in keep.items()]
    _mark_nesting(out)
    out.extend(_pronouns(doc, out))
    out.extend(_short_names(doc, out))
    out.sort(key=lambda m: (m.start, -m.end))
    return out


def _mark_nesting(mentions: list[Mention]) -> None:
    """Set each mention's :attr:`Mention.nesting` (name-like mentions only: literals and noun chunks
    neither count nor are marked)."""
    names = [m for m in mentions if not m.is_literal and m.kind != "chunk"]
    cover: dict[int, list[Mention]] = {}
    for o in names:
        for k in range(o.start, o.end):
            cover.setdefault(k, []).append(o)
    for m in names:
        near = cover.get(m.start, [])  # a span around m covers its first token; one inside m starts in it
        inner = any((o.start, o.end) != (m.start, m.end) and o.start <= m.start and m.end <= o.end for o in near)
        outer = any((o.start, o.end) != (m.start, m.end) and o.end <= m.end
                    for k in range(m.start, m.end) for o in cover.get(k, []) if o.start == k)
        m.nesting = "both" if inner and outer else "inner" if inner else "outer" if outer else ""


_TRAIL_WORDS = frozenset({"and", "or", "of", "by", "in", "on", "at", "to", "for", "with", "from", "the", "a", "an"})


def _trim(doc: Any, s: int, e: int) -> tuple[int, int]:
    """Span bounds without an unpaired quote, a trailing colon/comma/semicolon or a dangling connective.

    Title-like openings run up to the verb, so ``"Lie About Us" is a ballad`` yields ``Lie About Us"``
    and ``Through interviews and animated ...`` yields ``Through interviews and``; the name is the
    span without those edges.
    """
    while True:
        quotes = sum(1 for t in doc[s:e] if t.text == '"')
        if e > s and quotes % 2 and doc[e - 1].text == '"':
            e -= 1
        elif e > s and quotes % 2 and doc[s].text == '"':
            s += 1
        elif e > s and doc[e - 1].text in (":", ",", ";", "-", "–", "—"):
            e -= 1
        elif e - s > 1 and doc[e - 1].text in _TRAIL_WORDS:  # lower-case only: "Vitamin A", "Plan B" keep theirs
            e -= 1
        else:
            return s, e


def _add_literal_parts(doc: Any, s: int, e: int, kind: str, add: Any) -> None:
    """A DATE/CARDINAL entity as a whole, and its number part ("2776.0 metres" -> "2776.0")."""
    add(s, e, kind)
    for t in doc[s:e]:
        if number_value(t.text) is not None and e - s > 1:
            add(t.i, t.i + 1, "num")


def _add_sentence_subjects(doc: Any, add: Any) -> None:
    """The subject phrase of each sentence's main verb, when it is a capitalised name-like phrase.

    Titles are often not entities to spaCy ("For Lack of a Better Name was ...", "Closing the Ring is
    ..."); the whole subject, cut before a parenthesis or comma, is their most likely span.
    """
    for sent in sentences(doc):
        root = sent.root
        subj = next((c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        if subj is None:
            continue
        s, e = subj.left_edge.i, subj.right_edge.i + 1
        for k in range(s, e):
            if doc[k].text in ("(", ",", "—", "–"):
                e = k
                break
        if doc[s].lower_ in ("the", "a", "an"):
            s += 1
        if s < e <= s + 12 and doc[s].text[:1].isupper() and doc[s].pos_ != "PRON":
            add(s, e, "subj")


# a sentence opening with one of these and a lower-case word is a clause, not a title
_CLAUSE_START = frozenset({"ADV", "ADP", "SCONJ", "CCONJ", "AUX", "VERB", "PART", "INTJ"})
_LEAD_STOP = frozenset({"(", "[", ";", "—", "–", "-", "'s", "’s", ":"})


def _add_lead_spans(doc: Any, add: Any) -> None:
    """The words that open a sentence, up to its first verb or bracket, when they look like a title.

    Encyclopaedic sentences name their topic first ("One Piece Film: Strong World (Japanese: ...) is a
    2009 film", "Popeye the Sailor Meets Sindbad the Sailor was produced by ..."); spaCy often splits
    such titles or parses them as a clause, so no other rule yields the whole span. Up to three
    variants are added, each its own kind so the classifier learns how far titles reach in the
    examples: ``lead`` (cut at the first comma, a leading article dropped), ``lead_the`` (the span
    with its capitalised article, "The Terror Factor"; its name drops the article, as for every
    sentence-initial "The", and the relation's examples decide whether a fact's name gets it back:
    :mod:`kgkit.extract.trained.articles`) and ``lead_comma`` (through commas: "Distant Voices, Still
    Lives"). Keeping the article for every relation was measured and dropped: Wikidata-TekGen F1
    +0.004, e2e/webnlg-dev Hits@1 71.6 % -> 70.7 %.
    """
    for sent in sentences(doc):
        s, end = sent.start, sent.end
        while s < end and (doc[s].is_punct or doc[s].is_space):
            s += 1
        the = s < end and doc[s].text in ("The", "A", "An")
        first = s + 1 if the else s
        if first >= end or not (doc[first].text[:1].isupper() or doc[first].like_num):
            continue
        # "Initially released ...", "Due to ...", "He was ...": a clause, not a title, unless title-case
        # words run up to the verb ("In the Realm of the Senses is ...", "My Uncle Silas is ...")
        clause_like = doc[first].pos_ == "PRON" or (
            doc[first].pos_ in _CLAUSE_START and not (first + 1 < end and doc[first + 1].text[:1].isupper()))
        comma = None
        e = first
        while e < end and e - first <= 12:
            t = doc[e]
            if t.text in _LEAD_STOP and not (t.text == ":" and e + 1 < end and doc[e + 1].text[:1].isupper()):
                break
            if e > first and t.pos_ in ("AUX", "VERB") and t.text[:1].islower():
                break
            if t.text == "," and comma is None:
                comma = e
            e += 1
        if e >= end or e - first > 12 or e == first:
            continue
        if clause_like and not _title_before_verb(doc, first, e, comma):
            continue
        cut = comma if comma is not None else e
        if cut > first:
            add(first, cut, "lead")
            if the:
                add(s, cut, "lead_the")
        if comma is not None and not doc[e - 1].is_punct:
            add(s if the else first, e, "lead_comma")


_CONTENT = frozenset({"PROPN", "NOUN", "ADJ", "VERB"})


def _title_before_verb(doc: Any, first: int, e: int, comma: int | None) -> bool:
    """Whether ``doc[first:e]``, opening with a pronoun or preposition, is a title: no comma, a
    capitalised content word after its first word, and a lower-case verb right after it."""
    return (comma is None and e - first >= 2 and doc[e].pos_ in ("AUX", "VERB") and doc[e].text[:1].islower()
            and any(t.text[:1].isupper() and t.pos_ in _CONTENT for t in doc[first + 1:e]))


def _add_propn_runs(doc: Any, add: Any) -> None:
    i, n = 0, len(doc)
    while i < n:
        if doc[i].pos_ != "PROPN":
            i += 1
            continue
        j = i + 1
        while j < n and (doc[j].pos_ in ("PROPN", "NUM") or (doc[j].lower_ in _CONNECT and j + 1 < n and doc[j + 1].pos_ == "PROPN")):
            j += 1
        add(i, j, "propn")
        i = j


def _make(doc: Any, s: int, e: int, kind: str, gaz: Gazetteer) -> Mention:
    span = doc[s:e]
    surface = span.text
    canon = gaz.canonical(surface)
    known = canon is not None
    if canon is None:
        keep_the = surface.startswith("The ") and not doc[s].is_sent_start
        canon = surface[4:] if surface.lower().startswith("the ") and not keep_the else surface
        if len(canon) > 2 and canon[0] == canon[-1] == '"' and kind != "quote":
            canon = canon[1:-1].strip()  # '"Symphony of Destruction"' names Symphony of Destruction
    if kind == "propn" or kind.startswith("ent:") or kind == "chunk":
        if number_value(surface) is not None:
            kind = "num"
        elif date_value(surface) is not None:
            kind = "date"
    return Mention(s, e, span.start_char, span.end_char, surface, kind, display_name(canon) if known else canon, known)


_HONOUR = re.compile(r"^[A-Z]{2,5}$")  # post-nominal letters: OAM, ONZM, CBE
_PARTICLES = frozenset({"van", "den", "der", "de", "von", "du", "da", "di", "del", "la", "le", "bin", "al", "ibn", "dos", "das"})
_NAME_TITLES = frozenset({"Sir", "Dame", "Dr", "Dr.", "Lord", "Lady"})
_NAME_WORD = re.compile(r"^[A-Z][\w'’.-]*$")


def short_person_names(full: str) -> list[str]:
    """The names a person goes by, from the full name an encyclopaedia opens with: given name (and a
    quoted nickname) with the family name, middle names, titles and post-nominal letters dropped ("Jack
    William Nicklaus" -> "Jack Nicklaus", 'Sir John Young "Jackie" Stewart' -> "Jackie Stewart", "John
    Stewart"); empty when ``full`` does not look like such a name or is already short."""
    words = re.findall(r'"[^"]+"|\S+', full)
    nick = next((w.strip('"') for w in words if w.startswith('"')), None)
    words = [w for w in words if not w.startswith('"')]
    while words and _HONOUR.match(words[-1]):
        words.pop()
    while words and words[0] in _NAME_TITLES:
        words.pop(0)
    if not 2 <= len(words) <= 6 or (nick is None and len(words) < 3):
        return []
    if not all(_NAME_WORD.match(w) or w in _PARTICLES for w in words) or words[0] in _PARTICLES:
        return []
    if any(len(w.rstrip(".")) == 1 for w in words):  # "John F. Thorson" is written with the initial
        return []
    k = len(words) - 1
    while k > 1 and words[k - 1] in _PARTICLES:
        k -= 1
    given = [nick, words[0]] if nick else [words[0]]  # "Keshorn "Keshie" Walcott" goes by either
    shorts = [" ".join([g, *words[k:]]) for g in given]
    return [x for x in dict.fromkeys(shorts) if len(x.split()) < len(full.split())]


def _short_names(doc: Any, mentions: Iterable[Mention]) -> list[Mention]:
    """For each long person name opening a parenthesis (an encyclopaedia's "Jack William Nicklaus (born
    ...", :func:`_opens_biography`), the same span as kind ``short`` named by
    :func:`short_person_names`. Wikidata-TekGen's subjects are article titles, which drop middle names about half the time ("Jack Nicklaus", but
    "Laura Wheeler Waring"): the classifier learns which form facts use from the examples, seeing the
    middle names' endings (patronymics such as "-ovich" are always dropped)."""
    persons = [(e.start, e.end) for e in doc.ents if e.label_ == "PERSON"]
    out: list[Mention] = []
    for m in mentions:
        if m.known or m.is_literal or m.kind in ("chunk", "pron", "short"):
            continue
        if not _opens_biography(doc, m, persons):
            continue
        shorts = short_person_names(m.surface)
        m.shortened = bool(shorts)
        out.extend(Mention(m.start, m.end, m.start_char, m.end_char, m.surface, "short", short, nesting=m.nesting,
                           shortened=True) for short in shorts)
    return out


def _opens_biography(doc: Any, m: Mention, persons: list[tuple[int, int]]) -> bool:
    """Whether ``m`` opens a parenthesis that a person's name opens ("Guy Marcel Roux ([i u]; born 18
    October 1938)"): a PERSON entity, or "born" or a date inside the parenthesis. An organisation's
    name opening one ("International Civil Aviation Organization (ICAO)") is not shortened."""
    if not (m.end < len(doc) and doc[m.end].text == "("):
        return False
    if any(s < m.end and m.start < e for s, e in persons):
        return True
    inside = doc[m.end + 1:min(len(doc), m.end + 16)]
    close = next((t.i for t in inside if t.text == ")"), inside.end)
    return any(t.lower_ == "born" or t.ent_type_ == "DATE" for t in doc[m.end + 1:close])


def _pronouns(doc: Any, mentions: Iterable[Mention]) -> list[Mention]:
    """Pronoun mentions, each resolved to the first named mention of its sentence (before it) or of an earlier one."""
    named = sorted((m for m in mentions if not m.is_literal and m.kind != "chunk"), key=lambda m: m.start)
    out: list[Mention] = []
    for t in doc:
        if t.lower_ not in PRONOUNS or t.pos_ not in ("PRON", "DET"):
            continue
        sent_start = sentences(doc)[sentence_of(doc)[t.i]].start
        before = [m for m in named if m.end <= t.i]
        if not before:
            continue
        same = [m for m in before if m.start >= sent_start]
        if same:
            ante = same[0]
        else:
            last_sent = before[-1].start
            sent = sentences(doc)[sentence_of(doc)[last_sent]]
            ante = next(m for m in before if m.start >= sent.start)
        out.append(Mention(t.i, t.i + 1, t.idx, t.idx + len(t.text), t.text, "pron", ante.canonical, ante.known, ante))
    return out
