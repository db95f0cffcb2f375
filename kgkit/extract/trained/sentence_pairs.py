"""What the trained extractor's pair encoders share: sentences located for their pairs, batched scoring,
and saving (:class:`SentencePairEncoder`).

A pair encoder reads each sentence holding a candidate pair once and scores the pair from its head's and
tail's states: the fine-tuned transformer (:mod:`kgkit.extract.trained.encoder`) and the light GRU
(:mod:`kgkit.extract.trained.recurrent`) differ only in how they read a sentence and pool a pair
(``logits(texts, located pairs)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kgkit.extract.trained.mentions import Mention, sentence_of, sentences

__all__ = ["SentencePairEncoder", "Span", "pair_probabilities", "pair_probabilities_many"]

Span = tuple[int, int]  # character offsets within the sentence
Item = tuple[Any, Sequence[Mention], Sequence[tuple[int, int]]]  # a parsed text, its mentions, its pairs


def _torch() -> Any:
    import torch

    return torch


def _pair_spans(doc: Any, mentions: Sequence[Mention], pairs: Sequence[tuple[int, int]]
                ) -> tuple[list[str], list[tuple[int, Span, int, Span]]]:
    """Texts of the sentences the pairs' mentions lie in, and per pair (sentence of head, head span,
    sentence of tail, tail span), spans relative to their sentence."""
    sents, sent_of = sentences(doc), sentence_of(doc)
    placed: dict[int, tuple[int, int]] = {}  # sentence index -> (index into texts, its first character)
    texts: list[str] = []
    where: dict[int, tuple[int, Span]] = {}

    def locate(k: int) -> tuple[int, Span]:
        hit = where.get(k)
        if hit is None:
            m = mentions[k]
            at = sent_of[m.start]
            s = placed.get(at)
            if s is None:
                sent = sents[at]
                s = placed[at] = (len(texts), sent.start_char)
                texts.append(sent.text)
            hit = where[k] = (s[0], (m.start_char - s[1], m.end_char - s[1]))
        return hit

    out = []
    for i, j in pairs:
        si, hi = locate(i)
        sj, tj = locate(j)
        out.append((si, hi, sj, tj))
    return texts, out


def pair_probabilities(encoder: Any, doc: Any, mentions: Sequence[Mention], pairs: Sequence[tuple[int, int]],
                       batch_sentences: int = 32) -> np.ndarray:
    """``(len(pairs), classes)`` softmax probabilities of a pair encoder (anything with ``network``,
    ``n_classes`` and ``logits(texts, located pairs)``) for the pairs of a parsed text."""
    return pair_probabilities_many(encoder, [(doc, mentions, pairs)], batch_sentences)[0]


def pair_probabilities_many(encoder: Any, items: Sequence[Item],
                            batch_sentences: int = 32) -> list[np.ndarray]:
    """:func:`pair_probabilities` of several parsed texts at once: their sentences share batches, so a
    text of two sentences does not pay a whole encoder call (the GRU's cost is mostly per step, not per
    sentence)."""
    torch = _torch()
    texts: list[str] = []
    located: list[tuple[int, Span, int, Span]] = []
    sizes = []
    for doc, mentions, pairs in items:
        sent_texts, loc = _pair_spans(doc, mentions, pairs)
        base = len(texts)
        texts.extend(sent_texts)
        located.extend((si + base, h, sj + base, t) for si, h, sj, t in loc)
        sizes.append(len(loc))
    encoder.network.eval()
    probs = np.zeros((len(located), encoder.n_classes), dtype=np.float32)
    by_batch: dict[int, list[int]] = {}
    for k, p in enumerate(located):  # each pair goes with the batch of its head's sentence
        by_batch.setdefault(p[0] // batch_sentences, []).append(k)
    with torch.no_grad():
        for b, sel in sorted(by_batch.items()):
            lo = b * batch_sentences
            part = texts[lo:lo + batch_sentences]
            extra: dict[int, int] = {}
            rows = []
            for k in sel:
                si, h, sj, t = located[k]
                if not lo <= sj < lo + batch_sentences:  # a tail in another batch: encode its sentence here too
                    if sj not in extra:
                        extra[sj] = len(part)
                        part = [*part, texts[sj]]
                    rows.append((si - lo, h, extra[sj], t))
                else:
                    rows.append((si - lo, h, sj - lo, t))
            probs[sel] = torch.softmax(encoder.logits(part, rows), dim=-1).numpy()
    out = []
    at = 0
    for n in sizes:
        out.append(probs[at:at + n])
        at += n
    return out


class SentencePairEncoder:
    """Scoring and saving of a pair encoder: subclasses set ``network`` (a torch ``ModuleDict`` whose
    ``"head"`` ends in the class layer) and define ``logits(texts, located pairs)``."""

    network: Any
    batch_sentences = 32  # sentences per encoder call

    @property
    def n_classes(self) -> int:
        return int(self.network["head"][-1].out_features)

    def logits(self, texts: Sequence[str], pairs: Sequence[tuple[int, Span, int, Span]]) -> Any:
        raise NotImplementedError

    def probabilities(self, doc: Any, mentions: Sequence[Mention], pairs: Sequence[tuple[int, int]],
                      batch_sentences: int | None = None) -> np.ndarray:
        """``(len(pairs), classes)`` softmax probabilities for the pairs of a parsed text."""
        return pair_probabilities(self, doc, mentions, pairs, batch_sentences or self.batch_sentences)

    def probabilities_many(self, items: Sequence[Item], batch_sentences: int | None = None) -> list[np.ndarray]:
        """:meth:`probabilities` of several parsed texts, their sentences batched together."""
        return pair_probabilities_many(self, items, batch_sentences or self.batch_sentences)

    def save(self, path: Path) -> None:
        _torch().save(self.network.state_dict(), path)

    def load_weights(self, path: Path) -> None:
        self.network.load_state_dict(_torch().load(path, map_location="cpu", weights_only=True))
        self.network.eval()
