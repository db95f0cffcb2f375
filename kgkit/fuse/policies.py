"""Conflict-resolution policies: majority vote and truth discovery (ACCU, TruthFinder).

A policy sees *claims* — ``(item, value, source)`` with an optional weight (extraction confidence,
recency) — for many items at once, because truth discovery learns each source's reliability from how
often it agrees with the estimated truth across all items. Each policy returns, per item, a
probability for every claimed value and, for truth discovery, the estimated reliability per source.

References: Yin, Han & Yu, "Truth discovery with multiple conflicting information providers on the
web" (TruthFinder, KDD 2007); Dong, Berti-Equille & Srivastava, "Integrating conflicting data: the
role of source dependence" (ACCU and ACCU-COPY, VLDB 2009).

The default policy (:data:`DEFAULT_POLICY`) is ACCU-COPY, chosen by principle rather than by a
benchmark: truth discovery's failure mode is a group of sources that copy each other (their shared
errors look like consensus to majority vote, ACCU and TruthFinder alike); ACCU-COPY detects such
groups from the *false* values they share and discounts the copied votes, and where no dependence
is found it reduces to ACCU, which is never worse than majority vote when sources differ in accuracy.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from kgkit.errors import ConfigError

__all__ = [
    "Claim", "PolicyResult", "ResolutionPolicy", "MajorityVote", "AccuPolicy", "TruthFinder",
    "AccuCopyPolicy", "DEFAULT_POLICY", "make_policy",
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
    """Per item: value -> probability; the chosen value; per source: estimated reliability.

    ``dependence`` lists the pairs of sources a copy-aware policy judged dependent, with the
    posterior probability, most probable first.
    """

    probabilities: dict[str, dict[str, float]]
    chosen: dict[str, str]
    reliability: dict[str, float] = field(default_factory=dict)
    iterations: int = 0
    dependence: list[tuple[str, str, float]] = field(default_factory=list)


class ResolutionPolicy(Protocol):
    name: str

    def resolve(self, claims: Sequence[Claim]) -> PolicyResult: ...


_Grouped = dict[str, dict[str, dict[str, float]]]
_Probs = dict[str, dict[str, float]]


def _group(claims: Iterable[Claim]) -> _Grouped:
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

    def _update_reliability(self, grouped: _Grouped, probs: _Probs) -> dict[str, float]:
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, float] = defaultdict(float)
        for item, values in grouped.items():
            for v, sources in values.items():
                for s, w in sources.items():
                    sums[s] += w * probs[item][v]
                    counts[s] += w
        k = self.prior_strength
        return {s: (sums[s] + k * self._prior(s)) / (counts[s] + k) for s in counts}

    def _score(self, grouped: _Grouped, rel: Mapping[str, float]) -> _Probs:
        raise NotImplementedError

    def resolve(self, claims: Sequence[Claim]) -> PolicyResult:
        grouped = _group(claims)
        sources = {s for values in grouped.values() for ss in values.values() for s in ss}
        rel = {s: self._prior(s) for s in sources}
        probs: dict[str, dict[str, float]] = {}
        it = 0
        for it in range(1, self.max_iter + 1):  # noqa: B007 - the count is reported after the loop
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
        similarity: ``(claimed, other) -> [0, 1]``, how much claiming one value supports another
            (ACCU-SIM of Dong et al.: ``C*(v) = C(v) + rho * sum C(v') * sim(v', v)``); ``None``: exact.
        rho: weight of that support (0.5, the weight TruthFinder gives its implication).
    """

    name = "accu"

    def __init__(self, *, n_false: int = 10, similarity: Callable[[str, str], float] | None = None,
                 rho: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n_false = n_false
        self.similarity, self.rho = similarity, rho

    def _score(self, grouped: _Grouped, rel: Mapping[str, float]) -> _Probs:
        out: dict[str, dict[str, float]] = {}
        for item, values in grouped.items():
            raw: dict[str, float] = {}
            for v, sources in values.items():
                raw[v] = sum(w * math.log(self.n_false * rel[s] / (1.0 - rel[s])) for s, w in sources.items())
            scores = dict(raw)
            if self.similarity is not None:
                sim = self.similarity
                for v in values:
                    scores[v] += self.rho * sum(raw[u] * sim(u, v) for u in values if u != v)
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
                 similarity: Callable[[str, str], float] | None = None, prior: float = 0.9, **kwargs: Any) -> None:
        super().__init__(prior=prior, **kwargs)
        self.gamma, self.rho, self.base = gamma, rho, base_similarity
        self.similarity = similarity or (lambda a, b: 1.0 if a == b else 0.0)

    def _score(self, grouped: _Grouped, rel: Mapping[str, float]) -> _Probs:
        out: dict[str, dict[str, float]] = {}
        for item, values in grouped.items():
            sigma = {
                v: sum(w * -math.log(max(1e-9, 1.0 - min(rel[s], 1 - 1e-6))) for s, w in sources.items())
                for v, sources in values.items()
            }
            adj: dict[str, float] = {}
            for v in values:
                imp = sum(sigma[u] * (self.similarity(u, v) - self.base) for u in values if u != v)
                adj[v] = sigma[v] + self.rho * imp
            out[item] = {v: 1.0 / (1.0 + math.exp(-self.gamma * a)) for v, a in adj.items()}
        return out

    def _finalise(self, probs: _Probs) -> _Probs:
        # Trustworthiness uses the raw confidences (as in the paper); what is reported is normalised
        # per item so that the values of one item read as probabilities (the choice is unchanged).
        return {i: {v: c / (sum(p.values()) or 1.0) for v, c in p.items()} for i, p in probs.items()}


