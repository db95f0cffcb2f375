"""FastRankEvaluator gives exactly PyKEEN's ranks and metrics."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from kgkit.embed.datasets import load_bundled_dataset
from kgkit.embed.evaluation import FastRankEvaluator, FilterIndex, rank_metrics

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


@pytest.mark.parametrize("model_name,kwargs", [
    ("TransE", {}), ("TransE", {"scoring_fct_norm": 2}), ("DistMult", {}), ("RotatE", {}),
])
def test_near_ties_are_ranked_with_pykeens_rounding(model_name, kwargs):
    """Entities a few ulps apart: float32 rounding decides the ranks, and ours must equal PyKEEN's."""
    from pykeen.models import model_resolver

    ds = load_bundled_dataset("nations")
    model = model_resolver.make(model_name, triples_factory=ds.training, embedding_dim=32, random_seed=1, **kwargs)
    emb = model.entity_representations[0]._embeddings.weight
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        noise = torch.randn(emb.shape, generator=g) * 1e-6
        emb[:] = emb[0] + noise.to(emb.dtype)
    ev, res = _pykeen_ranks(model, ds, 50)
    fast = FastRankEvaluator(batch_size=50)
    ours = fast.evaluate(model, ds.validation.mapped_triples, additional_filter_triples=[ds.training.mapped_triples])
    assert fast.rescored_rows > 0  # the near-tie path was exercised
    for side in ("head", "tail"):
        for rt, mine in (("optimistic", ours.optimistic[side]), ("pessimistic", ours.pessimistic[side])):
            assert np.array_equal(np.concatenate(ev.ranks[side, rt]), mine), (side, rt)
