"""Pairs' feature strings as the classifier's inputs, each distinct string looked at once.

At extraction a text has a few hundred candidate pairs of ~40 feature strings each, and most strings
recur across pairs and texts. :class:`FeatureTable` gives each string it meets a row holding its
vocabulary id and its relation-name prior entries (:class:`~kgkit.extract.trained.label_prior.LabelPrior`),
so a batch of pairs costs one dictionary lookup per string; the bags (a sparse pairs x vocabulary
matrix) and the prior (pairs x groups x classes) are then assembled with numpy. The result is the
same as :meth:`TrainedModel.feature_ids` and ``LabelPrior.dense(LabelPrior.sparse(...))``, which
training still uses, and which walked every pair's strings twice in Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain, repeat
from typing import Any

import numpy as np

from kgkit.extract.trained.label_prior import GROUPS, LabelPrior

__all__ = ["FeatureTable"]


class FeatureTable:
    """Rows of the feature strings met so far (see the module docstring).

    Args:
        vocab: feature string -> the classifier's input id (the padding id is ``len(vocab)``).
        prior: the relation-name prior, or ``None`` when the model has none.
        n_classes: the classifier's classes (relations plus "none").
        max_rows: strings that are neither in the vocabulary nor name a relation stop being remembered
            past this many rows (they are looked at again; nothing else changes).
    """

    def __init__(self, vocab: Mapping[str, int], prior: LabelPrior | None, n_classes: int, *,
                 max_rows: int = 500_000) -> None:
        self.vocab = vocab
        self.prior = prior
        self.n_classes = n_classes
        self.max_rows = max_rows
        self._rows: dict[str, int] = {}
        self._vocab_of = np.full(1024, -1, dtype=np.int64)  # row -> vocabulary id, -1 for none
        self._prior_of = np.full(1024, -1, dtype=np.int64)  # row -> prior row, -1 for none
        self._size = 1  # row 0 stands for every string that is neither, once the table is full
        # prior rows: the (group, relation, name word) columns each names
        self._entries: list[list[int]] = []
        self._columns: dict[tuple[int, int, str], int] = {}
        self._column_cell: list[int] = []  # column -> group * n_classes + relation
        self._sizes = np.asarray(prior.sizes, dtype=np.float64) if prior is not None else np.ones(0)

    def __len__(self) -> int:
        return self._size

    def _row(self, feature: str) -> int:
        vid = self.vocab.get(feature)
        entries = self.prior.entries(feature) if self.prior is not None else []
        if vid is None and not entries and self._size >= self.max_rows:
            return 0
        row = self._size
        if row == len(self._vocab_of):
            self._vocab_of = np.concatenate([self._vocab_of, np.full(row, -1, dtype=np.int64)])
            self._prior_of = np.concatenate([self._prior_of, np.full(row, -1, dtype=np.int64)])
        self._size += 1
        self._rows[feature] = row
        if vid is not None:
            self._vocab_of[row] = vid
        if entries:
            cols = []
            for g, k, s in entries:
                col = self._columns.get((g, k, s))
                if col is None:
                    col = self._columns[(g, k, s)] = len(self._column_cell)
                    self._column_cell.append(g * self.n_classes + k)
                cols.append(col)
            self._prior_of[row] = len(self._entries)
            self._entries.append(sorted(set(cols)))
        return row

    def rows(self, feats: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """The rows of all pairs' strings, one pair after another, and each pair's number of strings."""
        get = self._rows.get
        flat = np.fromiter(map(get, chain.from_iterable(feats), repeat(-1)), dtype=np.int64)
        missing = np.flatnonzero(flat < 0)
        if len(missing):
            strings = list(chain.from_iterable(feats))
            for k in missing.tolist():
                row = get(strings[k])  # a string met twice in this batch gets one row
                flat[k] = self._row(strings[k]) if row is None else row
        return flat, np.fromiter(map(len, feats), dtype=np.int64, count=len(feats))

    def bags(self, feats: Sequence[Sequence[str]]) -> tuple[Any, np.ndarray | None]:
        """``(bags, prior)``: the pairs x (vocabulary + padding) count matrix (scipy CSR; a pair with no known
        string holds the padding id) and the ``(pairs, len(GROUPS), n_classes)`` prior (``None`` without one)."""
        from scipy.sparse import csr_matrix

        rows, lengths = self.rows(feats)
        n = len(lengths)
        pair_of = np.repeat(np.arange(n), lengths)
        vid = self._vocab_of[rows]
        known = vid >= 0
        per_pair = np.bincount(pair_of[known], minlength=n)
        empty = np.flatnonzero(per_pair == 0)
        owner = np.concatenate([pair_of[known], empty])
        cols = np.concatenate([vid[known], np.full(len(empty), len(self.vocab), dtype=np.int64)])
        order = np.argsort(owner, kind="stable")  # each pair's ids in their strings' order, as feature_ids gives
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.maximum(per_pair, 1), out=indptr[1:])
        bags = csr_matrix((np.ones(len(cols), dtype=np.float32), cols[order], indptr), shape=(n, len(self.vocab) + 1))
        return bags, self._prior(rows, pair_of, n)

    def _prior(self, rows: np.ndarray, pair_of: np.ndarray, n: int) -> np.ndarray | None:
        if self.prior is None:
            return None
        width = len(GROUPS) * self.n_classes
        out = np.zeros((n, width), dtype=np.float32)
        pid = self._prior_of[rows]
        named = pid >= 0
        if named.any():
            entries = self._entries
            counts = [len(entries[p]) for p in pid[named].tolist()]
            cols = np.fromiter(chain.from_iterable(entries[p] for p in pid[named].tolist()), dtype=np.int64, count=sum(counts))
            owner = np.repeat(pair_of[named], counts)
            # a name word counts once per pair and group, however many of its strings say it
            key = np.unique(owner * len(self._column_cell) + cols)
            owner, cols = key // len(self._column_cell), key % len(self._column_cell)
            cell = np.asarray(self._column_cell, dtype=np.int64)[cols]
            flat = np.zeros(n * width, dtype=np.int64)
            np.add.at(flat, owner * width + cell, 1)
            words = flat.reshape(n, len(GROUPS), self.n_classes)
            shares = words[:, :, : len(self._sizes)] / self._sizes  # float64, as LabelPrior.sparse divides
            out.reshape(n, len(GROUPS), self.n_classes)[:, :, : len(self._sizes)] = shares
        return out.reshape(n, len(GROUPS), self.n_classes)
