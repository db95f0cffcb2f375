"""FastRankEvaluator gives exactly PyKEEN's ranks and metrics."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from kgkit.embed.datasets import load_bundled_dataset
from kgkit.embed.evaluation import SIDES, FastRankEvaluator, FilterIndex, rank_metrics

logging.getLogger("pykeen").setLevel(logging.ERROR)


def _pykeen_ranks(model, ds, batch_size):
    from pykeen.evaluation import RankBasedEvaluator

    ev = RankBasedEvaluator(clear_on_finalize=False)
    res = ev.evaluate(model, ds.validation.mapped_triples, batch_size=batch_size, use_tqdm=False,
                      additional_filter_triples=[ds.training.mapped_triples])
    return ev, res


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("model_name,kwargs", [
    ("TransE", {}), ("TransE", {"scoring_fct_norm": 2}), ("DistMult", {}), ("ComplEx", {}), ("RotatE", {}),
    ("ConvKB", {}),  # no fast kernel: falls back to PyKEEN's predict
])
def test_ranks_identical_to_pykeen(model_name, kwargs, inverse):
    from pykeen.models import model_resolver

    ds = load_bundled_dataset("nations", create_inverse_triples=inverse)
    model = model_resolver.make(model_name, triples_factory=ds.training, embedding_dim=16, random_seed=3, **kwargs)
    ev, res = _pykeen_ranks(model, ds, 32)
    ours = FastRankEvaluator(batch_size=32).evaluate(
        model, ds.validation.mapped_triples, additional_filter_triples=[ds.training.mapped_triples])
    for side in ("head", "tail"):
        for rt, mine in (("optimistic", ours.optimistic[side]), ("pessimistic", ours.pessimistic[side])):
            assert np.array_equal(np.concatenate(ev.ranks[side, rt]), mine), (side, rt)
        assert np.array_equal(np.concatenate(ev.num_candidates[side]), ours.num_candidates[side])
    assert ours.metrics["both.mrr"] == pytest.approx(res.get_metric("both.realistic.inverse_harmonic_mean_rank"), abs=1e-7)
    assert ours.metrics["both.hits@10"] == pytest.approx(res.get_metric("both.realistic.hits_at_10"), abs=1e-7)


def test_exact_ties_get_pykeens_realistic_rank():
    """Entities with identical embeddings tie; the realistic rank is the mean of optimistic and pessimistic."""
    from pykeen.models import DistMult

    ds = load_bundled_dataset("nations")
    model = DistMult(triples_factory=ds.training, embedding_dim=8, random_seed=0)
    with torch.no_grad():
        w = model.entity_representations[0]._embeddings.weight
        w[:] = w[0]  # all entities identical: every candidate ties with the true one
    ev, res = _pykeen_ranks(model, ds, 64)
    ours = FastRankEvaluator(batch_size=64).evaluate(
        model, ds.validation.mapped_triples, additional_filter_triples=[ds.training.mapped_triples])
    assert np.array_equal(np.concatenate(ev.ranks["tail", "realistic"]), ours.realistic("tail"))
    assert (ours.optimistic["tail"] == 1).all()
    assert ours.metrics["both.mrr"] == pytest.approx(res.get_metric("both.realistic.inverse_harmonic_mean_rank"), abs=1e-7)


def test_filter_index_lists_known_answers():
    triples = np.array([[0, 0, 1], [0, 0, 2], [1, 0, 2], [0, 1, 3]])
    idx = FilterIndex(triples, num_relations=2)
    rows, ents = idx.positives("tail", np.array([0, 1, 3]), np.array([0, 0, 0]))
    assert sorted(zip(rows.tolist(), ents.tolist())) == [(0, 1), (0, 2), (1, 2)]
    rows, ents = idx.positives("head", np.array([2]), np.array([0]))
    assert sorted(ents.tolist()) == [0, 1]


def test_rank_metrics():
    m = rank_metrics(np.array([1.0, 2.0, 4.0, 10.5], dtype=np.float32), ks=(1, 10))
    assert m["mrr"] == pytest.approx((1 + 0.5 + 0.25 + 1 / 10.5) / 4)
    assert m["hits@1"] == 0.25 and m["hits@10"] == 0.75


@pytest.mark.parametrize("model_name,kwargs,use_numba", [
    ("TransE", {}, True), ("TransE", {}, False), ("TransE", {"scoring_fct_norm": 2}, True), ("DistMult", {}, True),
    ("RotatE", {}, True),
])
def test_near_ties_are_ranked_with_pykeens_rounding(model_name, kwargs, use_numba):
    """Entities a few ulps apart: float32 rounding decides the ranks, and ours must equal PyKEEN's."""
    from pykeen.models import model_resolver

    ds = load_bundled_dataset("nations")
    model = model_resolver.make(model_name, triples_factory=ds.training, embedding_dim=32, random_seed=1, **kwargs)
    emb = model.entity_representations[0]._embeddings.weight
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        noise = torch.randn(emb.shape, generator=g) * 1e-6
        emb[:] = emb[0] + noise.to(emb.dtype)
    ev, _ = _pykeen_ranks(model, ds, 50)
    fast = FastRankEvaluator(batch_size=50, use_numba=use_numba)
    ours = fast.evaluate(model, ds.validation.mapped_triples, additional_filter_triples=[ds.training.mapped_triples])
    assert fast.rescored_rows > 0  # the near-tie path was exercised
    for side in ("head", "tail"):
        for rt, mine in (("optimistic", ours.optimistic[side]), ("pessimistic", ours.pessimistic[side])):
            assert np.array_equal(np.concatenate(ev.ranks[side, rt]), mine), (side, rt)


