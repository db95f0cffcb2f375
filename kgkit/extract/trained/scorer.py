"""The pair classifier's network: a torch module for training and calibration, and its numpy twin for
extraction (on a shared 2-core machine, torch's thread pool costs more than these few small products).

One scorer is a bag of feature embeddings, a ReLU hidden layer and logits over the relations plus "none";
an ensemble holds several, trained one by one from different starts, their logits averaged.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import numpy as np

__all__ = ["ensemble_logits", "make_scorer", "one_blas_thread", "scorer_members", "stack_members"]


def make_scorer(n_features: int, n_classes: int, dim: int, hidden: int, prior_groups: int = 0, context_dim: int = 0,
                members: int = 1) -> Any:
    """Bag of feature embeddings -> ReLU hidden layer -> logits (one per relation, plus "none"), plus,
    with ``prior_groups``, the relation-name prior weighted by one learned scalar per group, and with
    ``context_dim``, the pair's context word vectors fed to the hidden layer.

    With ``members`` > 1, that many such scorers, trained one by one from their own initial weights
    and batch order (:func:`scorer_members`), whose logits are averaged."""
    import torch

    nn = torch.nn

    class PairScorer(nn.Module):  # defined here: importing this module does not import torch
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.EmbeddingBag(n_features + 1, dim, mode="sum", padding_idx=n_features, sparse=True)
            self.bias = nn.Parameter(torch.zeros(dim))
            self.hidden = nn.Linear(dim, hidden)
            self.out = nn.Linear(hidden, n_classes)
            self.drop = nn.Dropout(0.2)
            if prior_groups:
                self.beta = nn.Parameter(torch.full((prior_groups,), 2.0))
            if context_dim:
                self.ctx = nn.Linear(context_dim, hidden, bias=False)

        def forward(self, idx: Any, offsets: Any, prior: Any = None, ctx: Any = None) -> Any:
            x = torch.relu(self.emb(idx, offsets) + self.bias)
            h = self.hidden(self.drop(x))
            if ctx is not None:
                h = h + self.ctx(self.drop(ctx))
            z = self.out(self.drop(torch.relu(h)))
            if prior is not None:
                z = z + (prior * self.beta[None, :, None]).sum(1)
            return z

    if members <= 1:
        return PairScorer()

    class ScorerEnsemble(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.members = nn.ModuleList([PairScorer() for _ in range(members)])

        def forward(self, idx: Any, offsets: Any, prior: Any = None, ctx: Any = None) -> Any:
            return torch.stack([m(idx, offsets, prior, ctx) for m in self.members]).mean(0)

    return ScorerEnsemble()


def scorer_members(network: Any) -> list[Any]:
    """The scorers of a network from :func:`make_scorer` (itself, unless it is an ensemble)."""
    return list(network.members) if hasattr(network, "members") else [network]


def stack_members(weights: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The members' bag embeddings and biases side by side, so that one sparse product serves them all
    (:func:`ensemble_logits`)."""
    return {"emb": np.ascontiguousarray(np.concatenate([w["emb.weight"] for w in weights], axis=1)),
            "bias": np.concatenate([w["bias"] for w in weights])}


def ensemble_logits(weights: list[dict[str, np.ndarray]], stacked: dict[str, np.ndarray], bags: Any,
                    ctx: np.ndarray | None, prior: np.ndarray | None) -> np.ndarray:
    """The members' mean logits: the numpy twin of the network's forward in evaluation mode (run it under
    :func:`one_blas_thread`). ``stacked`` is :func:`stack_members` of ``weights``."""
    x_all = np.maximum(np.asarray(bags @ stacked["emb"]) + stacked["bias"], 0.0)
    dim = weights[0]["emb.weight"].shape[1]
    zs = []
    for m, w in enumerate(weights):
        x = np.ascontiguousarray(x_all[:, m * dim:(m + 1) * dim])
        h = x @ w["hidden.weight"].T + w["hidden.bias"]
        if ctx is not None:
            h = h + ctx @ w["ctx.weight"].T
        z = np.maximum(h, 0.0) @ w["out.weight"].T + w["out.bias"]
        if prior is not None:
            z = z + np.einsum("bgc,g->bc", prior, w["beta"])
        zs.append(z)
    return np.asarray(np.mean(zs, axis=0))


@functools.lru_cache(maxsize=1)
def _blas_controller() -> Any:
    """One controller of the loaded BLAS libraries (finding them reads /proc; done per call it took about
    5 % of the extractor's own time, besides the spaCy parse, in a profile)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: without it, numpy's default pool is used
        return None
    return ThreadpoolController()


def one_blas_thread() -> Any:
    """Small products run ~10x faster on one BLAS thread than on a contended pool."""
    controller = _blas_controller()
    return contextlib.nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")
