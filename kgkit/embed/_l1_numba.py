"""The numba code of :mod:`kgkit.embed._l1_kernel` (imported lazily: importing numba costs ~0.3 s).

Layout and blocking. ``ET`` is the entity matrix transposed to ``(dim, num_entities)`` so that the
innermost loop runs over consecutive entities and LLVM vectorises it (AVX2: 8 float32 per instruction);
it must be written over 1-D slices, ``ET[k, j0:j0 + w]``, since 2-D indexing in the inner loop defeats
the vectoriser. Four query rows share each load of an entity slab (register blocking), a slab of
``ENTITY_BLOCK`` entities (``dim * ENTITY_BLOCK * 4`` bytes, 400 KB for d=200) stays in L2 while the
``ROW_BLOCK`` rows of a parallel task stream over it, and each task reads the whole matrix once.
Accumulation is float32 in the order k = 0, 1, ..., dim-1 for every entity (``fastmath=False``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

ENTITY_BLOCK = 512
ROW_BLOCK = 64
ROWS_PER_PASS = 4


@njit(fastmath=False, cache=True, nogil=True)
def _accumulate(X, ET, i, i_last, j0, w, acc):  # pragma: no cover - compiled
    """acc[m, :w] = L1 distances of rows i+m (clamped to i_last) to entities j0 .. j0+w-1."""
    dim = X.shape[1]
    i1, i2, i3 = min(i + 1, i_last), min(i + 2, i_last), min(i + 3, i_last)
    a0, a1, a2, a3 = acc[0, :w], acc[1, :w], acc[2, :w], acc[3, :w]
    a0[:] = 0.0
    a1[:] = 0.0
    a2[:] = 0.0
    a3[:] = 0.0
    for k in range(dim):
        x0, x1, x2, x3 = X[i, k], X[i1, k], X[i2, k], X[i3, k]
        row = ET[k, j0 : j0 + w]
        for jj in range(w):
            e = row[jj]
            a0[jj] += abs(x0 - e)
            a1[jj] += abs(x1 - e)
            a2[jj] += abs(x2 - e)
            a3[jj] += abs(x3 - e)


@njit(fastmath=False, cache=True, nogil=True)
def _classify(a, j0, lo, hi, t, filt_ent, fp, fend, i, above, near_count, near_buf):  # pragma: no cover
    """Count certainly-above candidates and record near ties of one row over one entity block.

    Returns the row's new position in its (sorted) filtered entities.
    """
    cap = near_buf.shape[1]
    for jj in range(a.shape[0]):
        d = a[jj]
        if d > hi:
            continue
        j = j0 + jj
        if j == t:
            continue
        while fp < fend and filt_ent[fp] < j:
            fp += 1
        if fp < fend and filt_ent[fp] == j:
            continue
        if d < lo:
            above[i] += 1
        else:
            c = near_count[i]
            if c < cap:
                near_buf[i, c] = j
            near_count[i] = c + 1
    return fp


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def l1_rank_kernel(X, ET, target, filt_ptr, filt_ent, slack, above, near_count, near_buf):  # pragma: no cover
    """Fill ``above``, ``near_count`` and ``near_buf`` (see ``kgkit.embed._l1_kernel.l1_rank_counts``)."""
    B, dim = X.shape
    N = ET.shape[1]
    n_tasks = (B + ROW_BLOCK - 1) // ROW_BLOCK
    for task in prange(n_tasks):
        r0 = task * ROW_BLOCK
        r1 = min(B, r0 + ROW_BLOCK)
        nr = r1 - r0
        lo = np.empty(nr, dtype=np.float64)
        hi = np.empty(nr, dtype=np.float64)
        fpos = np.empty(nr, dtype=np.int64)
        acc = np.empty((ROWS_PER_PASS, ENTITY_BLOCK), dtype=np.float32)
        for i in range(r0, r1):
            t = target[i]
            s = np.float32(0.0)
            for k in range(dim):  # the same float32 sequence as _accumulate
                s += abs(X[i, k] - ET[k, t])
            tol = slack * np.float64(s)
            lo[i - r0] = s - tol
            hi[i - r0] = s + tol
            fpos[i - r0] = filt_ptr[i]
            above[i] = 0
            near_count[i] = 0
        for j0 in range(0, N, ENTITY_BLOCK):
            w = min(ENTITY_BLOCK, N - j0)
            for i in range(r0, r1, ROWS_PER_PASS):
                _accumulate(X, ET, i, r1 - 1, j0, w, acc)
                for m in range(min(ROWS_PER_PASS, r1 - i)):
                    row = i + m
                    fpos[row - r0] = _classify(
                        acc[m, :w], j0, lo[row - r0], hi[row - r0], target[row], filt_ent, fpos[row - r0],
                        filt_ptr[row + 1], row, above, near_count, near_buf,
                    )
