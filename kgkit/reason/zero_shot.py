"""Zero-shot relation scoring: question words, the ontology's vocabulary, and the answer type asked for.

No training and no model: for a question over any graph, each candidate relation path is scored by

* **relation words**: how well the question's content words match the relation's own words: its
  name (``bornIn`` -> born, in), the ontology's aliases and extraction patterns (weight 1) and its
  description (a lower weight);
* **answer type**: the type the question asks for (where -> Place, when -> Date, who -> Person,
  "which university" -> Organization through the ontology's type aliases) against the types of the
  nodes the path reaches (from the graph, else the relation's range, else what a value looks like);
* **domain/range**: whether the topic entity's type can start the relation in that direction.

A path with no matching word and no type evidence scores ``-inf``: the reasoner answers "no answer"
rather than guess (:class:`kgkit.reason.reasoner.Reasoner`).

>>> from kgkit.reason.graph import GraphIndex
>>> g = GraphIndex.from_triples([("Tesla", "diedIn", "New York"), ("Tesla", "foundingDate", "1884")],
...                             types={"Tesla": "Person", "New York": "Place", "1884": "Date"})
>>> expected_types("Where did Tesla die?")["Place"]
1.0
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from kgkit.reason.graph import GraphIndex
from kgkit.reason.paths import CandidatePath

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.ontology import Ontology

__all__ = ["ZeroShotPathScorer", "RelationLexicon", "expected_types", "relation_words", "content_words", "synonyms"]

_WORD = re.compile(r"[a-z0-9]+")
_DATE_VALUE = re.compile(r"^\s*(?:\d{1,2}\s+)?(?:[A-Za-z]+\s+)?(?:\d{1,2},?\s+)?\d{3,4}\s*$|^\d{4}-\d{2}(?:-\d{2})?$")
# Words that carry no relation meaning in a question (the entity is masked as "ne").
_STOP = frozenset(
    "a an the of in on at to for by with from and or is are was were be been being what which who whom whose "
    "when where why how did does do done that this these those it its his her their they them he she ne has have "
    "had name something someone any some one as there here than then also first".split()
)
# Question nouns that name an answer type, beyond the ontology's own type aliases.
_TYPE_NOUNS: dict[str, str] = {
    "year": "Date", "date": "Date", "day": "Date", "birthday": "Date", "century": "Date",
    "city": "Place", "country": "Place", "town": "Place", "place": "Place", "region": "Place", "state": "Place",
    "organisation": "Organization", "organization": "Organization", "company": "Organization",
    "institution": "Organization", "university": "Organization", "school": "Organization",
    "society": "Organization", "academy": "Organization", "firm": "Organization",
    "person": "Person", "people": "Person", "writer": "Person", "man": "Person", "woman": "Person",
    "prize": "Award", "award": "Award", "awards": "Award", "honour": "Award", "honours": "Award", "medal": "Award",
    "book": "Work", "novel": "Work", "work": "Work", "film": "Work", "paper": "Work",
}
_COARSE_TYPES = frozenset(_TYPE_NOUNS.values())
_WH: dict[str, dict[str, float]] = {
    "when": {"Date": 1.0},
    "where": {"Place": 1.0, "Organization": 0.7},
    "who": {"Person": 1.0, "Organization": 0.5},
    "whom": {"Person": 1.0, "Organization": 0.5},
}


def content_words(text: str) -> list[str]:
    """Lower-cased words of ``text`` without question words and function words."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def relation_words(name: str) -> list[str]:
    """``"birthPlace"`` -> ``["birth", "place"]``; ``"is_part_of"`` -> ``["part"]``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").replace(":", " ")
    return content_words(spaced)


# Everyday paraphrases of relation words (question word -> the word relation names and aliases use).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "pass": ("die",), "perish": ("die",), "death": ("die",), "dead": ("die",),
    "birth": ("born",), "birthday": ("born",), "native": ("born",),
    "wife": ("spouse", "married"), "husband": ("spouse", "married"), "wed": ("married",), "marry": ("married",),
    "employ": ("work",), "employed": ("work",), "job": ("work",),
    "start": ("found",), "started": ("found",), "create": ("found",), "created": ("found",),
    "launch": ("found",), "launched": ("found",),
    "attend": ("study", "educated"), "attended": ("study", "educated"), "graduate": ("study", "educated"),
    "write": ("author", "wrote"), "written": ("author", "wrote"), "wrote": ("author",), "writer": ("author",),
    "pen": ("author",), "penned": ("author",),
    "headquarters": ("headquartered",), "head": ("headquartered",), "office": ("headquartered",),
    "nationality": ("citizen",), "citizenship": ("citizen",),
    "prize": ("award",), "win": ("award",), "won": ("award",), "honour": ("award",), "honours": ("award",),
    "release": ("publication", "published"), "released": ("publication", "published"),
}


def synonyms(word: str) -> tuple[str, ...]:
    """Words relation names use for an everyday ``word`` ("wife" -> spouse, married)."""
    return _SYNONYMS.get(word, ())


def _match(a: str, b: str) -> float:
    """1 for the same word or an inflection of it (died/die, founders/founded), else 0."""
    if a == b:
        return 1.0
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 3 and long_.startswith(short) and len(long_) - len(short) <= 3:
        return 0.9  # an inflection counts a little less than the word itself (discoverer vs discovered)
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return 0.9 if n >= 4 and n >= max(len(a), len(b)) - 3 else 0.0


def _type_nouns(ontology: "Ontology | None") -> dict[str, str]:
    nouns = dict(_TYPE_NOUNS)
    if ontology is not None:
        for t in ontology.entity_types.values():
            for a in (t.name, *t.aliases):
                for w in _WORD.findall(a.lower()):
                    nouns.setdefault(w, t.name)
    return nouns


def _type_noun(question: str, ontology: "Ontology | None" = None) -> str | None:
    """The noun after which/what that names the answer type ("which university"), if any."""
    words = _WORD.findall(question.lower())
    nouns = _type_nouns(ontology)
    for i, w in enumerate(words):
        if w in ("which", "what"):
            # the first content word after which/what: "what was the place of death" -> place
            nxt = next((x for x in words[i + 1 : i + 5] if x not in _STOP), None)
            return nxt if nxt in nouns else None
        if w in _WH:
            return None
    return None


def expected_types(question: str, ontology: "Ontology | None" = None) -> dict[str, float]:
    """The answer types ``question`` asks for, with weights (empty when it does not say).

    ``when`` -> Date, ``where`` -> Place (or an Organization: "where did she study"), ``who`` ->
    Person; a noun after which/what ("which university", "what year") names the type through the
    ontology's entity-type aliases (or a few built-in nouns).
    """
    words = _WORD.findall(question.lower())
    noun = _type_noun(question, ontology)
    if noun is not None:
        return {_type_nouns(ontology)[noun]: 1.0}
    for w in words:
        if w in _WH:
            return dict(_WH[w])
    for w in words:  # "the date of birth of X", "name a prize won by X"
        if w in ("date", "year", "birthday"):
            return {"Date": 1.0}
    return {}


@dataclass
class RelationLexicon:
    """The words that name each relation: its name, and from an ontology its aliases, patterns, description."""

    strong: dict[str, set[str]] = field(default_factory=dict)  # weight 1
    weak: dict[str, set[str]] = field(default_factory=dict)  # description words
    domain: dict[str, tuple[str, ...]] = field(default_factory=dict)
    range: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, relations: Sequence[str], ontology: "Ontology | None" = None) -> "RelationLexicon":
        lex = cls()
        for r in relations:
            lex.strong[r] = set(relation_words(r))
            lex.weak[r] = set()
            spec = ontology.relation_types.get(r) if ontology is not None else None
            if spec is None:
                continue
            for phrase in (*spec.aliases, *getattr(spec, "patterns", ())):
                lex.strong[r].update(content_words(phrase))
            lex.weak[r].update(w for w in content_words(spec.description) if w not in lex.strong[r])
            lex.domain[r], lex.range[r] = tuple(spec.domain), tuple(spec.range)
        return lex

    def word_matches(self, relation: str, words: Sequence[str], weak_weight: float) -> list[float]:
        """For each question word, its best match among the relation's words (synonyms count 0.8)."""
        strong, weak = self.strong.get(relation, set()), self.weak.get(relation, set())
        out = []
        for w in words:
            best = max((_match(w, s) for s in strong), default=0.0)
            if best < 0.8:
                for syn in _SYNONYMS.get(w, ()):
                    best = max(best, 0.8 * max((_match(syn, s) for s in strong), default=0.0))
            if best < weak_weight and weak:
                best = max(best, weak_weight * max(_match(w, s) for s in weak))
            out.append(best)
        return out

    def matched_words(self, relation: str, word: str, floor: float = 0.8) -> set[str]:
        """The relation's own words (name, aliases, patterns) that ``word`` matches, an inflection or
        everyday synonym included ("founders" -> {"founded"} of ``foundedBy``)."""
        out = set()
        for s in self.strong.get(relation, ()):
            best = _match(word, s)
            if best < floor:
                best = max((0.8 * _match(syn, s) for syn in _SYNONYMS.get(word, ())), default=0.0)
            if best >= floor:
                out.add(s)
        return out

    def word_score(self, relation: str, words: Sequence[str], weak_weight: float) -> float:
        """Sum over the question words of their best match among the relation's words."""
        return float(sum(self.word_matches(relation, words, weak_weight)))

    def path_word_score(self, relations: Sequence[str], words: Sequence[str], weak_weight: float) -> float:
        """Each question word counted once, by the relation of the path it matches best; ``0`` when
        a relation of a longer path matches no word that the others do not already match."""
        rows = [self.word_matches(r, words, weak_weight) for r in relations]
        if len(rows) > 1:
            for i, row in enumerate(rows):
                others = [max((rows[j][k] for j in range(len(rows)) if j != i), default=0.0) for k in range(len(words))]
                if not any(v > 0 and v > o for v, o in zip(row, others)):
                    return 0.0
        return float(sum(max(col) for col in zip(*rows))) if words else 0.0