def _transe_l1(ds, seed=3, dim=16):
    from pykeen.models import TransE

    return TransE(triples_factory=ds.training, embedding_dim=dim, random_seed=seed)


@pytest.mark.parametrize("filtered", [True, False])
@pytest.mark.parametrize("mode", ["numba", "numba, re-scoring near ties after every batch", "use_numba=False",
                                  "numba missing"])
def test_l1_kernel_and_fallback_give_pykeens_ranks(filtered, mode, monkeypatch):
    """The numba kernel, the torch.cdist path and the path without numba all rank exactly as PyKEEN."""
    from kgkit.embed import _l1_kernel, evaluation

    if mode == "numba missing":
        monkeypatch.setattr(_l1_kernel, "available", lambda: False)
    if mode.startswith("numba, "):
        monkeypatch.setattr(evaluation, "_EXACT_FLUSH", 1)
    ds = load_bundled_dataset("nations", create_inverse_triples=not filtered)
    model = _transe_l1(ds)
    fast = FastRankEvaluator(batch_size=40, filtered=filtered, use_numba=mode != "use_numba=False")
    if filtered:
        ev, _ = _pykeen_ranks(model, ds, 40)
        ours = fast.evaluate(model, ds.validation.mapped_triples, additional_filter_triples=[ds.training.mapped_triples])
        expected = {(side, rt): np.concatenate(ev.ranks[side, rt]) for side in SIDES for rt in ("optimistic", "pessimistic")}
    else:  # raw ranks straight from PyKEEN's own scores (its evaluator only ranks filtered here)
        ours = fast.evaluate(model, ds.validation.mapped_triples)
        expected = _raw_pykeen_ranks(model, ds.validation.mapped_triples, 40)
    assert fast.used_numba == (mode.startswith("numba") and mode != "numba missing")
    for side in SIDES:
        for rt, mine in (("optimistic", ours.optimistic[side]), ("pessimistic", ours.pessimistic[side])):
            assert np.array_equal(expected[side, rt], mine), (side, rt)
    assert (ours.num_candidates["tail"] == ds.num_entities).all() != filtered


def _raw_pykeen_ranks(model, triples, batch_size):
    out = {}
    with torch.inference_mode():
        for side, col in (("head", 0), ("tail", 2)):
            opt, pes = [], []
            for batch in triples.split(batch_size):
                s = model.predict(hrt_batch=batch, target=side)
                true = s[torch.arange(len(batch)), batch[:, col]].unsqueeze(1)
                opt.append(((s > true).sum(1) + 1).numpy())
                pes.append((s >= true).sum(1).numpy())
            out[side, "optimistic"], out[side, "pessimistic"] = np.concatenate(opt), np.concatenate(pes)
    return out

def _kernel_problem(n_rows=37, n_ent=300, dim=24, seed=0):
    rng = np.random.default_rng(seed)
    E = rng.normal(size=(n_ent, dim)).astype(np.float32)
    E[100:140] = E[7] + (rng.normal(size=(40, dim)) * 1e-6).astype(np.float32)  # near ties of entity 7
    X = rng.normal(size=(n_rows, dim)).astype(np.float32)
    target = rng.integers(0, n_ent, n_rows)
    target[:5] = 7
    filt = [np.unique(np.append(rng.choice(n_ent, 20, replace=False), [target[i], 101, 102])) for i in range(n_rows)]
    ptr = np.concatenate([[0], np.cumsum([len(f) for f in filt])]).astype(np.int64)
    return X, E, target, filt, ptr, np.concatenate(filt).astype(np.int64)


