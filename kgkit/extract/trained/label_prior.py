"""The relation-name prior: does the text between two mentions say the relation's own name?

Relation names are written in sentences far more often than chance: "BBC was founded by John Reith"
(``foundedBy``), "Aarhus Airport has a runway length of 2776.0" (``runwayLength``), "the capital of
Denmark is Copenhagen" (``capital``). A classifier over sparse features learns that "found ... by"
signals ``foundedBy`` only from examples of ``foundedBy``, and a relation with three examples teaches
it little. This prior lets every relation profit from what the others taught: for each pair and each
relation it measures which share of the relation's name words (``relation_words``: ``foundedBy`` ->
found(ed); aliases and patterns of the ontology too) appear in three places of the pair's context
(between the mentions, on the dependency path, in a small window around them). The classifier adds
these shares, weighted by three learned scalars shared by all relations, to its logits.

The words are read back from the pair's feature strings (:func:`kgkit.extract.trained.features.pair_features`),
so the prior needs no second pass over the text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kgkit.ontology import Ontology
from kgkit.reason.zero_shot import RelationLexicon, synonyms

__all__ = ["GROUPS", "LabelPrior", "group_word"]

GROUPS = ("between", "path", "window")
_PREFIX_GROUP = {"bw": 0, "bwfar": 0, "pw": 1, "win<": 2, "win>": 2}
# spaCy lemmas that hide the word a relation name uses ("born" -> "bear")
_LEMMA_SURFACE = {"bear": "birth", "die": "death", "lead": "leader"}


def group_word(feature: str) -> tuple[int, str] | None:
    """``"F|bw=found"`` -> ``(0, "found")``; ``None`` for features that are not context words."""
    body = feature.split("|", 1)[1] if feature[:2] in ("F|", "B|") else feature
    for prefix in ("win<", "win>"):
        if body.startswith(prefix):
            return _PREFIX_GROUP[prefix], body[len(prefix):]
    key, sep, word = body.partition("=")
    if not sep or key not in _PREFIX_GROUP or not word.isalpha():
        return None
    return _PREFIX_GROUP[key], word


class LabelPrior:
    """Shares of each relation's name words present in a pair's context (see the module docstring)."""

    def __init__(self, relations: Sequence[str], ontology: Ontology | None = None) -> None:
        self.relations = list(relations)
        self.lexicon = RelationLexicon.build(self.relations, ontology)
        self._sizes = np.asarray([max(1, len(self.lexicon.strong.get(r, ()))) for r in self.relations], dtype=np.float32)
        # name word -> the relations whose names use it (a word is tried once against each name word)
        self._by_word: dict[str, list[int]] = {}
        for k, r in enumerate(self.relations):
            for w in self.lexicon.strong.get(r, ()):
                self._by_word.setdefault(w, []).append(k)
        self._by_prefix: dict[str, set[str]] = {}
        for w in self._by_word:
            self._by_prefix.setdefault(w[:3], set()).add(w)
        self._cache: dict[str, list[tuple[int, str]]] = {}
        self._feature_cache: dict[str, list[tuple[int, int, str]]] = {}

    def _matches(self, word: str) -> list[tuple[int, str]]:
        """(relation index, name word) pairs that ``word`` matches."""
        hit = self._cache.get(word)
        if hit is None:
            words = [word, _LEMMA_SURFACE[word]] if word in _LEMMA_SURFACE else [word]
            words += [syn for w in words for syn in synonyms(w)]
            # a word matches a name word only if both start alike (same word, inflection or common
            # stem of 4+ letters), so only the name words with its first three letters are tried
            near = {s for w in words for s in self._by_prefix.get(w[:3], ())}
            probe = RelationLexicon(strong={"": near})
            names = {s for w in words for s in probe.matched_words("", w)} if near else set()
            hit = self._cache[word] = [(k, s) for s in sorted(names) for k in self._by_word[s]]
        return hit

    @property
    def sizes(self) -> np.ndarray:
        """Each relation's number of name words (the denominator of its shares)."""
        return self._sizes

    def entries(self, feature: str) -> list[tuple[int, int, str]]:
        """``(group, relation, name word)`` of each relation name word that the feature string says."""
        gw = group_word(feature)
        return [] if gw is None else [(gw[0], k, s) for k, s in self._matches(gw[1])]

    def _feature(self, feature: str) -> list[tuple[int, int, str]]:
        hit = self._feature_cache.get(feature)
        if hit is None:
            hit = self.entries(feature)
            if len(self._feature_cache) < 500_000:
                self._feature_cache[feature] = hit
        return hit

    def sparse(self, features: Sequence[str]) -> list[tuple[int, int, float]]:
        """The nonzero entries ``(group, relation, share)`` of one pair's prior."""
        seen: dict[tuple[int, int], set[str]] = {}
        cache = self._feature_cache  # looked up inline: a pair has ~40 features, a chunk ~300 pairs
        for f in features:
            hit = cache.get(f)
            if hit is None:
                hit = self._feature(f)
            for g, k, s in hit:  # most features are no context word: an empty list
                seen.setdefault((g, k), set()).add(s)
        sizes = self._sizes
        return [(g, k, len(ws) / float(sizes[k])) for (g, k), ws in seen.items()]

    def dense(self, rows: Sequence[Sequence[tuple[int, int, float]]], n_classes: int) -> np.ndarray:
        """``(len(rows), len(GROUPS), n_classes)`` shares; the classes past the relations ("none") stay 0."""
        out = np.zeros((len(rows), len(GROUPS), n_classes), dtype=np.float32)
        flat = [e for entries in rows for e in entries]
        if flat:
            # one array of all entries and the pair of each: building per-entry index tuples took as long
            # as the classifier's products
            at = np.asarray(flat, dtype=np.float64)
            i = np.repeat(np.arange(len(rows)), [len(entries) for entries in rows])
            out[i, at[:, 0].astype(np.int64), at[:, 1].astype(np.int64)] = at[:, 2]
        return out