class ZeroShotPathScorer:
    """Scores candidate paths for a question with no training (see the module docstring).

    Args:
        ontology: supplies relation aliases, patterns, descriptions, domain/range and type aliases;
            without one only relation names and node types are used.
        weak_weight: weight of a match on a description word (a name/alias match counts 1).
        hop_penalty: subtracted per hop beyond the first.
        type_weight: weight of the answer-type agreement (and twice that of a clear disagreement).
    """

    def __init__(self, ontology: "Ontology | None" = None, *, weak_weight: float = 0.35,
                 hop_penalty: float = 0.6, type_weight: float = 1.0) -> None:
        self.ontology = ontology
        self.weak_weight = weak_weight
        self.hop_penalty = hop_penalty
        self.type_weight = type_weight
        self._lex: RelationLexicon | None = None
        self._lex_for: int | None = None

    def lexicon(self, graph: GraphIndex) -> RelationLexicon:
        """The lexicon of the graph's relations and the ontology's (the latter tell which question
        words name a relation even when the graph lacks it)."""
        if self._lex is None or self._lex_for != id(graph):
            names = list(dict.fromkeys([*graph.relations, *(self.ontology.relation_types if self.ontology else ())]))
            self._lex = RelationLexicon.build(names, self.ontology)
            self._lex_for = id(graph)
        return self._lex

    def relational_words(self, lex: RelationLexicon, words: Sequence[str]) -> set[str]:
        """The question words that name some relation (graph's or ontology's)."""
        return {w for r in lex.strong for w, m in zip(words, lex.word_matches(r, words, 0.0)) if m >= 0.8}

    @staticmethod
    def name_coverage(relation: str, words: Sequence[str]) -> float:
        """Share of the relation name's own words the question matches ("recorded in" covers
        ``recordedIn`` fully and ``recordLabel`` by half)."""
        own = relation_words(relation)
        if not own:
            return 0.0
        return sum(1 for o in own if any(_match(w, o) > 0 for w in words)) / len(own)

    def score(self, masked_question: str, paths: Sequence[str]) -> np.ndarray:
        """Word-only scores of path names (the :class:`PathScorer` protocol; no graph, no types)."""
        lex = RelationLexicon.build(sorted({p.replace("^-1", "") for path in paths for p in path.split("/")}),
                                    self.ontology)
        words = content_words(masked_question)
        out = np.empty(len(paths), dtype=np.float64)
        for i, path in enumerate(paths):
            parts = [p.replace("^-1", "") for p in path.split("/")]
            out[i] = lex.path_word_score(parts, words, self.weak_weight) - self.hop_penalty * (len(parts) - 1)
        return out

    def score_candidates(
        self, masked_question: str, graph: GraphIndex, topics: Sequence[int], candidates: Sequence[CandidatePath]
    ) -> np.ndarray:
        """One score per candidate; ``-inf`` for a path nothing in the question supports."""
        lex = self.lexicon(graph)
        want = expected_types(masked_question, self.ontology)
        # The noun that names the answer type ("which city") is not a relation word.
        type_noun = _type_noun(masked_question, self.ontology)
        words = [w for w in content_words(masked_question) if w != type_noun]
        relational = self.relational_words(lex, words)
        if type_noun is not None and not relational:
            # "what is the country of X": the type noun is the only relation word there is (it
            # scores, but does not forbid answering by type alone: "in which region is X?")
            words = content_words(masked_question)
        topic_types = {graph.node_type(t) for t in topics} - {""}
        out = np.full(len(candidates), -math.inf, dtype=np.float64)
        for i, cand in enumerate(candidates):
            rels = [graph.relations[d // 2] for d in cand.path]
            # Each relation of a longer path must earn its place with a word of its own.
            word = lex.path_word_score(rels, words, self.weak_weight)
            if len(rels) > 1 and word == 0:
                continue
            agree = self._type_agreement(graph, cand, want, lex)
            domain_ok = self._domain_ok(cand.path[0], graph, topic_types, lex)
            # The answer type alone ("where is X?") picks a path only when no word of the question
            # names a relation; an answer of the wrong type ("when" -> a person) is never given.
            if word == 0 and (relational or agree is None or agree < 0.99 or len(rels) > 1):
                continue
            if agree is not None and agree == 0.0:
                continue
            s = word - self.hop_penalty * (len(rels) - 1)
            # Small tie-breakers: the relation's own name covered by the question; reading a
            # relation forwards ("the followed by of X") over backwards.
            s += 0.1 * sum(self.name_coverage(r, words) for r in rels) / len(rels)
            s -= 0.05 * sum(d % 2 for d in cand.path)
            if agree is not None:
                s += self.type_weight * agree - 2 * self.type_weight * (1 - agree)
            if domain_ok is False:
                s -= 0.5
            out[i] = s
        return out

    # -- helpers ---------------------------------------------------------------------------------
    def _type_agreement(self, graph: GraphIndex, cand: CandidatePath, want: Mapping[str, float],
                        lex: RelationLexicon) -> float | None:
        """Weighted share of the answers whose type is asked for; ``None`` when nothing is known."""
        if not want:
            return None
        nodes = cand.answers[:50].tolist()
        last = cand.path[-1]
        rel = graph.relations[last // 2]
        declared = lex.domain.get(rel, ()) if last % 2 else lex.range.get(rel, ())
        total = 0.0
        known = 0
        declared_weight = max((self._type_weight(t, want) or 0.0 for t in declared), default=0.0)
        for n in nodes:
            types = [graph.node_type(n)] if graph.node_type(n) else list(declared)
            if not types:
                types = ["Date"] if _DATE_VALUE.match(graph.names[n]) else []
            weights = [w for w in (self._type_weight(t, want) for t in types) if w is not None]
            if not weights:
                continue  # types that say nothing about what is asked ("Airport" for "which city")
            known += 1
            w = max(weights)
            # An extractor may type a node wrongly (a prize tagged as a work of art): when the
            # relation's declared range has the type asked for, half credit instead of none.
            total += w if w > 0 else 0.5 * declared_weight
        return total / known if known else None

    def _type_weight(self, type_: str, want: Mapping[str, float]) -> float | None:
        """How much ``type_`` is what is asked for; ``None`` when that cannot be told.

        A type is comparable when it is one asked for, a subtype of one (through the ontology), or
        names a coarse type kgkit knows ("City" is a Place, "Year" a Date). Other types (an
        ontology's "Airport" or "Food" without a hierarchy) neither confirm nor contradict the
        question, so they do not veto an answer the relation words support.
        """
        if type_ in want:
            return want[type_]
        onto = self.ontology
        best: float | None = None
        if onto is not None and onto.has_entity_type(type_):
            for t, w in want.items():
                if onto.has_entity_type(t) and onto.is_a(type_, t):
                    best = max(best or 0.0, w)
        coarse = _TYPE_NOUNS.get(type_.lower())
        if coarse is not None:
            best = max(best or 0.0, want.get(coarse, 0.0))
        if best is None and type_ in _COARSE_TYPES:
            best = 0.0  # a coarse type not asked for: a real disagreement (a Person for "when")
        return best

    def _domain_ok(self, drel: int, graph: GraphIndex, topic_types: set[str], lex: RelationLexicon) -> bool | None:
        rel = graph.relations[drel // 2]
        allowed = lex.range.get(rel, ()) if drel % 2 else lex.domain.get(rel, ())
        if not allowed or not topic_types or self.ontology is None:
            return None
        onto = self.ontology
        return any(onto.has_entity_type(t) and onto.has_entity_type(a) and onto.is_a(t, a)
                   for t in topic_types for a in allowed)
