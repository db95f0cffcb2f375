"""Platt scaling: the one logistic fit that turns a raw score into a calibrated probability.

Used by the trained extractor (fact confidence, on ``logit(p)`` of its held-back facts) and by link
prediction (KGE scores of held-out true triples against corruptions).
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit_platt", "sigmoid"]


def sigmoid(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def fit_platt(scores: np.ndarray, labels: np.ndarray, *, l2: float = 1e-3, iters: int = 50) -> tuple[float, float]:
    """``(a, b)`` with ``P(label) = sigmoid(a * score + b)``: logistic regression by Newton's method on
    standardised scores, a tiny L2 on the slope so separable data stays finite."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    mu, sd = float(scores.mean()), float(scores.std()) or 1.0
    x = (scores - mu) / sd
    w = np.zeros(2)
    X = np.stack([x, np.ones_like(x)], 1)
    for _ in range(iters):
        p = sigmoid(X @ w)
        grad = X.T @ (p - labels) + l2 * np.array([w[0], 0.0])
        hess = (X * (p * (1 - p))[:, None]).T @ X + l2 * np.diag([1.0, 1e-9])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0] / sd), float(w[1] - w[0] * mu / sd)