class AccuCopyPolicy(_Iterative):
    """ACCU-COPY (Dong et al. 2009): ACCU votes, discounted for sources that copy each other.

    Two sources that share many *false* values are far more likely to copy one another than to
    have made the same mistakes independently. Each round, for every pair of sources with items in
    common, the posterior probability of dependence is computed from the number of items on which
    they agree on a (probably) true value, agree on a (probably) false one, or disagree (Bayes, with
    prior ``alpha`` and copy rate ``copy_rate``). A value's vote count then adds each provider's ACCU
    vote times its independence, ``prod (1 - copy_rate * P(dependent on an earlier provider))``,
    where providers are taken from the most to the least accurate (the more accurate one is taken
    as the original). Without dependence this is exactly :class:`AccuPolicy`.

    On large, sparse claim sets (Book: 876 sources) a few sources' accuracies can keep flipping
    between two fixed points; ``max_iter`` bounds the run and the last round is returned.

    Args:
        n_false: assumed number of false values per item (the ``n`` of Dong et al.). 100 by default
            rather than ACCU's 10: a real attribute (a time, a gate, an author list) has many possible
            wrong values, and the smaller ``n``, the likelier two independent sources share a false
            value by chance (``(1 - A1)(1 - A2) / n``), which hides copying.
        alpha: prior probability that two sources are dependent.
        copy_rate: probability that a copier copies a given value (the ``c`` of Dong et al.).
        similarity, rho, prior, source_priors, prior_strength, max_iter, tol: as for :class:`AccuPolicy`.
    """

    name = "accucopy"

    def __init__(self, *, n_false: int = 100, alpha: float = 0.2, copy_rate: float = 0.8,
                 similarity: Callable[[str, str], float] | None = None, rho: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.similarity, self.rho = similarity, rho
        if not 0.0 < alpha < 1.0 or not 0.0 < copy_rate < 1.0:
            raise ConfigError(f"accucopy: alpha and copy_rate must be in (0, 1), got {alpha} and {copy_rate}")
        if n_false < 1:
            raise ConfigError(f"accucopy: n_false must be >= 1, got {n_false}")
        self.n_false, self.alpha, self.copy_rate = n_false, alpha, copy_rate

    def resolve(self, claims: Sequence[Claim]) -> PolicyResult:
        import numpy as np

        ix = _ClaimIndex(_group(claims), self.similarity)
        if not ix.sources:
            return PolicyResult({}, {})
        acc = np.array([self._prior(s) for s in ix.sources])
        dep = np.zeros(len(ix.pair_shared))
        probs = np.zeros(len(ix.value_item))
        it = 0
        for it in range(1, self.max_iter + 1):  # noqa: B007 - the count is reported after the loop
            probs = self._value_probabilities(ix, acc, dep)
            new_acc = self._accuracies(ix, probs)
            dep = self._dependence(ix, new_acc, probs)
            delta = float(np.max(np.abs(new_acc - acc)))
            acc = new_acc
            if delta < self.tol:
                break
        out: _Probs = defaultdict(dict)
        for v, (item, value) in enumerate(ix.values):
            out[item][value] = float(probs[v])
        rel = {s: float(a) for s, a in zip(ix.sources, acc)}
        return PolicyResult(dict(out), {i: _choose(p) for i, p in out.items()}, rel, it, ix.dependent_pairs(dep))

    def _value_probabilities(self, ix: "_ClaimIndex", acc: Any, dep: Any) -> Any:
        import numpy as np

        log_ind = np.zeros(len(ix.claim_source))
        if len(ix.agree_a) and dep.any():
            sa, sb = ix.claim_source[ix.agree_a], ix.claim_source[ix.agree_b]
            a_first = (acc[sa] > acc[sb]) | ((acc[sa] == acc[sb]) & (sa < sb))
            later = np.where(a_first, ix.agree_b, ix.agree_a)
            np.add.at(log_ind, later, np.log1p(-self.copy_rate * dep[ix.agree_pair]))
        a = np.clip(acc, 0.01, 0.99)
        votes = ix.claim_weight * np.exp(log_ind) * np.log(self.n_false * a / (1.0 - a))[ix.claim_source]
        score = np.bincount(ix.claim_value, weights=votes, minlength=len(ix.value_item))
        if len(ix.sim_from):
            score = score + self.rho * np.bincount(ix.sim_to, weights=ix.sim_weight * score[ix.sim_from],
                                                   minlength=len(score))
        top = np.full(len(ix.item_nvalues), -np.inf)
        np.maximum.at(top, ix.value_item, score)
        e = np.exp(score - top[ix.value_item])
        z = np.bincount(ix.value_item, weights=e, minlength=len(ix.item_nvalues))
        # Values nobody claimed (n + 1 - |V| of them) have vote count 0, as in AccuPolicy.
        z += np.maximum(0, self.n_false + 1 - ix.item_nvalues) * np.exp(-top)
        return e / z[ix.value_item]

    def _accuracies(self, ix: "_ClaimIndex", probs: Any) -> Any:
        import numpy as np

        n = len(ix.sources)
        sums = np.bincount(ix.claim_source, weights=ix.claim_weight * probs[ix.claim_value], minlength=n)
        counts = np.bincount(ix.claim_source, weights=ix.claim_weight, minlength=n)
        priors = np.array([self._prior(s) for s in ix.sources])
        k = self.prior_strength
        return np.clip((sums + k * priors) / (counts + k), 0.01, 0.99)

    def _dependence(self, ix: "_ClaimIndex", acc: Any, probs: Any) -> Any:
        """Posterior probability that each pair of sources is dependent (either direction)."""
        import numpy as np

        npairs = len(ix.pair_shared)
        if not npairs:
            return np.zeros(0)
        p_true = probs[ix.claim_value[ix.agree_a]]
        kt = np.bincount(ix.agree_pair, weights=p_true, minlength=npairs)
        n_agree = np.bincount(ix.agree_pair, minlength=npairs).astype(float)
        kf = n_agree - kt
        kd = np.maximum(0.0, ix.pair_shared - n_agree)
        c, n = self.copy_rate, self.n_false
        a1, a2 = acc[ix.pair_a], acc[ix.pair_b]
        pt = a1 * a2
        pf = (1 - a1) * (1 - a2) / n

        def log_lr(orig: Any) -> Any:  # the copier copies from the source of accuracy ``orig``
            return (kt * np.log((orig * c + pt * (1 - c)) / pt) + kf * np.log(((1 - orig) * c + pf * (1 - c)) / pf)
                    + kd * math.log(1 - c))

        log_odds = math.log(self.alpha / (1 - self.alpha)) + np.logaddexp(log_lr(a1), log_lr(a2)) - math.log(2)
        return 1.0 / (1.0 + np.exp(-np.clip(log_odds, -50, 50)))


class _ClaimIndex:
    """Claims as arrays: which source claims which value, which values agree, which sources overlap."""

    def __init__(self, grouped: _Grouped, similarity: Callable[[str, str], float] | None = None) -> None:
        import numpy as np

        self.sources = sorted({s for values in grouped.values() for ss in values.values() for s in ss})
        sidx = {s: i for i, s in enumerate(self.sources)}
        self.values: list[tuple[str, str]] = []
        value_item: list[int] = []
        nvalues: list[int] = []
        c_src: list[int] = []
        c_val: list[int] = []
        c_w: list[float] = []
        ag_a: list[int] = []
        ag_b: list[int] = []
        shared: dict[tuple[int, int], int] = defaultdict(int)
        sims: list[tuple[int, int, float]] = []
        for item_i, (item, values) in enumerate(grouped.items()):
            nvalues.append(len(values))
            if similarity is not None:
                base = len(self.values)
                names = list(values)
                sims += [(base + a, base + b, w) for a, u in enumerate(names) for b, v in enumerate(names)
                         if a != b and (w := similarity(u, v)) > 0]
            item_sources: set[int] = set()
            for value, providers in values.items():
                v = len(self.values)
                self.values.append((item, value))
                value_item.append(item_i)
                first = len(c_src)
                for s, w in sorted(providers.items()):
                    c_src.append(sidx[s])
                    c_val.append(v)
                    c_w.append(w)
                    item_sources.add(sidx[s])
                ids = range(first, len(c_src))
                for i in ids:
                    for j in ids:
                        if i < j:
                            ag_a.append(i)
                            ag_b.append(j)
            ordered = sorted(item_sources)
            for k, a in enumerate(ordered):
                for b in ordered[k + 1 :]:
                    shared[(a, b)] += 1
        self.value_item = np.array(value_item, dtype=np.int64)
        self.item_nvalues = np.array(nvalues, dtype=float)
        self.claim_source = np.array(c_src, dtype=np.int64)
        self.claim_value = np.array(c_val, dtype=np.int64)
        self.claim_weight = np.array(c_w, dtype=float)
        self.sim_from = np.array([a for a, _, _ in sims], dtype=np.int64)
        self.sim_to = np.array([b for _, b, _ in sims], dtype=np.int64)
        self.sim_weight = np.array([w for _, _, w in sims], dtype=float)
        self.agree_a = np.array(ag_a, dtype=np.int64)
        self.agree_b = np.array(ag_b, dtype=np.int64)
        pairs = sorted(shared)
        pair_of = {p: k for k, p in enumerate(pairs)}
        self.pair_a = np.array([a for a, _ in pairs], dtype=np.int64)
        self.pair_b = np.array([b for _, b in pairs], dtype=np.int64)
        self.pair_shared = np.array([shared[p] for p in pairs], dtype=float)
        sa, sb = self.claim_source[self.agree_a], self.claim_source[self.agree_b]
        self.agree_pair = np.array([pair_of[(min(a, b), max(a, b))] for a, b in zip(sa.tolist(), sb.tolist())],
                                   dtype=np.int64)

    def dependent_pairs(self, dep: Any, threshold: float = 0.5) -> list[tuple[str, str, float]]:
        """Pairs of sources judged dependent, most probable first."""
        idx = [k for k in range(len(dep)) if dep[k] >= threshold]
        idx.sort(key=lambda k: -dep[k])
        return [(self.sources[self.pair_a[k]], self.sources[self.pair_b[k]], round(float(dep[k]), 4)) for k in idx]


DEFAULT_POLICY = "accucopy"  # see the module docstring for why


def make_policy(name: str, **kwargs: object) -> ResolutionPolicy:
    """Build a policy by name (``majority``, ``accu``, ``truthfinder``, ``accucopy``, ``default``, or one
    registered in :data:`kgkit.registry.fusion_policies`).

    >>> make_policy("default").name
    'accucopy'
    >>> make_policy("accu", n_false=5).n_false
    5
    """
    from kgkit.registry import fusion_policies

    policy: ResolutionPolicy = fusion_policies.make(name, **kwargs)
    return policy
