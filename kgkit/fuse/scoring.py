"""Pair scoring and cannot-link rules for entity resolution.

A pair of entities gets *signals* (each in [0, 1]) and a score from the first rule that fires:

=============  ==================================================================  =======
rule           when                                                                score
=============  ==================================================================  =======
``exact``      same match key, a shared alias, or one was merged into the other    1.0
``token_set``  the same words in another order ("University of Cambridge"), each    0.95
               as often; not for titles (``title_types``)
``partial``    person names where one is an initials-compatible sub-sequence of    0.8 +
               the other ("Curie" / "M. Curie" / "Marie Curie")                    0.2 ctx
``acronym``    one name is the acronym of the other ("IBM")                        0.8 + 0.2 ctx
``weighted``   otherwise: string, embedding and context similarity, weighted       0..1
=============  ==================================================================  =======

Acronyms and initials only *propose*: an ``acronym`` pair, a ``partial`` pair whose short form
uses initials ("M. Curie") without a shared fact to back it, and one whose short form is a single
word found in a document that neither names the full name nor states a shared fact ("Carey": Harry
Carey in one document, Mariah Carey in others), is never merged on its score alone
(see :data:`REVIEW_ONLY_RULES` and :func:`needs_review`); it becomes a candidate for review. A
shared alias counts as an ``exact`` match only when it is a full name (two or more tokens) or the
primary name of one of the two: a bare surname that two people were both called ("Tesla") is not.

Cannot-link (never merge, not even through a third entity): incompatible types; different numbers
("Henry VI" / "Henry VIII"); persons whose given names clearly differ; conflicting values of a
functional relation (two birth dates), unless the names match exactly; pairs the user lists in
``cannot_link``. Persons whose *primary* names differ in given name never merge, even when they
share an alias ("Nikola Tesla" / "Milutin Tesla", both once called "Tesla"). Soft cannot-link (no
direct merge, and no two such names in one cluster): each name has a token the other lacks
("Bard College" / "Birkbeck College").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from kgkit.fuse.normalize import STOPWORDS, fold, given_names_compatible, initials_compatible, match_key, tokens
from kgkit.ontology import Ontology

__all__ = [
    "EntityView", "ScoringParams", "PairScore", "REVIEW_ONLY_RULES", "score_pair", "cannot_link_reason",
    "values_compatible", "needs_review", "is_acronym_like",
]

#: Rules whose pairs are only ever proposed for review, never merged on their score.
REVIEW_ONLY_RULES = frozenset({"acronym"})


@dataclass
class EntityView:
    """What the matcher knows about one entity (built from the store by :mod:`kgkit.fuse.graph`)."""

    id: str
    name: str
    type: str
    aliases: tuple[str, ...] = ()
    merged_ids: frozenset[str] = frozenset()
    neighbours: set[str] = field(default_factory=set)
    facts: set[tuple[str, str, str]] = field(default_factory=set)  # (direction, predicate, other id)
    functional: dict[str, set[str]] = field(default_factory=dict)  # predicate -> object names
    support: int = 0  # evidence count, used to pick the canonical member
    documents: frozenset[str] = frozenset()  # documents its evidence comes from (empty: unknown)
    fact_documents: dict[tuple[str, str, str], frozenset[str]] = field(default_factory=dict)  # fact -> its documents

    def keys(self) -> set[str]:
        """Match keys of the name and aliases that are long enough to identify (3+ letters or digits)."""
        person = self.type == "Person"
        return {k for n in (self.name, *self.aliases) if n and _decisive(k := match_key(n, person=person))}


def _decisive(key: str) -> bool:
    """Keys of one or two characters ("c", "x", "un") are too short to identify anything."""
    return sum(ch.isalnum() for ch in key) >= 3


def _caps_word(name: str) -> bool:
    """One word in capitals ("SOFTWARE", "IBM"): an acronym or shouted licence text, not a plain name."""
    letters = [ch for ch in name if ch.isalpha()]
    return len(name.split()) == 1 and len(letters) >= 2 and all(ch.isupper() for ch in letters)


def strong_shared_keys(a: EntityView, b: EntityView) -> set[str]:
    """Shared name keys that identify: a full name (2+ tokens) or the primary name of one of the two.

    "Tesla", an alias of both "Nikola Tesla" and "Milutin Tesla", is shared but identifies neither.
    """
    primary = {match_key(a.name, person=a.type == "Person"), match_key(b.name, person=b.type == "Person")}
    return {k for k in a.keys() & b.keys() if k in primary or len(k.split()) >= 2}


def is_acronym_like(name: str) -> bool:
    """Whether ``name`` looks like an acronym or initials ("UN", "BC", "I.B.M.", "un") rather than a name."""
    letters = "".join(ch for ch in name if ch.isalnum())
    if not letters or " " in name.strip():
        return False
    if len(letters) <= 3 and len(name.strip()) <= 6:
        return True
    return letters.isupper() and len(letters) <= 6


@dataclass(frozen=True)
class ScoringParams:
    """Weights and thresholds of the pair scorer.

    Args:
        merge_threshold: a pair at or above this score is merged.
        ambiguous_threshold: pairs in ``[ambiguous, merge)`` go to the adjudicator, if one is set.
        w_string, w_embedding, w_context: weights of the ``weighted`` rule (renormalised when no
            embedding is available).
        person_types: entity types whose names follow given-name/surname conventions.
        org_types: entity types for which the acronym rule applies ("IBM", "NYC").
        title_types: entity types whose names are titles: reordered words name another work.
    """

    merge_threshold: float = 0.85
    ambiguous_threshold: float = 0.6
    ambiguity_margin: float = 0.05
    w_string: float = 0.35
    w_embedding: float = 0.25
    w_context: float = 0.4
    person_types: tuple[str, ...] = ("Person",)
    org_types: tuple[str, ...] = ("Organization", "Place")
    title_types: tuple[str, ...] = ("Work",)


@dataclass(frozen=True)
class PairScore:
    a: str
    b: str
    score: float
    rule: str
    signals: Mapping[str, float]


def types_compatible(a: str, b: str, ontology: Ontology | None) -> bool:
    if a == b:
        return True
    if ontology is None:
        return False
    return ontology.is_a(a, b) or ontology.is_a(b, a)


def values_compatible(xs: set[str], ys: set[str]) -> bool:
    """Whether two sets of functional values can describe the same thing ("1867" ~ "7 Nov 1867")."""
    for x in xs:
        tx = set(tokens(x))
        for y in ys:
            ty = set(tokens(y))
            if tx <= ty or ty <= tx:
                return True
    return False


def _is_acronym(short: str, long_: str) -> bool:
    s = short.replace(" ", "")
    toks = [t for t in long_.split() if t not in {"of", "and", "the", "for", "de"}]
    return 2 <= len(s) <= 8 and len(toks) >= 2 and s == "".join(t[0] for t in toks)


def cannot_link_reason(
    a: EntityView, b: EntityView, ontology: Ontology | None, params: ScoringParams, *, names_match: bool = False
) -> str | None:
    """Why ``a`` and ``b`` must never be merged, or ``None``."""
    if not types_compatible(a.type, b.type, ontology):
        return f"types differ ({a.type} vs {b.type})"
    if not names_match and _numbers(a.name) != _numbers(b.name):
        return f"numbers differ ({a.name!r} vs {b.name!r})"
    if _symbols(a.name) != _symbols(b.name):
        return f"symbols differ ({a.name!r} vs {b.name!r})"
    forms = (_legal_form(a.name), _legal_form(b.name))
    if None not in forms and forms[0] != forms[1]:
        return f"legal forms differ ({a.name!r} vs {b.name!r}): two companies"
    if a.type in params.person_types or b.type in params.person_types:
        # Primary names only, shared aliases or not: a father and son both called "Tesla" stay two.
        if not given_names_compatible(tokens(a.name), tokens(b.name)):
            return f"given names differ ({a.name!r} vs {b.name!r})"
    if not names_match:
        for pred in a.functional.keys() & b.functional.keys():
            if not values_compatible(a.functional[pred], b.functional[pred]):
                return f"conflicting {pred} ({sorted(a.functional[pred])} vs {sorted(b.functional[pred])})"
    return None


# Corporate suffixes grouped by legal form: "Collabora Ltd" and "Collabora Inc" are two companies,
# "IBM Corp" and "IBM Corporation" one.
_LEGAL_FORMS = {"inc": "us", "corp": "us", "corporation": "us", "co": "us", "company": "us", "llc": "us",
                "ltd": "uk", "limited": "uk", "plc": "uk", "gmbh": "de", "ag": "de", "sa": "sa", "nv": "nl", "bv": "nl"}


def _symbols(name: str) -> tuple[str, ...]:
    """Signs that folding drops but that change the meaning: "C" / "C++" / "C#", "a + b" / "a - b"."""
    return tuple(re.findall(r"\+\+|#|\+|[*=]", name))


def _legal_form(name: str) -> str | None:
    toks = fold(name).split()
    return _LEGAL_FORMS.get(toks[-1]) if len(toks) > 1 else None


_ROMAN = re.compile(r"^(?=[ivxlcdm]+$)m{0,3}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")


def _numbers(name: str) -> tuple[str, ...]:
    """Digit and roman-numeral tokens in order ("Henry VIII", "Apollo 11", "Linux 2.6" != "Linux 6.2");
    a single 'i' is not a number."""
    return tuple(t for t in tokens(name) if t.isdigit() or (len(t) > 1 and _ROMAN.match(t)))


def distinct_tokens_reason(a: EntityView, b: EntityView) -> str | None:
    """A *soft* cannot-link: each name has a content token the other lacks ("Trinity College" vs
    "King's College", "Nobel Prize in Physics" vs "... Chemistry"). It blocks a direct merge, not a
    merge through a bridging name ("Marie Skłodowska" - "Marie Skłodowska-Curie" - "Marie Curie").
    """
    ta = [t for t in tokens(a.name) if t not in STOPWORDS]
    tb = [t for t in tokens(b.name) if t not in STOPWORDS]
    if len(ta) < 2 or len(tb) < 2:
        return None

    def unmatched(xs: list[str], ys: list[str]) -> list[str]:
        return [x for x in xs if not any(x == y or (len(x) == 1 and y.startswith(x)) or (len(y) == 1 and x.startswith(y))
                                         or JaroWinkler.similarity(x, y) >= 0.9 for y in ys)]

    ua, ub = unmatched(ta, tb), unmatched(tb, ta)
    if ua and ub:
        return f"distinct name tokens ({' '.join(ua)} vs {' '.join(ub)})"
    return None


def _string_similarity(a: EntityView, b: EntityView) -> float:
    best = 0.0
    for x in {match_key(n) for n in (a.name, *a.aliases) if n}:
        for y in {match_key(n) for n in (b.name, *b.aliases) if n}:
            s = max(fuzz.token_sort_ratio(x, y) / 100.0, JaroWinkler.similarity(x, y))
            best = max(best, s)
    return best


def _partial_name(a: EntityView, b: EntityView) -> bool:
    ta, tb = tokens(a.name), tokens(b.name)
    if not ta or not tb or ta == tb:
        return False
    # The shorter name, or at equal length the one with more initials, is the partial form.
    short, long_ = sorted((ta, tb), key=lambda t: (len(t), -sum(len(x) == 1 for x in t)))
    if len(short) == len(long_) and not any(len(t) == 1 for t in short):
        return False  # same length: only an abbreviation ("M. Curie") is a partial form
    # Surnames must align: the short form ends with the long form's surname or one part of a
    # hyphenated surname ("Curie" ~ "Skłodowska-Curie"). This keeps "Albert Einstein Award" and
    # "Mary Wollstonecraft" (vs "Mary Wollstonecraft Godwin") out.
    long_name = a.name if long_ is ta else b.name
    last_word = long_name.replace(",", " ").split()[-1] if long_name.split() else ""
    surname_parts = set(fold(last_word).split()) | {long_[-1]}
    if short[-1] not in surname_parts:
        return False
    return initials_compatible(short, long_)


def _bare_name_elsewhere(a: EntityView, b: EntityView) -> bool:
    """A one-word name ("Carey") occurs in a document that neither names the full name ("Harry
    Carey") nor states a fact the two share.

    A bare surname names whoever its document is about (Mariah Carey in one, Harry Carey in
    another), so a fact shared in one document does not make every "Carey" Harry Carey; each of
    its documents has to back the match ("Einstein was born in Ulm" does, for Albert Einstein).
    """
    short, long_ = sorted((a, b), key=lambda v: len(tokens(v.name)))
    if len(tokens(short.name)) != 1 or not short.documents or not long_.documents:
        return False
    agreeing = {p for p in short.functional.keys() & long_.functional.keys()
                if values_compatible(short.functional[p], long_.functional[p])}  # "1867" ~ "7 November 1867"
    backed = set(long_.documents)
    for fact, docs in short.fact_documents.items():
        if fact in long_.facts or (fact[0] == "out" and fact[1] in agreeing):
            backed |= docs
    return not short.documents <= backed


def _same_words(a: EntityView, b: EntityView, params: ScoringParams) -> bool:
    """The ``token_set`` rule: the same content words, each as often, perhaps in another order.

    Not when a word repeats in one name only ("in_addr addr", "SERVICE_DIRECTORY_SERVICE" vs
    "Service Directory"), when each name has a small word the other lacks ("po/da.po" vs
    "po/de.po"), or when a title's words come in another order ("The Frog Princess" vs "The Princess
    and the Frog": a title is its words in order).
    """
    ta, tb = tokens(a.name), tokens(b.name)
    ca, cb = [t for t in ta if t not in STOPWORDS], [t for t in tb if t not in STOPWORDS]
    if len({t for t in ca if len(t) > 1}) < 2 or Counter(ca) != Counter(cb):
        return False
    if (set(ta) - set(tb)) and (set(tb) - set(ta)):  # only small words can differ here ("da" / "de")
        return False
    if (a.type in params.title_types or b.type in params.title_types) and ca != cb:
        return False
    return True


def agreeing_functional(a: EntityView, b: EntityView) -> int:
    """Functional relations on which both have compatible values (same birth year, say)."""
    return sum(1 for p in a.functional.keys() & b.functional.keys() if values_compatible(a.functional[p], b.functional[p]))


def context_similarity(a: EntityView, b: EntityView) -> float:
    """1 - 0.5^(shared facts + shared neighbours / 2): 0 with nothing shared, 0.75 with two facts.

    Compatible values of a functional relation count as a shared fact even when the objects are
    different nodes ("1867" vs "7 November 1867").
    """
    both_functional = a.functional.keys() & b.functional.keys()
    exact = [f for f in a.facts & b.facts if not (f[0] == "out" and f[1] in both_functional)]
    shared_facts = len(exact) + agreeing_functional(a, b)
    shared_nb = len((a.neighbours & b.neighbours) - {a.id, b.id})
    return 1.0 - 0.5 ** (shared_facts + 0.5 * shared_nb)


def score_pair(
    a: EntityView,
    b: EntityView,
    params: ScoringParams,
    *,
    embedding_similarity: float | None = None,
) -> PairScore:
    """Score one pair (type compatibility and cannot-link are checked separately)."""
    key_a, key_b = match_key(a.name, person=a.type == "Person"), match_key(b.name, person=b.type == "Person")
    signals: dict[str, float] = {
        "exact": float(key_a == key_b and _decisive(key_a)),
        "alias": float(bool(strong_shared_keys(a, b))),
        "prior_merge": float(a.id in b.merged_ids or b.id in a.merged_ids or bool(a.merged_ids & b.merged_ids)),
        "string": round(_string_similarity(a, b), 4),
        "context": round(context_similarity(a, b), 4),
        "shared_facts": float(len(a.facts & b.facts)),
        "shared_neighbours": float(len((a.neighbours & b.neighbours) - {a.id, b.id})),
        "type": float(a.type == b.type),
    }
    if embedding_similarity is not None:
        signals["embedding"] = round(float(embedding_similarity), 4)
    if signals["exact"] or signals["alias"] or signals["prior_merge"]:
        if fold(a.name) != fold(b.name) and (_caps_word(a.name) or _caps_word(b.name)):
            signals["caps_word"] = 1.0  # "SOFTWARE" ~ "Software AG" only once the suffix is dropped
        if signals["exact"] and (_legal_form(a.name) is None) != (_legal_form(b.name) is None):
            signals["suffix_only"] = 1.0  # "Redis" ~ "Redis Inc": the product, the person or the company?
        shared = {key_a} if signals["exact"] else strong_shared_keys(a, b)
        if (not signals["prior_merge"] and "Person" in (a.type, b.type) and shared
                and all(len(k.split()) == 1 for k in shared)):
            signals["one_word_person"] = 1.0  # "Simon" ~ "Simón": a one-word name says little about who
        return PairScore(a.id, b.id, 1.0, "exact", signals)
    if _same_words(a, b, params):
        # Same words in another order: "Cambridge University" / "University of Cambridge".
        signals["token_set"] = 1.0
        return PairScore(a.id, b.id, 0.95, "token_set", signals)
    if a.type in params.person_types and _partial_name(a, b):
        signals["partial"] = 1.0
        signals["initials"] = float(any(len(t) == 1 for t in (*tokens(a.name), *tokens(b.name))))
        if _bare_name_elsewhere(a, b):
            signals["bare_name_elsewhere"] = 1.0
        return PairScore(a.id, b.id, round(0.8 + 0.2 * signals["context"], 4), "partial", signals)
    if a.type in params.org_types:
        na, nb = match_key(a.name), match_key(b.name)
        if _is_acronym(na, nb) or _is_acronym(nb, na):
            signals["acronym"] = 1.0
            return PairScore(a.id, b.id, round(0.8 + 0.2 * signals["context"], 4), "acronym", signals)
    return PairScore(a.id, b.id, round(_weighted(signals, params), 4), "weighted", signals)


def needs_review(ps: PairScore) -> str | None:
    """Why a pair may only be proposed, never merged on its score, or ``None``.

    Acronyms always; initials ("M. Curie" / "Marie Curie") unless the two share a fact.
    """
    if ps.rule.split("+")[0] in REVIEW_ONLY_RULES:
        return "acronym match: proposed for review, never merged on its own"
    if ps.rule == "exact" and ps.signals.get("caps_word"):
        return "a capitalised word matches only once a suffix is dropped: proposed for review"
    if ps.rule == "exact" and ps.signals.get("suffix_only") and ps.signals.get("context", 0.0) < 0.25:
        return "a name matches a company name only without its legal form, with no shared fact: proposed for review"
    if ps.rule == "exact" and ps.signals.get("one_word_person") and ps.signals.get("context", 0.0) < 0.25:
        return "a one-word person name matched without a shared fact or neighbour: proposed for review"
    if ps.rule.startswith("partial") and ps.signals.get("bare_name_elsewhere"):
        return ("a one-word name also used in documents that neither name the full name nor state a shared fact: "
                "proposed for review")
    if ps.rule.startswith("partial") and ps.signals.get("initials") and ps.signals.get("context", 0.0) < 0.5:
        return "initials match without a shared fact: proposed for review"
    return None


def _weighted(signals: Mapping[str, float], p: ScoringParams) -> float:
    total = p.w_string * signals["string"] + p.w_context * signals["context"]
    weight = p.w_string + p.w_context
    if "embedding" in signals:
        total += p.w_embedding * max(0.0, signals["embedding"])
        weight += p.w_embedding
    return total / weight if weight else 0.0
