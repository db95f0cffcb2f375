"""Candidate (head, tail) mention pairs of a parsed text, and how scored pairs become facts.

The classifier (:mod:`kgkit.extract.trained.model`) scores every pair this module proposes; the
helpers at the bottom turn its per-pair probabilities into one set of facts per text: a sentence's
runner-up facts of one relation are discounted (:func:`discount_repeats`) and overlapping spans
naming one value keep the most confident (:func:`drop_overlaps`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kgkit.extract.trained.mentions import Mention, sentence_of, sentences

__all__ = ["Prediction", "candidate_pairs", "discount_repeats", "drop_overlaps", "kind_pair", "sentence_starts"]


def candidate_pairs(doc: Any, mentions: Sequence[Mention], max_pairs: int = 400) -> list[tuple[int, int]]:
    """Ordered (head, tail) index pairs in the same sentence; a pronoun head reaches its antecedent's facts."""
    starts = sentence_starts(doc)
    sent_of = [starts[m.start] for m in mentions]
    pairs: list[tuple[int, int]] = []
    for i, h in enumerate(mentions):
        if h.is_literal and not (h.kind == "quote" and _opens_sentence(doc, h, starts[h.start])):
            continue  # values are objects, never subjects; a quoted title opening a sentence is a name
        for j, t in enumerate(mentions):
            if i == j or sent_of[i] != sent_of[j] or t.kind == "pron":
                continue
            if h.start < t.end and t.start < h.end:
                continue  # overlapping spans name the same thing
            if h.resolved.canonical == t.resolved.canonical:
                continue
            pairs.append((i, j))
    return pairs[:max_pairs]


def _opens_sentence(doc: Any, m: Mention, sent_start: int) -> bool:
    """Whether only punctuation (an opening quote) comes before ``m`` in its sentence (which starts at
    token ``sent_start``): ``"It Will Rain" is a song by Bruno Mars``."""
    return all(doc[k].is_punct for k in range(sent_start, m.start))


def kind_pair(head: Mention, tail: Mention) -> str:
    """``"head kind|tail kind"``, named-entity labels folded (``ent:PERSON`` -> ``ent``)."""
    return f"{head.kind.split(':')[0]}|{tail.kind.split(':')[0]}"


def sentence_starts(doc: Any) -> list[int]:
    """For each token, the index of the first token of its sentence."""
    sents = sentences(doc)
    return [sents[k].start for k in sentence_of(doc)]


@dataclass(frozen=True)
class Prediction:
    head: Mention
    relation: str
    tail: Mention
    subject: str
    object: str
    confidence: float


def discount_repeats(support: dict[tuple[str, str, str], dict[int, float]], rate: Mapping[str, float]) -> None:
    """Scale the second, third ... fact of one relation in one sentence by the relation's repeat rate.

    Pairs are scored one by one, so "directed by A ... produced by B" can give A and B the same
    relation with similar probabilities; the examples say how often a sentence really states one
    relation twice (a few per cent in Text2KGBench), which is the prior odds of the runner-up.
    """
    ranked: dict[tuple[int, str], list[tuple[float, tuple[str, str, str]]]] = {}
    for key, per_sent in support.items():
        for sent, p in per_sent.items():
            ranked.setdefault((sent, key[1]), []).append((p, key))
    for (sent, rel), facts in ranked.items():
        if len(facts) < 2:
            continue
        facts.sort(key=lambda x: -x[0])
        r = rate.get(rel, 1.0)
        for p, key in facts[1:]:
            support[key][sent] = p * r


def drop_overlaps(preds: list[Prediction]) -> list[Prediction]:
    """For one head and relation, overlapping tail spans are one value: keep the most confident."""
    preds.sort(key=lambda p: -p.confidence)
    kept: list[Prediction] = []
    for p in preds:
        clash = any(
            k.relation == p.relation and k.subject == p.subject
            and k.tail.start < p.tail.end and p.tail.start < k.tail.end
            for k in kept
        ) or any(
            k.relation == p.relation and k.object == p.object
            and k.head.resolved.start < p.head.resolved.end and p.head.resolved.start < k.head.resolved.end
            for k in kept
        )
        if not clash:
            kept.append(p)
    return kept