def test_l1_kernel_counts_match_a_float64_reference():
    """Certainly-above counts and near candidates agree with exact distances; filtered / true never counted."""
    from kgkit.embed import _l1_kernel

    X, E, target, filt, ptr, ents = _kernel_problem()
    slack = _l1_kernel.l1_slack(E.shape[1])
    above, near = _l1_kernel.l1_rank_counts(X, np.ascontiguousarray(E.T), target, ptr, ents, slack)
    D = np.abs(X[:, None, :].astype(np.float64) - E[None].astype(np.float64)).sum(-1)
    assert any(len(n) > 5 for n in near[:5])  # the engineered near ties were found
    for i in range(len(X)):
        keep = np.ones(len(E), dtype=bool)
        keep[filt[i]] = False
        dt = D[i, target[i]]
        assert not set(near[i].tolist()) & set(filt[i].tolist())
        # far below the band: certainly above; far above it: never counted
        clearly_above = int((keep & (D[i] < dt * (1 - 2 * slack))).sum())
        maybe_above = int((keep & (D[i] < dt * (1 + 2 * slack))).sum())
        assert clearly_above <= above[i] <= above[i] + len(near[i]) <= maybe_above
        assert above[i] + len(near[i]) >= int((keep & (D[i] <= dt)).sum())


def test_l1_kernel_rows_with_more_near_ties_than_the_buffer_are_rerun():
    from kgkit.embed import _l1_kernel

    X, E, target, _, ptr, ents = _kernel_problem()
    ET = np.ascontiguousarray(E.T)
    slack = _l1_kernel.l1_slack(E.shape[1])
    a_big, n_big = _l1_kernel.l1_rank_counts(X, ET, target, ptr, ents, slack, cap=512)
    a_small, n_small = _l1_kernel.l1_rank_counts(X, ET, target, ptr, ents, slack, cap=1)
    assert max(len(n) for n in n_big) > 1  # the small buffer really overflowed
    assert np.array_equal(a_big, a_small)
    assert all(np.array_equal(b, s) for b, s in zip(n_big, n_small))


def test_l1_slack_bounds_the_difference_to_torchs_float32_norm():
    """The kernel-vs-PyKEEN difference of one score never exceeds half the near-tie band."""
    from kgkit.embed import _l1_kernel

    rng = np.random.default_rng(1)
    dim = 200
    X = (rng.normal(size=(8, dim)) * rng.uniform(0.01, 100, size=(8, 1))).astype(np.float32)
    E = rng.normal(size=(500, dim)).astype(np.float32)
    pyk = torch.from_numpy(X)[:, None, :].add(-torch.from_numpy(E)[None]).norm(p=1, dim=-1).double().numpy()
    exact = np.abs((X[:, None, :] - E[None]).astype(np.float64)).sum(-1)  # the same float32 terms, exact sum
    assert (np.abs(pyk - exact) <= _l1_kernel.l1_slack(dim) / 4 * exact).all()


def test_kernel_compile_failure_falls_back_to_cdist(monkeypatch, caplog):
    """A numba that cannot compile the kernel costs speed, not results: same ranks, a warning naming the fix."""
    from kgkit.embed import _l1_kernel

    def broken() -> float:
        raise _l1_kernel.KernelCompileError("the numba L1 ranking kernel failed to compile (test)")

    monkeypatch.setattr(_l1_kernel, "warm_up", broken)
    ds = load_bundled_dataset("nations")
    model = _transe_l1(ds)
    ev, _ = _pykeen_ranks(model, ds, 32)
    fast = FastRankEvaluator(batch_size=32)
    with caplog.at_level(logging.WARNING, logger="kgkit.embed.evaluation"):
        ours = fast.evaluate(model, ds.validation.mapped_triples, additional_filter_triples=[ds.training.mapped_triples])
    assert not fast.used_numba and "failed to compile" in caplog.text
    for side in SIDES:
        assert np.array_equal(np.concatenate(ev.ranks[side, "pessimistic"]), ours.pessimistic[side])
        assert np.array_equal(np.concatenate(ev.ranks[side, "optimistic"]), ours.optimistic[side])
