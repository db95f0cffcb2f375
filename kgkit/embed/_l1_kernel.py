"""A fused numba kernel for filtered L1 (TransE) ranking: distances, rank counts and near ties in one pass.

For each query vector ``x`` (``h + r`` for tails, ``t - r`` for heads, already rounded to float32 as
PyKEEN rounds it) the kernel computes the L1 distance to every entity, blocked so that a slab of the
transposed entity matrix stays in the L2 cache while a block of queries streams over it, and never
materialises the ``(batch, num_entities)`` score matrix. Per query it returns

* ``above``: the number of unfiltered candidates whose PyKEEN score is *certainly* higher than the true
  entity's (distance below ``d_true - tol``);
* the unfiltered candidates within ``tol`` of the true distance (near ties), which the caller re-scores
  with PyKEEN's own float32 arithmetic.

Why the tolerance is a proof, not a guess. Each term ``|fl(x_k - e_k)|`` is computed in float32 exactly
as PyKEEN computes it (same operands, one IEEE rounding), so both sides sum the *same* ``n = dim``
non-negative float32 terms, only in a different order: PyKEEN's ``torch.linalg.vector_norm`` in its
own order, the kernel sequentially over the dimensions (vectorised across entities, so each entity's sum
keeps that order; ``fastmath=False`` forbids re-association). Any order of float32 summation of
non-negative terms errs by at most ``gamma = (n-1)u / (1-(n-1)u)`` of the exact sum ``S``, ``u = 2**-24``
(Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., eq. 4.4), so kgkit's and PyKEEN's
value of the same score differ by at most ``2 gamma S``. The order of a candidate and the true entity can
differ between the two only when ``|d_cand - d_true| <= 2 gamma (S_cand + S_true)``; inside the band
``S_cand ~ S_true ~ d_true`` and that is below ``(4 (n-1) + 32) u d_true`` (the ``+ 32`` absorbs the
second-order terms): the band ``l1_slack`` returns. Candidates inside it are re-scored exactly by the
caller; outside it the kernel's comparison is PyKEEN's. Accumulating in float32 rather than float64
doubles the band but also the SIMD width, which is the better trade here (few candidates are near).

Compile time: about 3 s on the first call of a fresh install (2-core VM); ``cache=True`` keeps the
machine code on disk (``__pycache__`` next to ``_l1_numba.py``, numba's user cache dir if that is
read-only, or ``NUMBA_CACHE_DIR``), after which loading it, including ``import numba``, takes ~0.6 s.
Both are charged to the evaluation that first uses the kernel in a process.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from kgkit.errors import KgkitError

__all__ = ["KernelCompileError", "available", "compile_seconds", "l1_rank_counts", "l1_slack", "warm_up"]


class KernelCompileError(KgkitError):
    """numba is installed but could not compile or run the kernel on this machine."""

_kernel: Any = None
compile_seconds: float | None = None  # seconds the last first-use (compile or cache load) took


def available() -> bool:
    """True when numba can be imported (the kernel is used only then; torch.cdist otherwise)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def l1_slack(dim: int) -> float:
    """Relative near-tie band for sums of ``dim`` non-negative float32 terms (see the module docstring)."""
    return (4 * max(dim - 1, 0) + 32) * 2.0**-24


def _get_kernel() -> Any:
    global _kernel, compile_seconds
    if _kernel is None:
        start = time.perf_counter()
        from numba.core.errors import NumbaError

        from kgkit.embed._l1_numba import l1_rank_kernel as kernel

        # compile (or load from the on-disk cache) now, on a tiny problem, so the first batch is not charged
        x = np.zeros((1, 2), dtype=np.float32)
        z = np.zeros(1, dtype=np.int64)
        try:
            kernel(x, np.zeros((2, 1), dtype=np.float32), z, np.zeros(2, dtype=np.int64), z, 0.0,
                   z.copy(), z.copy(), np.zeros((1, 1), dtype=np.int64))
        except NumbaError as err:
            raise KernelCompileError(
                f"the numba L1 ranking kernel failed to compile ({err.__class__.__name__}); kgkit falls back to "
                "torch.cdist; to silence this pass use_numba=False to FastRankEvaluator, or reinstall numba"
            ) from err
        compile_seconds = time.perf_counter() - start
        _kernel = kernel
    return _kernel


def warm_up() -> float:
    """Compile or load the kernel; returns the seconds it took (0 when already loaded).

    Raises:
        KernelCompileError: numba could not compile the kernel.
    """
    if _kernel is not None:
        return 0.0
    _get_kernel()
    return float(compile_seconds or 0.0)


def l1_rank_counts(
    X: np.ndarray, ET: np.ndarray, target: np.ndarray, filt_ptr: np.ndarray, filt_ent: np.ndarray,
    slack: float, cap: int = 64, num_threads: int | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Certainly-above counts and near-tie candidates of each query row, filtered entities skipped.

    Args:
        X: (B, dim) float32 query vectors.
        ET: (dim, num_entities) float32 entity embeddings, C-contiguous (transposed).
        target: (B,) int64 true entity of each row (never counted, never a near tie).
        filt_ptr: (B + 1,) int64 CSR offsets into ``filt_ent``: the entities skipped for row ``i`` are
            ``filt_ent[filt_ptr[i]:filt_ptr[i+1]]``, sorted ascending.
        filt_ent: int64 filtered entity ids.
        slack: relative near-tie band (``l1_slack(dim)``).
        cap: near-tie candidates kept per row in the first pass; rows with more are re-run alone.
        num_threads: numba threads (at most numba's ``NUMBA_NUM_THREADS``); None keeps numba's setting.

    Returns:
        ``(above, near)``: ``above`` (B,) int64, and ``near[i]`` the near-tie candidate ids of row ``i``.
    """
    kernel = _get_kernel()
    if num_threads is not None:
        import numba

        numba.set_num_threads(max(1, min(int(num_threads), numba.config.NUMBA_NUM_THREADS)))
    B = X.shape[0]
    X = np.ascontiguousarray(X, dtype=np.float32)
    target = np.ascontiguousarray(target, dtype=np.int64)
    above = np.empty(B, dtype=np.int64)
    count = np.empty(B, dtype=np.int64)
    buf = np.empty((B, cap), dtype=np.int64)
    kernel(X, ET, target, filt_ptr, filt_ent, float(slack), above, count, buf)
    near = [buf[i, : count[i]] for i in range(B)]
    for i in np.nonzero(count > cap)[0]:  # rare: many candidates within a few ulps of the true one
        a1, c1 = np.empty(1, dtype=np.int64), np.empty(1, dtype=np.int64)
        b1 = np.empty((1, int(count[i])), dtype=np.int64)
        ptr = np.array([0, filt_ptr[i + 1] - filt_ptr[i]], dtype=np.int64)
        kernel(X[i : i + 1], ET, target[i : i + 1], ptr, filt_ent[filt_ptr[i] : filt_ptr[i + 1]], float(slack),
               a1, c1, b1)
        near[i] = b1[0]
    return above, near
