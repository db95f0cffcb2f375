"""Scoring kernels of :class:`kgkit.embed.evaluation.FastRankEvaluator`: all entities of a batch per call.

Each kernel returns float64 (or, for L1 TransE, float32) scores of every entity for a batch of
``(query entity, relation)`` pairs plus a per-row scale that bounds the float32 rounding of PyKEEN's own
scores (see ``FastRankEvaluator._tolerance``), so that near ties can be re-scored exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from kgkit.embed import _l1_kernel

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from pykeen.models import Model

__all__ = ["ScoreFn", "fast_scorer"]

# (query entity ids, relation ids) -> (scores (B, num_entities) float64, scale (B,)) where scale bounds
# the sum of absolute terms of any score in the row (for the float32 rounding bound).
ScoreFn = Callable[["torch.Tensor", "torch.Tensor"], tuple["torch.Tensor", "torch.Tensor"]]


def fast_scorer(model: "Model", side: str, use_numba: bool = True) -> ScoreFn | None:
    """A function ``(query_entity_ids, relation_ids) -> (B, num_entities) float64 scores``, or None.

    For TransE the function carries ``exact`` (PyKEEN-exact float32 scores of chosen candidates) and,
    for L1 on the CPU with numba installed and ``use_numba``, ``l1_counts`` (the fused kernel of
    :mod:`kgkit.embed._l1_kernel`).
    """
    import torch
    from pykeen.nn.modules import (
        ComplExInteraction,
        DistMultInteraction,
        RotatEInteraction,
        TransEInteraction,
    )

    ents = getattr(model, "entity_representations", None)
    rels = getattr(model, "relation_representations", None)
    if ents is None or rels is None or len(ents) != 1 or len(rels) != 1:
        return None
    interaction = model.interaction
    E = ents[0](indices=None).detach().to(torch.complex128 if ents[0](indices=None).is_complex() else torch.float64)
    Rm = rels[0](indices=None).detach().to(torch.complex128 if rels[0](indices=None).is_complex() else torch.float64)
    inverse = bool(getattr(model, "use_inverse_triples", False))

    def rel_ids(r: "torch.Tensor", invert: bool) -> "torch.Tensor":
        if not inverse:
            return r
        return 2 * r + (1 if invert else 0)  # pykeen's DefaultRelationInverter layout

    # With inverse triples PyKEEN predicts heads as tails of the inverse relation.
    tail_like = side == "tail" or inverse

    if isinstance(interaction, TransEInteraction):
        p, power = interaction.p, interaction.power_norm
        if p not in (1, 2, 1.0, 2.0):
            return None
        E32 = ents[0](indices=None).detach()
        R32 = rels[0](indices=None).detach()

        def transe(q: "torch.Tensor", r: "torch.Tensor") -> tuple["torch.Tensor", "torch.Tensor"]:
            rr = R32[rel_ids(r, side == "head")]
            # The query vector is rounded to float32 exactly as PyKEEN does (h + r, or t - r for heads);
            # then every score is a sum of non-negative terms and its rounding error is relative to itself.
            x = E32[q] + rr if tail_like else E32[q] - rr
            if p == 2:  # the Gram-matrix path of cdist: float64 keeps the expansion's cancellation harmless
                d = torch.cdist(x.to(torch.float64), E, p=2.0)
                tol_scale = torch.zeros(len(q), dtype=torch.float64, device=d.device)
            else:  # L1 has no matrix-multiply form; float32 halves the work and the tolerance widens
                d = torch.cdist(x, E32, p=1.0)
                tol_scale = torch.full((len(q),), _l1_kernel.l1_slack(E32.shape[1]), dtype=d.dtype, device=d.device)
            # tol_scale < 0 asks for a tolerance relative to |score| only, scaled by -tol_scale
            return (-(d**p), -tol_scale) if power else (-d, -tol_scale)

        def transe_exact(q: "torch.Tensor", r: "torch.Tensor", cand: "torch.Tensor") -> "torch.Tensor":
            # PyKEEN's float32 arithmetic, in its order: (h + r) - t for tails, h + (r - t) for heads
            # (tests check the results are bitwise PyKEEN's).
            rr = R32[rel_ids(r, side == "head")]
            if tail_like:
                x = (E32[q] + rr)[:, None, :] + (-E32[cand])
            else:
                x = E32[cand] + (rr + (-E32[q]))[:, None, :]
            return -(x.abs() ** p).sum(-1) if power else -x.norm(p=p, dim=-1)

        transe.exact = transe_exact  # type: ignore[attr-defined]
        if (p in (1, 1.0) and use_numba and E32.device.type == "cpu" and E32.dtype == torch.float32
                and _l1_kernel.available()):
            ET = E32.T.contiguous().numpy()  # (dim, entities): the kernel vectorises over entities
            E_np, R_np = E32.numpy(), R32.numpy()
            slack = _l1_kernel.l1_slack(E32.shape[1])

            def transe_l1_counts(
                q: np.ndarray, r: np.ndarray, target: np.ndarray, ptr: np.ndarray, ents: np.ndarray,
            ) -> tuple[np.ndarray, list[np.ndarray]]:
                # numpy, not torch: torch's OpenMP threads would contend with numba's between batches.
                # An elementwise float32 add rounds the same in both, so x is PyKEEN's query vector.
                rr = R_np[rel_ids(r, side == "head")]
                x = E_np[q] + rr if tail_like else E_np[q] - rr
                # as many threads as torch would use (OMP_NUM_THREADS / torch.set_num_threads)
                return _l1_kernel.l1_rank_counts(x, ET, target, ptr, ents, slack, num_threads=torch.get_num_threads())

            transe.l1_counts = transe_l1_counts  # type: ignore[attr-defined]
            transe.num_entities = int(E32.shape[0])  # type: ignore[attr-defined]

        return transe
    if isinstance(interaction, DistMultInteraction):

        e_norm = torch.linalg.vector_norm(E, dim=1).max()

        def distmult(q: "torch.Tensor", r: "torch.Tensor") -> tuple["torch.Tensor", "torch.Tensor"]:
            x = E[q] * Rm[rel_ids(r, side == "head")]  # Cauchy-Schwarz: sum |x_i t_i| <= |x| |t|
            return x @ E.T, torch.linalg.vector_norm(x, dim=1) * e_norm

        return distmult
    if isinstance(interaction, ComplExInteraction):
        Er = torch.cat([E.real, E.imag], 1)
        e_norm = torch.linalg.vector_norm(Er, dim=1).max()

        def complex_(q: "torch.Tensor", r: "torch.Tensor") -> tuple["torch.Tensor", "torch.Tensor"]:
            rr = Rm[rel_ids(r, side == "head")]
            if tail_like:  # Re <h r, conj t> = x.re t.re + x.im t.im
                x = E[q] * rr
                xr = torch.cat([x.real, x.imag], 1)
            else:
                y = rr * E[q].conj()  # Re sum h r conj(t) = h.re y.re - h.im y.im with y = r conj(t)
                xr = torch.cat([y.real, -y.imag], 1)
            return xr @ Er.T, 2 * torch.linalg.vector_norm(xr, dim=1) * e_norm

        return complex_
    if isinstance(interaction, RotatEInteraction):
        Er = torch.cat([E.real, E.imag], 1)
        sq = (Er * Er).sum(1)
        e_abs2 = E.real**2 + E.imag**2
        e_norm = torch.sqrt(sq.max())

        def rotate(q: "torch.Tensor", r: "torch.Tensor") -> tuple["torch.Tensor", "torch.Tensor"]:
            rr = Rm[rel_ids(r, side == "head")]
            if tail_like:  # |h r - t|^2 = |x|^2 + |t|^2 - 2 Re<x, t>
                x = E[q] * rr
                xr = torch.cat([x.real, x.imag], 1)
                d2 = (xr * xr).sum(1, keepdim=True) + sq[None] - 2 * xr @ Er.T
            else:  # |h r - t|^2 = sum |h|^2 |r|^2 + |t|^2 - 2 Re sum h r conj(t)
                t = E[q]
                y = rr * t.conj()
                r2 = rr.real**2 + rr.imag**2
                d2 = e_abs2 @ r2.T
                d2 = d2.T + (t.real**2 + t.imag**2).sum(1, keepdim=True) - 2 * (torch.cat([y.real, -y.imag], 1) @ Er.T)
            d = torch.sqrt(torch.clamp(d2, min=0.0))
            # |h r| <= |h| max|r_i|: bounds the query vector of either side
            x_norm = torch.sqrt(e_abs2[q].sum(1)) * torch.sqrt((rr.real**2 + rr.imag**2).max(1).values)
            return -d, x_norm + e_norm

        return rotate
    return None
