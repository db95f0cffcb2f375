"""A fast filtered rank-based evaluator with the same metrics as PyKEEN's ``RankBasedEvaluator``.

PyKEEN scores all candidate entities by broadcasting, e.g. for TransE it materialises a
``(batch, num_entities, dim)`` tensor per batch, and builds the filter by comparing each batch row with
every known positive triple. Both are memory-bound and dominate the run time on a CPU.
:class:`FastRankEvaluator` instead

* scores all entities of a batch in one call per batch: a matrix multiply for the bilinear models
  (DistMult, ComplEx) and the squared-distance expansion / ``torch.cdist`` for the distance models
  (TransE, RotATE), in float64 so that the computed scores are at least as exact as PyKEEN's float32;
  L1 TransE on the CPU (PyKEEN's default TransE, which has no matrix-multiply form) goes through a fused
  numba kernel (:mod:`kgkit.embed._l1_kernel`) that computes distances, rank counts and near ties in one
  pass without materialising the score matrix, when numba is installed (``torch.cdist`` otherwise);
* filters with a precomputed CSR index ``(query entity, relation) -> known answers`` built once with
  numpy, so a batch's filter is a gather, not a scan of all triples;
* ranks exactly like PyKEEN: filtered scores become NaN, the true score is put back, optimistic rank
  ``1 + #(score > true)``, pessimistic ``#(score >= true)``, realistic = their mean; MRR, Hits@k and mean
  rank over the realistic rank, per side and for both sides.

Models without a fast kernel fall back to ``model.predict`` (PyKEEN's own scoring), keeping the fast
filter and ranking.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from kgkit.embed import _l1_kernel
from kgkit.embed._scorers import ScoreFn, fast_scorer
from kgkit.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from pykeen.models import Model

logger = logging.getLogger(__name__)

__all__ = ["FastRankEvaluator", "RankResult", "FilterIndex", "rank_metrics", "SIDES"]

SIDES = ("head", "tail")
DEFAULT_KS = (1, 3, 10)
# Relative distance (to the sum of absolute terms of a score) below which PyKEEN's float32 score may
# compare differently from kgkit's float64 one: 5e-6 is ~80 float32 ulps, far above the rounding of
# an elementwise op plus a reduction over a few hundred dimensions.
_NEAR_TIE_REL = 5e-6
# near-tie candidates re-scored per torch call on the numba path (bounds memory: chunk x dim floats)
_EXACT_CHUNK = 65536
_EXACT_FLUSH = 2_000_000  # pending near-tie candidates that trigger their exact re-scoring (~16 MB of ids)


@dataclass
class RankResult:
    """Ranks of every evaluation triple per side, and the metrics computed from them."""

    optimistic: dict[str, np.ndarray]
    pessimistic: dict[str, np.ndarray]
    num_candidates: dict[str, np.ndarray]
    seconds: float
    ks: tuple[int, ...] = DEFAULT_KS
    metrics: dict[str, float] = field(default_factory=dict)

    def realistic(self, side: str) -> np.ndarray:
        """Realistic (expected) rank of each triple on ``side`` ("head", "tail" or "both")."""
        if side == "both":
            return np.concatenate([self.realistic(s) for s in SIDES if s in self.optimistic])
        return (self.optimistic[side] + self.pessimistic[side]).astype(np.float32) * np.float32(0.5)

    @property
    def mrr(self) -> float:
        return self.metrics["both.mrr"]


def rank_metrics(ranks: np.ndarray, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """MRR, mean rank and Hits@k of an array of (realistic) ranks, computed as PyKEEN does."""
    if len(ranks) == 0:
        return {"mrr": float("nan"), "mean_rank": float("nan"), **{f"hits@{k}": float("nan") for k in ks}}
    out = {"mrr": float(np.mean(np.reciprocal(ranks))), "mean_rank": float(np.mean(ranks))}
    for k in ks:
        out[f"hits@{k}"] = float(np.mean(np.less_equal(ranks, k)))
    return out


class FilterIndex:
    """Known answers of ``(query entity, relation)`` pairs, as a CSR array per side.

    For the tail side the key is ``head * R + relation`` and the values are the known tails; for the
    head side the key is ``tail * R + relation`` and the values are the known heads.
    """

    def __init__(self, triples: np.ndarray, num_relations: int) -> None:
        self.num_relations = int(num_relations)
        self._index: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        triples = np.unique(np.asarray(triples, dtype=np.int64).reshape(-1, 3), axis=0)
        for side, (q, a) in {"tail": (0, 2), "head": (2, 0)}.items():
            keys = triples[:, q] * self.num_relations + triples[:, 1]
            order = np.lexsort((triples[:, a], keys))
            keys, answers = keys[order], triples[order, a]
            uniq, starts = np.unique(keys, return_index=True)
            ends = np.append(starts[1:], len(keys))
            self._index[side] = (uniq, np.stack([starts, ends], 1), answers)

    def positives(self, side: str, query: np.ndarray, relation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, entity) pairs of every known answer of each ``(query[i], relation[i])``."""
        uniq, bounds, answers = self._index[side]
        keys = query.astype(np.int64) * self.num_relations + relation.astype(np.int64)
        pos = np.searchsorted(uniq, keys)
        pos_c = np.minimum(pos, len(uniq) - 1)
        found = uniq[pos_c] == keys if len(uniq) else np.zeros(len(keys), dtype=bool)
        starts = np.where(found, bounds[pos_c, 0], 0)
        lengths = np.where(found, bounds[pos_c, 1] - bounds[pos_c, 0], 0)
        rows = np.repeat(np.arange(len(keys)), lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return rows, answers[np.repeat(starts, lengths) + offsets]


class FastRankEvaluator:
    """Filtered (or raw) rank-based link-prediction evaluation, both sides, PyKEEN's realistic ranks.

    Args:
        batch_size: evaluation triples per batch (explicit; there is no automatic search).
        filtered: remove other known true answers before ranking (the standard setting).
        ks: the k of Hits@k.
        use_fast_kernels: score with kgkit's matrix kernels where the model has one; else PyKEEN's predict.
        use_numba: for L1 TransE on the CPU, use the fused numba kernel (distances, rank counts and
            near-tie detection in one pass, see :mod:`kgkit.embed._l1_kernel`) when numba is installed;
            ``torch.cdist`` otherwise. Ranks are identical either way.

    Example:
        >>> ev = FastRankEvaluator(batch_size=256)  # doctest: +SKIP
        >>> res = ev.evaluate(model, dataset.validation.mapped_triples,
        ...                   additional_filter_triples=[dataset.training.mapped_triples])  # doctest: +SKIP
        >>> res.metrics["both.mrr"]  # doctest: +SKIP
    """

    def __init__(
        self, *, batch_size: int = 256, filtered: bool = True, ks: Sequence[int] = DEFAULT_KS,
        use_fast_kernels: bool = True, use_numba: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"evaluation batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.filtered = filtered
        self.ks = tuple(ks)
        self.use_fast_kernels = use_fast_kernels
        self.use_numba = use_numba
        self.kernel_load_seconds = 0.0  # numba compile / cache load inside the last evaluate() (included)
        self.used_numba = False  # whether the last evaluate() ranked with the numba kernel
        self.rescored_rows = 0  # rows re-ranked with PyKEEN's own scores in the last evaluate()
        self.rescored_candidates = 0  # near-tie candidates re-scored exactly (numba path) in the last evaluate()

    def evaluate(
        self, model: "Model", mapped_triples: Any, *, additional_filter_triples: Sequence[Any] = (),
        targets: Sequence[str] = SIDES, device: str | None = None,
    ) -> RankResult:
        """Rank the true head and tail of every triple in ``mapped_triples`` among all entities.

        Args:
            model: a trained PyKEEN model.
            mapped_triples: (n, 3) id triples to evaluate.
            additional_filter_triples: further known-true triples (train, valid) removed when filtering.
            targets: which sides to rank.
            device: where to score; defaults to the model's device.
        """
        import torch

        start = time.perf_counter()
        self.rescored_rows = 0
        self.rescored_candidates = 0
        self.kernel_load_seconds = 0.0
        self.used_numba = False
        model.eval()
        dev = torch.device(device) if device else model.device
        triples = torch.as_tensor(np.asarray(mapped_triples), dtype=torch.long)
        index = None
        if self.filtered:
            all_pos = [np.asarray(triples)] + [np.asarray(t) for t in additional_filter_triples]
            index = FilterIndex(np.concatenate(all_pos, 0), model.num_relations
                                if not getattr(model, "use_inverse_triples", False) else model.num_relations // 2)
        opt: dict[str, list[np.ndarray]] = {s: [] for s in targets}
        pes: dict[str, list[np.ndarray]] = {s: [] for s in targets}
        cand: dict[str, list[np.ndarray]] = {s: [] for s in targets}
        with torch.inference_mode():
            scorers = {s: (fast_scorer(model, s, self.use_numba) if self.use_fast_kernels else None)
                       for s in targets}
            if any(hasattr(f, "l1_counts") for f in scorers.values()):
                try:
                    self.kernel_load_seconds = _l1_kernel.warm_up()  # charged to this evaluation's time
                    self.used_numba = True
                except _l1_kernel.KernelCompileError as err:
                    logger.warning("%s", err)
                    scorers = {s: fast_scorer(model, s, use_numba=False) for s in targets}
            kernel_sides = [s for s in targets if hasattr(scorers[s], "l1_counts")]
            for side in kernel_sides:  # the whole side at once: numba first, then torch (no thread ping-pong)
                o, p, c = self._rank_side_l1_kernel(triples, side, scorers[side], index)
                opt[side].append(o)
                pes[side].append(p)
                cand[side].append(c)
            for batch in triples.split(self.batch_size):
                for side in targets:
                    if side in kernel_sides:
                        continue
                    o, p, c = self._rank_batch(model, batch, side, scorers[side], index, dev)
                    opt[side].append(o)
                    pes[side].append(p)
                    cand[side].append(c)
        res = RankResult(
            {s: np.concatenate(v) for s, v in opt.items()}, {s: np.concatenate(v) for s, v in pes.items()},
            {s: np.concatenate(v) for s, v in cand.items()}, time.perf_counter() - start, self.ks,
        )
        for side in (*targets, "both"):
            for k, v in rank_metrics(res.realistic(side), self.ks).items():
                res.metrics[f"{side}.{k}"] = v
        return res

    def _rescore_near_ties(
        self, model: "Model", batch: "torch.Tensor", side: str, scorer: ScoreFn, scores: "torch.Tensor",
        true: "torch.Tensor", scale: "torch.Tensor", index: FilterIndex | None, optimistic: "torch.Tensor",
        pessimistic: "torch.Tensor", dev: "torch.device",
    ) -> None:
        """Re-rank, with PyKEEN's own float32 scores, the rows where rounding could flip a comparison.

        kgkit's float64 scores differ from PyKEEN's float32 ones by at most a few float32 ulps of the
        score's magnitude; only a candidate that close to the true score can compare differently. Rows
        with such a candidate are re-ranked: where the scorer can reproduce PyKEEN's float32 arithmetic
        (``scorer.exact``, TransE) only the near candidates are re-scored; otherwise the rows are
        re-scored with ``model.predict`` (as a sub-batch of at least two rows, so PyKEEN takes the same
        broadcasting path as for the full batch).
        """
        import torch

        col = 2 if side == "tail" else 0
        tol = self._tolerance(scale, true)
        near = ((scores - true).abs() <= tol).sum(1) > 1  # > 1: the true score is always near itself
        rows = torch.nonzero(near).flatten().cpu()
        self.rescored_rows += len(rows)
        if len(rows) == 0:
            return
        sub_rows = rows if len(rows) > 1 or batch.shape[0] == 1 else torch.cat([rows, rows])
        sub = batch[sub_rows]
        exact = model.predict(hrt_batch=sub.to(dev), target=side).to(scores.device)[: len(rows)]
        sub = sub[: len(rows)]
        ar = torch.arange(len(rows), device=exact.device)
        tgt = sub[:, col].to(exact.device)
        t_exact = exact[ar, tgt].clone()
        if index is not None:
            qcol = 0 if side == "tail" else 2
            r, e = index.positives(side, sub[:, qcol].numpy(), sub[:, 1].numpy())
            exact[torch.from_numpy(r).to(exact.device), torch.from_numpy(e).to(exact.device)] = float("nan")
            exact[ar, tgt] = t_exact
        t_exact = t_exact.unsqueeze(1)
        dst = rows.to(optimistic.device)
        optimistic[dst] = (exact > t_exact).sum(1) + 1
        pessimistic[dst] = (exact >= t_exact).sum(1)

    @staticmethod
    def _tolerance(scale: "torch.Tensor", true: "torch.Tensor") -> "torch.Tensor":
        """Per-row distance to the true score within which float32 rounding may flip a comparison."""
        if bool((scale < 0).all()):  # sums of non-negative terms: error relative to |score| (see _l1_kernel.l1_slack)
            return (-scale).unsqueeze(1) * true.abs()
        return _NEAR_TIE_REL * (scale.unsqueeze(1) + true.abs())

    @staticmethod
    def _rerank_candidates(
        exact_fn: Callable[..., "torch.Tensor"], batch: "torch.Tensor", side: str, scores: "torch.Tensor",
        true: "torch.Tensor", tol: "torch.Tensor", rows: "torch.Tensor", optimistic: "torch.Tensor",
        pessimistic: "torch.Tensor",
    ) -> int:
        """Rank ``rows`` comparing only near-tie candidates with PyKEEN-exact float32 scores.

        Returns the number of rows that had at least one near-tie candidate.
        """
        import torch

        col, qcol = (2, 0) if side == "tail" else (0, 2)
        dev = scores.device
        rows_d = rows.to(dev)
        if len(rows) == scores.shape[0]:  # all rows (the single-pass path): no gather copies
            diff, t = scores - true, tol
        else:
            diff, t = scores[rows_d] - true[rows_d], tol[rows_d]
        above = (diff > t).sum(1)  # certainly above the true score, whatever the rounding
        near = diff.abs() <= t
        tgt = batch[rows, col].to(dev)
        ar = torch.arange(len(rows), device=dev)
        near[ar, tgt] = False
        pairs = torch.nonzero(near)
        counts = near.sum(1)
        kmax = int(counts.max()) if len(counts) else 0
        starts = torch.cumsum(counts, 0) - counts
        pos = torch.arange(len(pairs), device=dev) - starts[pairs[:, 0]]
        cand = tgt[:, None].repeat(1, kmax + 1)  # column 0: the true entity; padding repeats it
        cand[pairs[:, 0], pos + 1] = pairs[:, 1]
        valid = torch.arange(kmax, device=dev)[None, :] < counts[:, None]
        ex = exact_fn(batch[rows, qcol].to(dev), batch[rows, 1].to(dev), cand)
        t_ex, c_ex = ex[:, :1], ex[:, 1:]
        optimistic[rows_d] = 1 + above + ((c_ex > t_ex) & valid).sum(1)
        pessimistic[rows_d] = 1 + above + ((c_ex >= t_ex) & valid).sum(1)
        return int((counts > 0).sum())

    def _rank_batch(
        self, model: "Model", batch: "torch.Tensor", side: str, scorer: ScoreFn | None,
        index: FilterIndex | None, dev: "torch.device",
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import torch

        col, qcol = (2, 0) if side == "tail" else (0, 2)
        scale = None
        if scorer is not None:
            scores, scale = scorer(batch[:, qcol].to(dev), batch[:, 1].to(dev))
        else:
            scores = model.predict(hrt_batch=batch.to(dev), target=side)
        rows = torch.arange(batch.shape[0], device=scores.device)
        target = batch[:, col].to(scores.device)
        true = scores[rows, target].clone()
        if index is not None:
            r, e = index.positives(side, batch[:, qcol].numpy(), batch[:, 1].numpy())
            scores[torch.from_numpy(r).to(scores.device), torch.from_numpy(e).to(scores.device)] = float("nan")
            scores[rows, target] = true
        true = true.unsqueeze(1)
        exact_fn = getattr(scorer, "exact", None)
        if exact_fn is not None and scale is not None:
            n_ent = scores.shape[1]
            if index is not None:  # filtered answers are unique per row and include the true one
                filtered = np.bincount(r, minlength=batch.shape[0])
                candidates = torch.from_numpy(n_ent - filtered + 1)
            else:
                candidates = torch.full((batch.shape[0],), n_ent, dtype=torch.long)
            # one pass: certainly-above counts for every row, exact comparisons for near candidates
            optimistic = torch.empty(batch.shape[0], dtype=torch.long, device=scores.device)
            pessimistic = torch.empty_like(optimistic)
            tol = self._tolerance(scale, true)
            self.rescored_rows += self._rerank_candidates(
                exact_fn, batch, side, scores, true, tol, torch.arange(batch.shape[0]), optimistic, pessimistic)
            return optimistic.cpu().numpy(), pessimistic.cpu().numpy(), candidates.numpy()
        candidates = (~torch.isnan(scores)).sum(1)
        optimistic = (scores > true).sum(1) + 1
        pessimistic = (scores >= true).sum(1)
        if scale is not None:
            self._rescore_near_ties(model, batch, side, scorer, scores, true, scale, index, optimistic, pessimistic, dev)
        return optimistic.cpu().numpy(), pessimistic.cpu().numpy(), candidates.cpu().numpy()

    def _rank_side_l1_kernel(
        self, triples: "torch.Tensor", side: str, scorer: ScoreFn, index: FilterIndex | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rank one side of all triples with the fused numba L1 kernel, then re-score near ties exactly.

        The kernel runs batch by batch and returns certainly-above counts and near-tie candidates. The
        near ties are re-scored with PyKEEN's float32 arithmetic (torch) for many batches at once, once
        ``_EXACT_FLUSH`` of them are pending or at the end: alternating numba's and torch's thread
        pools batch by batch costs more than the work (each spins while the other runs).
        """
        col, qcol = (2, 0) if side == "tail" else (0, 2)
        trip = triples.numpy().astype(np.int64)
        n = len(trip)
        optimistic, pessimistic = np.ones(n, dtype=np.int64), np.ones(n, dtype=np.int64)
        filtered = np.zeros(n, dtype=np.int64)
        pending: list[tuple[int, list[np.ndarray]]] = []  # (first row, near candidates of each row)
        n_pending = 0
        for b0 in range(0, n, self.batch_size):
            batch = trip[b0 : b0 + self.batch_size]
            bsz = len(batch)
            if index is not None:  # answers come sorted per row (FilterIndex keeps them sorted per key)
                rows, ents = index.positives(side, batch[:, qcol], batch[:, 1])
                filtered[b0 : b0 + bsz] = np.bincount(rows, minlength=bsz)
                ents = np.ascontiguousarray(ents, dtype=np.int64)
            else:
                ents = np.zeros(0, dtype=np.int64)
            ptr = np.concatenate([[0], np.cumsum(filtered[b0 : b0 + bsz])]).astype(np.int64)
            above, near = scorer.l1_counts(  # type: ignore[attr-defined]
                batch[:, qcol], batch[:, 1], np.ascontiguousarray(batch[:, col]), ptr, ents)
            optimistic[b0 : b0 + bsz] += above
            pessimistic[b0 : b0 + bsz] += above
            pending.append((b0, near))
            n_pending += sum(len(c) for c in near)
            if n_pending >= _EXACT_FLUSH or b0 + bsz >= n:
                self._rescore_pending(triples, side, scorer.exact, pending, optimistic, pessimistic)  # type: ignore[attr-defined]
                pending, n_pending = [], 0
        candidates = scorer.num_entities - filtered + (1 if index is not None else 0)  # type: ignore[attr-defined]
        return optimistic, pessimistic, candidates

    def _rescore_pending(
        self, triples: "torch.Tensor", side: str, exact: Callable[..., "torch.Tensor"],
        pending: list[tuple[int, list[np.ndarray]]], optimistic: np.ndarray, pessimistic: np.ndarray,
    ) -> None:
        """Add the near ties that PyKEEN's exact float32 scores put above (optimistic) / level (pessimistic)."""
        import torch

        col, qcol = (2, 0) if side == "tail" else (0, 2)
        near = [c for _, cands in pending for c in cands]
        rows = np.concatenate([np.arange(b0, b0 + len(cands)) for b0, cands in pending])
        counts = np.fromiter((len(c) for c in near), dtype=np.int64, count=len(near))
        if not counts.any():
            return
        rows_near = rows[counts > 0]
        prow = np.repeat(rows, counts)
        cand = np.concatenate(near)
        t_ex = np.zeros(len(triples), dtype=np.float32)
        for c0 in range(0, len(rows_near), _EXACT_CHUNK):
            rr = torch.from_numpy(rows_near[c0 : c0 + _EXACT_CHUNK])
            t_ex[rr.numpy()] = exact(triples[rr, qcol], triples[rr, 1], triples[rr, col][:, None])[:, 0].numpy()
        gt, ge = np.zeros(len(prow), dtype=bool), np.zeros(len(prow), dtype=bool)
        for c0 in range(0, len(prow), _EXACT_CHUNK):
            pr = torch.from_numpy(prow[c0 : c0 + _EXACT_CHUNK])
            c_ex = exact(triples[pr, qcol], triples[pr, 1], torch.from_numpy(cand[c0 : c0 + _EXACT_CHUNK])[:, None])
            t = torch.from_numpy(t_ex[pr.numpy()])
            gt[c0 : c0 + len(pr)] = (c_ex[:, 0] > t).numpy()
            ge[c0 : c0 + len(pr)] = (c_ex[:, 0] >= t).numpy()
        optimistic += np.bincount(prow, gt, minlength=len(optimistic)).astype(np.int64)
        pessimistic += np.bincount(prow, ge, minlength=len(pessimistic)).astype(np.int64)
        self.rescored_rows += len(rows_near)
        self.rescored_candidates += len(prow)
