"""The relation-name prior and the ontology's domain/range constraint of the trained extractor."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from kgkit.extract.trained import TrainedModel
from kgkit.extract.trained.label_prior import GROUPS, LabelPrior
from kgkit.extract.trained.mentions import Gazetteer, Mention
from kgkit.extract.trained.model import make_scorer
from kgkit.ontology import load_ontology

RELATIONS = ["foundedBy", "birthPlace", "capital", "runwayLength", "isPartOf", "spouse"]


def test_prior_reads_relation_names_in_the_context_groups() -> None:
    lp = LabelPrior(RELATIONS)
    got = {(GROUPS[g], RELATIONS[k]): v for g, k, v in lp.sparse(
        ["F|bw=found", "F|bw=by", "pw=found", "F|win<capital", "F|bw=bear", "B|bwfar=wife", "dir=F", "F|bseq=found by"])}
    assert got[("between", "foundedBy")] == 1.0 and got[("path", "foundedBy")] == 1.0
    assert got[("window", "capital")] == 1.0
    assert got[("between", "birthPlace")] == 0.5, "'born' (lemma 'bear') covers one of birth/place"
    assert got[("between", "spouse")] == 1.0, "an everyday synonym ('wife') counts"
    assert ("between", "runwayLength") not in got and ("between", "isPartOf") not in got
    dense = lp.dense([lp.sparse(["F|bw=capital"])], len(RELATIONS) + 1)
    assert dense.shape == (1, len(GROUPS), len(RELATIONS) + 1) and dense[0, 0, 2] == 1.0 and dense[0, :, -1].sum() == 0


def test_prior_moves_the_logits_by_the_learned_weights() -> None:
    torch = pytest.importorskip("torch")
    net = make_scorer(4, len(RELATIONS) + 1, 8, 8, prior_groups=len(GROUPS)).eval()
    idx, off = torch.tensor([0, 1]), torch.tensor([0])
    prior = torch.zeros((1, len(GROUPS), len(RELATIONS) + 1))
    prior[0, 0, 0] = 1.0
    with torch.no_grad():
        delta = net(idx, off, prior) - net(idx, off)
    assert delta[0, 0].item() == pytest.approx(net.beta[0].item()) and delta[0, 1:].abs().max().item() == 0.0


def _mention(name: str, start: int, known: bool = True) -> Mention:
    return Mention(start, start + 1, start * 10, start * 10 + 5, name, "gaz" if known else "propn", name, known)


def test_known_types_outside_domain_or_range_are_masked(tmp_path: Path) -> None:
    onto = load_ontology()
    rels = ["bornIn", "worksFor", "headquarteredIn"]
    assert all(r in onto.relation_types for r in rels)
    gaz = Gazetteer(types={"Ada": Counter({"Person": 2}), "Acme": Counter({"Organization": 1}),
                           "Paris": Counter({"Place": 3})})
    model = TrainedModel(onto, [*rels, "<none>"], gaz, {}, {}, network=None)
    ada, acme, paris, stranger = _mention("Ada", 0), _mention("Acme", 1), _mention("Paris", 2), _mention("Zed", 3, known=False)
    mask = model.type_mask([ada, acme, paris, stranger], [(0, 2), (1, 2), (0, 1), (3, 2), (0, 3)])
    assert mask[0].tolist() == [1.0, 0.0, 0.0], "Person -> Place: born there, not employed by it or headquartered"
    assert mask[1].tolist() == [0.0, 0.0, 1.0], "an Organization is not born; it is headquartered"
    assert mask[2].tolist() == [0.0, 1.0, 0.0]
    assert mask[3].tolist() == [1.0, 0.0, 1.0], "an unknown head admits every domain; the known tail still counts"
    assert mask[4].tolist() == [1.0, 1.0, 0.0], "an unknown tail admits every range"


def test_minilm_word_vectors_group_meanings_and_average_context_groups() -> None:
    from kgkit.extract.trained.word_vectors import ContextVectors, minilm_word_vectors

    wv = minilm_word_vectors()
    founded = wv.vector("founded")
    assert founded is not None and wv.vector("established") @ founded > wv.vector("runway") @ founded + 0.2
    assert wv.vector("Founded") is founded, "lower-cased and cached"
    assert wv.vector("qzxqzxqzx") is not None, "unknown words are spelled with word pieces"
    ctx = ContextVectors(wv, len(GROUPS))
    d = ctx.dense([["F|bw=found", "F|bw=city", "pw=found", "dir=F", "F|bseq=found city"], [], ["F|win<capital"]])
    dim = wv.dim
    assert d.shape == (3, len(GROUPS) * dim)
    np.testing.assert_allclose(d[0, :dim], (wv.vector("found") + wv.vector("city")) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d[0, dim:2 * dim], wv.vector("found"), rtol=1e-5, atol=1e-6)
    assert not d[0, 2 * dim:].any() and not d[1].any()
    np.testing.assert_allclose(d[2, 2 * dim:], wv.vector("capital"), rtol=1e-5, atol=1e-6)


def test_model_with_word_vectors_saves_loads_and_scores_alike(tmp_path: Path, spacy_extractor) -> None:
    from kgkit.extract.trained import TrainConfig, load_training_ontology, read_examples, train_model

    examples = Path(__file__).resolve().parents[2] / "data" / "examples" / "people.jsonl"
    onto = load_training_ontology("default")
    model = train_model(read_examples(examples, onto), onto,
                        TrainConfig(epochs=3, min_feature_count=1, holdout_every=7, word_vectors="minilm"),
                        nlp=spacy_extractor.nlp)
    back = TrainedModel.load(model.save(tmp_path / "m"))
    assert back.word_vectors == "minilm" and back.label_prior and back.fingerprint == model.fingerprint
    feats = [["dir=F", "F|bw=bear", "F|bw=in", "pw=bear"], ["dir=B", "F|bw=work", "pw=for"]]
    np.testing.assert_allclose(back.probabilities(feats), model.probabilities(feats), rtol=1e-5, atol=1e-6)
    # the torch path (training, calibration) and the numpy path (extraction) give the same probabilities
    z = back.logits(feats).numpy() / back.temperature
    p = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(p / p.sum(1, keepdims=True), back.probabilities(feats), rtol=1e-4, atol=1e-5)


def test_platt_scaling_recovers_a_known_miscalibration() -> None:
    from kgkit.extract.trained.calibration import fit_platt
    from kgkit.extract.trained.model import platt_scale

    rng = np.random.default_rng(0)
    conf = rng.uniform(0.01, 0.99, 4000)
    truth = platt_scale(conf, 0.5, 1.0)  # underconfident low, overconfident high, as the raw model is
    correct = rng.uniform(size=conf.size) < truth
    a, b = fit_platt(conf.tolist(), correct.tolist())
    assert a == pytest.approx(0.5, abs=0.1) and b == pytest.approx(1.0, abs=0.15)
    fixed = platt_scale(conf, a, b)
    for lo in (0.0, 0.3, 0.6):
        sel = (fixed >= lo) & (fixed < lo + 0.3)
        assert abs(fixed[sel].mean() - correct[sel].mean()) < 0.05, "calibrated confidence matches accuracy"
    assert fit_platt([0.5] * 10, [True, False] * 5) is None, "too few facts to fit"
    assert fit_platt([0.2, 0.9] * 20, [True] * 40) is None, "one outcome only"


def test_unknown_threshold_metric_is_refused_before_training() -> None:
    from kgkit.errors import ConfigError
    from kgkit.extract.trained import TrainConfig, train_model
    from kgkit.extract.trained.examples import Example

    with pytest.raises(ConfigError, match="facts-f5"):
        train_model([Example("Ada was born in Paris.", (("Ada", "bornIn", "Paris"),))], load_ontology(),
                    TrainConfig(threshold_metric="f1"))


@pytest.mark.parametrize("max_rows", [500_000, 3])
def test_feature_table_gives_the_bags_and_prior_of_the_per_pair_path(max_rows: int) -> None:
    """Extraction's feature table (each string looked at once) equals training's per-pair path: the same
    bag ids in the same order, the padding id for a pair with no known string, and the same prior, across
    batches that repeat strings, repeat a name word within a pair, and overflow the table."""
    from kgkit.extract.trained.feature_table import FeatureTable

    lp = LabelPrior(RELATIONS)
    vocab = {"dir=F": 0, "dir=B": 1, "F|bw=found": 2, "F|bw=by": 3, "pw=found": 4, "F|bseq=found by": 5}
    model = TrainedModel(load_ontology(), [*RELATIONS, "<none>"], Gazetteer(), vocab, {}, network=None, label_prior=True)
    table = FeatureTable(vocab, lp, len(RELATIONS) + 1, max_rows=max_rows)
    batches = [
        [["dir=F", "F|bw=found", "F|bw=by", "pw=found", "F|bseq=found by"], ["dir=B", "B|bwfar=wife", "B|bw=unseen"],
         ["nothing=known", "F|win<capital", "F|win<capital"], []],
        [["dir=F", "F|bw=found", "F|bw=founded", "F|bw=bear", "F|bw=birth"], ["zzz", "dir=F", "dir=F"], ["F|bw=capital", "pw=capital"]],
    ]
    for feats in batches:
        bags, prior = table.bags(feats)
        idx, offsets = model.feature_ids(feats)
        assert bags.indices.tolist() == idx and bags.indptr.tolist() == [*offsets, len(idx)]
        assert bags.shape == (len(feats), len(vocab) + 1)
        want = lp.dense([lp.sparse(f) for f in feats], len(RELATIONS) + 1)
        assert prior is not None and prior.dtype == want.dtype
        np.testing.assert_array_equal(prior, want)
    assert prior[0, 0, 1] == 0.5, "'bear' and 'birth' say one name word of birthPlace (birth/place): it counts once"
    assert prior[0, 0, 0] == 1.0
    # 6 known strings, 7 naming a relation, 3 neither (not kept past the limit), and the shared row 0
    assert len(table) == (17 if max_rows > 100 else 14)
