"""From a text's scored mention pairs to facts, under decision settings chosen on held-back examples.

:meth:`TrainedModel.score_doc <kgkit.extract.trained.model.TrainedModel.score_doc>` scores every
candidate pair of a parsed text once; :func:`decode` turns those scores into facts. The split lets the
held-back examples try many settings on one scoring pass (:mod:`kgkit.extract.trained.calibration`).

Settings (:class:`DecodeSettings`):

* ``threshold``: a fact is kept when its calibrated confidence reaches it.
* ``runner_up_floor``: within one sentence, a fact of relation *r* is kept only when its confidence is
  at least this share of the best confidence of *r* among the sentence's pairs. Most sentences state a
  relation once or twice; pairs far below the best are other readings of the same statement
  ("directed by X and starring Y": the pair with Y is a weak ``director``). 0 keeps them all.
* ``full_names``: a one-word subject ("McKinney") that the text also writes after up to three
  capitalised words ("Nina Mae McKinney") is named by the longest such form. People and works are
  introduced by their full name and then called by its last word, and facts name them in full.

Each pair keeps every relation above the threshold (``relations_per_pair`` caps them), duplicates
merge, a title's "The" is written as the relation's examples write it, and a fact restated in several
sentences of a chunk is scored by noisy-or over those sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from kgkit.extract.trained.mentions import Mention
from kgkit.extract.trained.pairs import Prediction, discount_repeats, drop_overlaps, sentence_starts

if TYPE_CHECKING:
    from kgkit.extract.trained.model import TrainedModel

__all__ = ["DecodeSettings", "ScoredDoc", "decode", "full_name"]

_SUPPORT_FLOOR = 0.4  # statements below threshold * this never count, even when repeated
_ONE_WORD = re.compile(r"[A-Z][\w'-]+")
# up to three capitalised words, each followed by space; a full stop only after an initial or a short
# title ("B.", "Dr."), never after a sentence's last word
_RUN = r"((?:(?:[A-Z][\w'-]*|[A-Z][a-z]?\.)\s+){1,3})"
_NOT_A_NAME = re.compile(r"\b(The|A|An|In|On|At|Of)\s")  # a run holding these is a title or a phrase, not a name


@dataclass(frozen=True)
class DecodeSettings:
    """How scores become facts (see the module docstring)."""

    threshold: float
    runner_up_floor: float = 0.0
    full_names: bool = False


@dataclass
class ScoredDoc:
    """A parsed text's mentions, candidate pairs and class probabilities (rows: pairs; columns:
    relations, "none" excluded; zero where the ontology or the caller rules a relation out)."""

    doc: Any
    mentions: list[Mention]
    pairs: list[tuple[int, int]]
    probs: np.ndarray


def full_name(text: str, name: str, cache: dict[str, str] | None = None) -> str:
    """The longest "Capitalised ... ``name``" run (up to three words before it) in ``text``, or ``name``.

    Only a one-word capitalised ``name`` is lengthened, and runs holding an article or a preposition
    ("In Old Arizona") are not names.
    """
    if cache is not None and name in cache:
        return cache[name]
    full = name
    if _ONE_WORD.fullmatch(name):
        runs = [r for r in re.findall(_RUN + re.escape(name) + r"\b", text) if not _NOT_A_NAME.search(r)]
        if runs:
            full = re.sub(r"\s+", " ", max(runs, key=len) + name).strip()
    if cache is not None:
        cache[name] = full
    return full


def decode(model: TrainedModel, scored: ScoredDoc, settings: DecodeSettings) -> list[Prediction]:
    """Facts of one scored text under ``settings``."""
    doc, mentions, pairs, probs = scored.doc, scored.mentions, scored.pairs, scored.probs
    if not pairs:
        return []
    # the raw probabilities rank; the Platt-scaled ones are what the threshold compares
    cal = np.where(probs > 0, model.calibrated(probs), 0.0)
    thr = settings.threshold
    k = model.relations_per_pair if model.relations_per_pair > 0 else len(model.relations) - 1
    floor = thr * _SUPPORT_FLOOR
    hot = np.flatnonzero((cal >= floor).any(axis=1))  # the few pairs with any relation worth a look
    hot_cal = cal[hot]
    top = np.argsort(-hot_cal, axis=1)[:, :k]
    starts = sentence_starts(doc)
    sent = np.asarray([starts[mentions[pairs[row][0]].start] for row in hot.tolist()], dtype=np.int64)
    keep = _runner_up_mask(hot_cal, sent, settings.runner_up_floor)
    names: dict[str, str] | None = doc.user_data.setdefault("kgkit_full_names", {}) if settings.full_names else None
    text = doc.text if names is not None else ""  # Doc.text joins every token on each access: once per text
    best: dict[tuple[str, str, str], Prediction] = {}
    support: dict[tuple[str, str, str], dict[int, float]] = {}  # fact -> sentence -> best probability
    for n, (row, ranked) in enumerate(zip(hot.tolist(), top)):
        i, j = pairs[row]
        for r in ranked.tolist():
            if float(hot_cal[n, r]) < floor:
                break
            if keep is not None and not keep[n, r]:
                continue
            p = float(probs[row, r])
            rel = model.relations[r]
            h, t = mentions[i], mentions[j]
            subject = model.subject_name(doc, h, rel)
            if names is not None:
                subject = full_name(text, subject, names)
            pred = Prediction(h, rel, t, subject, model.object_name(t, rel, doc), round(p, 4))
            key = (pred.subject, rel, pred.object)
            per_sent = support.setdefault(key, {})
            per_sent[int(sent[n])] = max(per_sent.get(int(sent[n]), 0.0), p)
            if key not in best or best[key].confidence < pred.confidence:
                best[key] = pred
    if model.repeat_rate is not None:
        discount_repeats(support, model.repeat_rate)
    # A fact restated in several sentences of a text is likelier than each statement alone
    # (noisy-or over sentences); a single sentence keeps its own probability.
    flat = np.asarray([p for per_sent in support.values() for p in per_sent.values()], dtype=np.float64)
    cal_flat = np.where(flat > 0, model.calibrated(flat), 0.0).tolist()  # one call, not one per statement
    at = 0
    for key, per_sent in support.items():
        miss = 1.0
        for c in cal_flat[at:at + len(per_sent)]:
            miss *= 1.0 - c
        at += len(per_sent)
        conf = round(1.0 - miss, 4)
        if conf < thr:
            del best[key]
        else:
            best[key] = replace(best[key], confidence=conf)
    return drop_overlaps(list(best.values()))


def _runner_up_mask(cal: np.ndarray, sent: np.ndarray, share: float) -> np.ndarray | None:
    """``cal >= share * (best of the column among rows of the same sentence)``; ``None`` when ``share`` is 0."""
    if share <= 0 or not len(cal):
        return None
    best = np.zeros_like(cal)
    for s in np.unique(sent):
        rows = sent == s
        best[rows] = cal[rows].max(axis=0)
    return cal >= share * best
