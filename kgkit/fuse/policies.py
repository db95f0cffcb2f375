"""Conflict-resolution policies: majority vote and truth discovery (ACCU, TruthFinder).

A policy sees *claims* — ``(item, value, source)`` with an optional weight (extraction confidence,
recency) — for many items at once, because truth discovery learns each source's reliability from how
often it agrees with the estimated truth across all items. Each policy returns, per item, a
probability for every claimed value and, for truth discovery, the estimated reliability per source.

References: Yin, Han & Yu, "Truth discovery with multiple conflicting information providers on the
web" (TruthFinder, KDD 2007); Dong, Berti-Equille & Srivastava, "Integrating conflicting data: the
role of source dependence" (ACCU, VLDB 2009).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Protocol, Sequence

from kgkit.errors import ConfigError

__all__ = [
    "Claim", "PolicyResult", "ResolutionPolicy", "MajorityVote", "AccuPolicy", "TruthFinder",
    "POLICIES", "make_policy",
]


@dataclass(frozen=True, slots=True)
class Claim:
    """``source`` says that ``item`` (e.g. subject + functional relation) has ``value``."""

    item: str
    value: str
    source: str
    weight: float = 1.0


@dataclass
class PolicyResult:
    """Per item: value -> probability; the chosen value; per source: estimated reliability."""

    probabilities: dict[str, dict[str, float]]
    chosen: dict[str, str]
    reliability: dict[str, float] = field(default_factory=dict)
    iterations: int = 0


class ResolutionPolicy(Protocol):
    name: str

    def resolve(self, claims: Sequence[Claim]) -> PolicyResult: ...


def _group(claims: Iterable[Claim]) -> dict[str, dict[str, dict[str, float]]]:
    """item -> value -> source -> weight (a source counts once per value, at its best weight)."""
    out: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for c in claims:
        prev = out[c.item][c.value].get(c.source, 0.0)
        out[c.item][c.value][c.source] = max(prev, c.weight)
    return out


def _choose(probs: Mapping[str, float]) -> str:
    # Ties go to the lexicographically smallest value so results are deterministic.
    return min(probs, key=lambda v: (-probs[v], v))


class MajorityVote:
    """Each source votes once per item for each value it claims; the most-voted value wins."""

    name = "majority"

    def __init__(self, *, weighted: bool = False) -> None:
        self.weighted = weighted

    def resolve(self, claims: Sequence[Claim]) -> PolicyResult:
        probs: dict[str, dict[str, float]] = {}
        for item, values in _group(claims).items():
            votes = {v: (sum(s.values()) if self.weighted else float(len(s))) for v, s in values.items()}
            total = sum(votes.values()) or 1.0
            probs[item] = {v: n / total for v, n in votes.items()}
        return PolicyResult(probs, {i: _choose(p) for i, p in probs.items()})


class _Iterative:
    """Shared machinery: source priors with pseudo-counts, convergence loop."""

    name = "iterative"

    def __init__(self, *, prior: float = 0.8, source_priors: Mapping[str, float] | None = None,
                 prior_strength: float = 1.0, max_iter: int = 50, tol: float = 1e-5) -> None:
        if not 0.0 < prior < 1.0:
            raise ConfigError(f"{self.name}: prior must be in (0, 1), got {prior}")
        self.prior = prior
        self.source_priors = dict(source_priors or {})
        self.prior_strength = prior_strength
        self.max_iter = max_iter
        self.tol = tol

    def _prior(self, source: str) -> float:
        return min(0.99, max(0.01, self.source_priors.get(source, self.prior)))

    def _update_reliability(self, grouped, probs) -> dict[str, float]:
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, float] = defaultdict(float)
        for item, values in grouped.items():
            for v, sources in values.items():
                for s, w in sources.items():
                    sums[s] += w * probs[item][v]
                    counts[s] += w
        k = self.prior_strength
        return {s: (sums[s] + k * self._prior(s)) / (counts[s] + k) for s in counts}

    def _score(self, grouped, rel) -> dict[str, dict[str, float]]:
        raise NotImplementedError

    def resolve(self, claims: Sequence[Claim]) -> PolicyResult:
        grouped = _group(claims)
        sources = {s for values in grouped.values() for ss in values.values() for s in ss}
        rel = {s: self._prior(s) for s in sources}
        probs: dict[str, dict[str, float]] = {}
        it = 0
        for it in range(1, self.max_iter + 1):
            probs = self._score(grouped, rel)
            new_rel = self._update_reliability(grouped, probs)
            delta = max((abs(new_rel[s] - rel[s]) for s in new_rel), default=0.0)
            rel = new_rel
            if delta < self.tol:
                break
        probs = self._finalise(probs)
        return PolicyResult(probs, {i: _choose(p) for i, p in probs.items()}, rel, it)

    def _finalise(self, probs: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        return probs


class AccuPolicy(_Iterative):
    """ACCU: a source of accuracy ``A`` casts a vote of ``ln(n * A / (1 - A))`` for its value.

    Args:
        n_false: assumed number of false values per item (the ``n`` of Dong et al.).
        prior: initial accuracy of every source; ``source_priors`` overrides it per source.
        prior_strength: pseudo-count pulling a source's accuracy towards its prior (sparse sources).
    """

    name = "accu"

    def __init__(self, *, n_false: int = 10, **kwargs: float) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.n_false = n_false

    def _score(self, grouped, rel):
        out: dict[str, dict[str, float]] = {}
        for item, values in grouped.items():
            scores = {}
            for v, sources in values.items():
                scores[v] = sum(w * math.log(self.n_false * rel[s] / (1.0 - rel[s])) for s, w in sources.items())
            top = max(scores.values())
            exp = {v: math.exp(c - top) for v, c in scores.items()}
            # Values nobody claimed (n + 1 - |V| of them) have vote count 0.
            unclaimed = max(0, self.n_false + 1 - len(values)) * math.exp(-top)
            z = sum(exp.values()) + unclaimed
            out[item] = {v: e / z for v, e in exp.items()}
        return out


class TruthFinder(_Iterative):
    """TruthFinder (Yin et al.): trustworthiness and fact confidence reinforce each other.

    Args:
        gamma: dampening factor of the sigmoid (the paper uses 0.3; 0.8 separates sources faster
            on the small claim sets of a document collection).
        rho: weight of the implication between values of one item.
        similarity: ``(value, value) -> [0, 1]``; different values imply against each other by
            ``similarity - base_similarity``.
    """

    name = "truthfinder"

    def __init__(self, *, gamma: float = 0.8, rho: float = 0.5, base_similarity: float = 0.5,
                 similarity: Callable[[str, str], float] | None = None, prior: float = 0.9, **kwargs: float) -> None:
        super().__init__(prior=prior, **kwargs)  # type: ignore[arg-type]
        self.gamma, self.rho, self.base = gamma, rho, base_similarity
        self.similarity = similarity or (lambda a, b: 1.0 if a == b else 0.0)

    def _score(self, grouped, rel):
        out: dict[str, dict[str, float]] = {}
        for item, values in grouped.items():
            sigma = {
                v: sum(w * -math.log(max(1e-9, 1.0 - min(rel[s], 1 - 1e-6))) for s, w in sources.items())
                for v, sources in values.items()
            }
            adj = {}
            for v in values:
                imp = sum(sigma[u] * (self.similarity(u, v) - self.base) for u in values if u != v)
                adj[v] = sigma[v] + self.rho * imp
            out[item] = {v: 1.0 / (1.0 + math.exp(-self.gamma * a)) for v, a in adj.items()}
        return out

    def _finalise(self, probs):
        # Trustworthiness uses the raw confidences (as in the paper); what is reported is normalised
        # per item so that the values of one item read as probabilities (the choice is unchanged).
        return {i: {v: c / (sum(p.values()) or 1.0) for v, c in p.items()} for i, p in probs.items()}


POLICIES: dict[str, type] = {"majority": MajorityVote, "accu": AccuPolicy, "truthfinder": TruthFinder}


def make_policy(name: str, **kwargs: object) -> ResolutionPolicy:
    """Build a policy by name (``majority``, ``accu``, ``truthfinder``) with its keyword arguments."""
    try:
        cls = POLICIES[name]
    except KeyError:
        raise ConfigError(f"unknown conflict policy {name!r}; choose one of: {', '.join(POLICIES)}") from None
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ConfigError(f"bad parameters for conflict policy {name!r}: {err}") from err
