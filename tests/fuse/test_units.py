"""Pure-function tests: normalisation, blocking, scoring, policies."""

from __future__ import annotations

import random

import pytest

from kgkit.fuse.blocking import BlockingParams, block_pairs, ngram_block_pairs, token_block_pairs
from kgkit.fuse.normalize import fold, given_names_compatible, initials_compatible, match_key, tokens
from kgkit.fuse.policies import AccuPolicy, Claim, MajorityVote, TruthFinder, make_policy
from kgkit.fuse.scoring import EntityView, ScoringParams, cannot_link_reason, score_pair
from kgkit.errors import ConfigError


def test_fold_and_tokens():
    assert fold("Maria Skłodowska-Curie") == "maria sklodowska curie"
    assert match_key("Dr. Marie  CURIE") == "marie curie"
    assert tokens("Acme Corp.") == ["acme"]
    assert initials_compatible(["m", "curie"], ["marie", "curie"])
    assert not initials_compatible(["p", "curie"], ["marie", "curie"])
    assert not given_names_compatible(["pierre", "curie"], ["marie", "curie"])
    assert given_names_compatible(["maria", "curie"], ["marie", "curie"])
    assert given_names_compatible(["curie"], ["marie", "curie"])


def test_token_and_ngram_blocking_find_variants():
    names = ["Marie Curie", "Curie", "Maria Sklodowska", "Maria Skłodowska", "Albert Einstein", "IBM",
             "International Business Machines"]
    pairs = token_block_pairs(names) | ngram_block_pairs(names)
    assert (0, 1) in pairs and (2, 3) in pairs and (5, 6) in pairs
    assert (0, 4) not in pairs


def test_blocking_is_near_linear_on_synthetic_names():
    rng = random.Random(7)
    first = [f"given{i}" for i in range(300)]
    last = [f"family{i}" for i in range(600)]
    names = [f"{rng.choice(first)} {rng.choice(last)}" for _ in range(3000)]
    pairs = block_pairs(names, BlockingParams(max_block_size=30, ann_k=0))
    all_pairs = len(names) * (len(names) - 1) // 2
    assert len(pairs) < 0.01 * all_pairs
    assert len(pairs) < 30 * len(names)


def test_ann_blocking_with_bundled_model():
    from kgkit.fuse.embeddings import NameEmbedder

    emb = NameEmbedder(device="cpu")
    names = ["Marie Curie", "Madame Curie", "Albert Einstein", "Einstein, Albert", "Isaac Newton"]
    vecs = emb.encode(names)
    assert vecs.shape == (5, 384)
    pairs = block_pairs(names, BlockingParams(ann_k=1, ann_min_similarity=0.5), vectors=vecs)
    assert (2, 3) in pairs and (0, 1) in pairs
    assert float(vecs[0] @ vecs[1]) > float(vecs[0] @ vecs[4])


def test_cannot_link_rules(ontology):
    p = ScoringParams()
    a = EntityView("a", "John Smith", "Person", functional={"birthDate": {"1900"}})
    b = EntityView("b", "J. Smith", "Person", functional={"birthDate": {"1950"}})
    c = EntityView("c", "J. Smith", "Person", functional={"birthDate": {"12 May 1900"}})
    assert "birthDate" in cannot_link_reason(a, b, ontology, p)
    assert cannot_link_reason(a, c, ontology, p) is None
    assert "types" in cannot_link_reason(a, EntityView("d", "John Smith", "Organization"), ontology, p)
    assert score_pair(a, c, p).rule == "partial"


@pytest.fixture()
def reliability_claims():
    claims = []
    for i in range(6):
        for s in ("good", "ok1", "ok2"):
            claims.append(Claim(f"item{i}", f"true{i}", s))
        claims.append(Claim(f"item{i}", f"bad{i}", "liar1"))
        claims.append(Claim(f"item{i}", f"worse{i}", "liar2"))
    claims += [Claim("x", "right", "good"), Claim("x", "wrong", "liar1"), Claim("x", "wrong", "liar2")]
    return claims


def test_majority_vs_truth_discovery(reliability_claims):
    assert MajorityVote().resolve(reliability_claims).chosen["x"] == "wrong"
    for policy in (AccuPolicy(), TruthFinder()):
        res = policy.resolve(reliability_claims)
        assert res.chosen["x"] == "right", policy.name
        assert res.reliability["good"] > res.reliability["liar1"]
        assert abs(sum(res.probabilities["x"].values()) - 1.0) < 1e-6 or policy.name == "accu"


def test_recency_weights_favour_newer_claims():
    from kgkit.fuse.conflicts import ConflictParams, _recency_weights

    w = _recency_weights(ConflictParams(source_dates={"old": "2000-01-01", "new": "2010-01-01"}, recency_half_life_days=365))
    assert w["new"] == 1.0 and w["old"] < 0.01
    claims = [Claim("x", "a", "old", w["old"]), Claim("x", "a", "old2", w["old"]), Claim("x", "b", "new", 1.0)]
    assert MajorityVote(weighted=True).resolve(claims).chosen["x"] == "b"


def test_make_policy_errors():
    with pytest.raises(ConfigError, match="unknown conflict policy"):
        make_policy("oracle")
    with pytest.raises(ConfigError, match="bad parameters"):
        make_policy("majority", gamma=1)

