"""The trained extractor: train on a small committed example file, extract, refuse wrong inputs, ingest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgkit.extract.trained import (
    ExampleFileError,
    OntologyMismatchError,
    TrainConfig,
    TrainedExtractor,
    TrainedModel,
    load_training_ontology,
    read_examples,
    train_model,
)
from kgkit.extract.trained.literals import format_value, value_format
from kgkit.ontology import load_ontology
from kgkit.types import Chunk

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "data" / "examples" / "people.jsonl"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, spacy_extractor) -> Path:
    onto = load_training_ontology("default")
    model = train_model(read_examples(EXAMPLES, onto), onto, TrainConfig(epochs=30, min_feature_count=1, holdout_every=7),
                        nlp=spacy_extractor.nlp)
    return model.save(tmp_path_factory.mktemp("model") / "people")


def _facts(extractor: TrainedExtractor, text: str) -> set[tuple[str, str, str]]:
    res = extractor.extract([Chunk("c1", "d1", 0, text, 0, len(text))])[0]
    assert res.ok
    return {(t.subject.name, t.predicate, t.object.name) for t in res.triples}


def test_trained_model_extracts_the_expected_facts_from_new_sentences(model_dir: Path) -> None:
    x = TrainedExtractor(model=model_dir)
    got = _facts(x, "Martin Holm was born in Uppsala and works for Vega Software.")
    assert ("Martin Holm", "bornIn", "Uppsala") in got
    assert ("Martin Holm", "worksFor", "Vega Software") in got
    got = _facts(x, "Orion Motors is headquartered in Graz. It was founded in 1931.")
    assert ("Orion Motors", "headquarteredIn", "Graz") in got
    assert ("Orion Motors", "foundingDate", "1931") in got, "the pronoun 'It' resolves to Orion Motors"
    assert not _facts(x, "Martin Holm lives in Uppsala.") & {("Martin Holm", "bornIn", "Uppsala")}


def test_model_folder_records_identity_and_metrics(model_dir: Path) -> None:
    meta = json.loads((model_dir / "model.json").read_text())
    assert meta["data_hash"] and meta["ontology"] == "default"
    assert 0.0 < meta["threshold"] < 1.0
    held = meta["metrics"]["heldout"]
    assert held["examples"] > 0 and "ece" in held and held["f1"] > 0.5
    m = TrainedModel.load(model_dir)
    assert m.fingerprint == TrainedExtractor(model=model_dir).version.split("+", 1)[1]


def test_model_for_another_ontology_is_refused(model_dir: Path, tmp_path: Path) -> None:
    other = load_ontology("default").to_dict()
    other["name"] = "films"
    other["relation_types"] = {"director": {"domain": ["Work"], "range": ["Person"]}}
    path = tmp_path / "films.yaml"
    path.write_text(json.dumps(other), encoding="utf-8")
    with pytest.raises(OntologyMismatchError, match="trained for ontology 'default'.*retrain"):
        TrainedExtractor(load_ontology(path), model=model_dir)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "A was born in B.", "triples": [}', r"bad\.jsonl:2: malformed JSON"),
        ('{"text": "A was born in B.", "triples": [{"sub": "A", "rel": "directedBy", "obj": "B"}]}',
         r"bad\.jsonl:2: relation 'directedBy' is not in the ontology"),
        ('{"text": "  ", "triples": []}', r"bad\.jsonl:2: empty or missing 'text'"),
        ('{"text": "A was born in B.", "triples": [{"sub": "A", "rel": "bornIn"}]}', r"bad\.jsonl:2: triple 0 needs"),
    ],
)
def test_bad_example_files_get_line_numbered_errors(tmp_path: Path, line: str, message: str) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text('{"text": "Ann Bo was born in Oslo.", "triples": [{"sub": "Ann Bo", "rel": "born in", "obj": "Oslo"}]}\n'
                 + line + "\n", encoding="utf-8")
    with pytest.raises(ExampleFileError, match=message):
        read_examples(f, load_training_ontology("default"))


def test_text2kgbench_rows_and_labels_are_accepted(tmp_path: Path) -> None:
    f = tmp_path / "ont_1_movie_train.jsonl"
    rows = [{"id": "a", "sent": "Up was directed by Pete Docter.", "sub_label": "Up", "rel_label": "born in", "obj_label": "Pete Docter"},
            {"id": "b", "sent": "Up was directed by Pete Docter.", "sub_label": "Up", "rel_label": "worksFor", "obj_label": "Pixar"}]
    f.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    ex = read_examples(f, load_training_ontology("default"))
    assert len(ex) == 1 and ex[0].ontology == "ont_1_movie"
    assert ex[0].triples == (("Up", "bornIn", "Pete Docter"), ("Up", "worksFor", "Pixar"))


def test_literal_formats_follow_the_training_data() -> None:
    assert value_format(["2776.0", "3500.0", "x"]) == "float" and format_value("3,684", "float") == "3684.0"
    assert format_value("May 2, 1908", "iso") == "1908-05-02"
    assert format_value("1868", "dmy") == "01 January 1868"


def test_pipeline_with_only_a_trained_extractor_ingests(model_dir: Path, tmp_path: Path) -> None:
    from kgkit.cli.main import app
    from kgkit.store.embedded import EmbeddedFalkorServer

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Martin Holm was born in Uppsala. He works for Vega Software.", encoding="utf-8")
    pipe = tmp_path / "trained.yaml"
    pipe.write_text(f"extractor: {{name: trained, model: {model_dir}}}\n", encoding="utf-8")
    work = tmp_path / "kg"
    runner = CliRunner()
    try:
        res = runner.invoke(app, ["ingest", str(docs), "--pipeline", str(pipe), "--workdir", str(work), "--no-progress", "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["triples"] >= 2
        res = runner.invoke(app, ["query", "MATCH (a)-[r:BORN_IN]->(b) RETURN a.name AS a, b.name AS b", "--format", "json",
                                  "--pipeline", str(pipe), "--workdir", str(work)])
        assert res.exit_code == 0, res.output
        assert {"a": "Martin Holm", "b": "Uppsala"} in json.loads(res.output)
        again = runner.invoke(app, ["ingest", str(docs), "--pipeline", str(pipe), "--workdir", str(work), "--no-progress", "--json"])
        assert json.loads(again.output)["unchanged"] == 1
    finally:
        EmbeddedFalkorServer(work / "falkordb").stop()


def _bench_dir() -> Path | None:
    from kgkit.datasets import data_root

    d = data_root() / "extraction" / "text2kgbench" / "data" / "dbpedia_webnlg"
    return d if d.is_dir() else None


@pytest.mark.skipif(_bench_dir() is None, reason="Text2KGBench not found (set KGKIT_DATA to the datasets folder)")
def test_text2kgbench_folders_read_as_they_are() -> None:
    d = _bench_dir()
    assert d is not None
    onto = load_training_ontology(d / "ontologies")
    assert len(onto.extra["text2kgbench"]["members"]) == 19
    rows = read_examples(d / "train" / "ont_3_airport_train.jsonl", onto)
    assert len(rows) > 100 and all(ex.ontology == "ont_3_airport" for ex in rows)
    assert {r for ex in rows for _, r, _ in ex.triples} <= set(onto.extra["text2kgbench"]["members"]["ont_3_airport"])


def test_evaluate_cli_prints_benchmark_metrics_as_json(model_dir: Path) -> None:
    from kgkit.cli.main import app

    res = CliRunner().invoke(app, ["extract", "evaluate", str(model_dir), str(EXAMPLES), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["sentences"] == 70
    assert set(out["overall"]) >= {"precision", "recall", "f1", "onto_conf", "rel_halluc", "sub_halluc", "obj_halluc"}
    assert out["overall"]["f1"] > 0.6 and out["overall"]["onto_conf"] == 1.0


def test_train_cli_refuses_a_bad_example_file_with_its_line(tmp_path: Path) -> None:
    from kgkit.cli.main import app

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "triples": []}\n{oops\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["extract", "train", str(bad), "--ontology", "default", "--out", str(tmp_path / "m")])
    assert res.exit_code == 1 and "bad.jsonl:2: malformed JSON" in res.output


def test_relations_per_pair_caps_the_relations_of_one_mention_pair(model_dir: Path, spacy_extractor) -> None:
    """By default a pair holds every relation above the threshold; ``relations_per_pair`` caps them."""
    import dataclasses
    from collections import Counter

    model = TrainedModel.load(model_dir)
    assert model.relations_per_pair == 0  # the training default, read back from model.json
    # "lives in" is none of the ontology's relations: every relation stays far below any real threshold,
    # so at threshold 0 each pair holds several of them
    doc = spacy_extractor.nlp("Martin Holm lives in Uppsala.")

    def per_pair(m: TrainedModel) -> Counter[tuple[str, str]]:
        doc.user_data.clear()
        return Counter((p.subject, p.object) for p in m.predict_doc(doc, threshold=0.0))

    uncapped = per_pair(model)
    assert max(uncapped.values()) >= 2
    capped = per_pair(dataclasses.replace(model, relations_per_pair=1, _weights=model._weights))
    assert max(capped.values()) == 1 and set(capped) == set(uncapped)


def test_weights_are_averaged_over_the_last_epochs(spacy_extractor) -> None:
    """``average_last=k`` keeps the mean of the weights after each of the last k epochs: k=1 is the last
    epoch's weights, k=2 differs from them, and the averaged model still extracts."""
    onto = load_training_ontology("default")
    rows = read_examples(EXAMPLES, onto)

    def weights(k: int) -> dict[str, object]:
        m = train_model(rows, onto, TrainConfig(epochs=4, min_feature_count=1, holdout_every=7, average_last=k),
                        nlp=spacy_extractor.nlp)
        return {n: v.detach().clone() for n, v in m.network.state_dict().items()}

    last, one, two = weights(0), weights(1), weights(2)
    assert all(bool((last[n] == one[n]).all()) for n in last)
    assert any(not bool((last[n] == two[n]).all()) for n in last)


def test_an_ensemble_averages_classifiers_trained_from_different_starts(spacy_extractor, tmp_path: Path) -> None:
    """``members=3`` trains three classifiers on the same pairs; they differ, the saved model reloads as
    three, extraction's numpy scoring equals the torch network's averaged logits, and it extracts."""
    import numpy as np
    import torch

    from kgkit.extract.trained.features import pair_features
    from kgkit.extract.trained.mentions import find_mentions
    from kgkit.extract.trained.model import candidate_pairs, scorer_members

    onto = load_training_ontology("default")
    model = train_model(read_examples(EXAMPLES, onto), onto,
                        TrainConfig(epochs=30, min_feature_count=1, holdout_every=7, members=3), nlp=spacy_extractor.nlp)
    members = scorer_members(model.network)
    assert len(members) == 3
    outs = [m.out.weight.detach() for m in members]
    assert not torch.equal(outs[0], outs[1]) and not torch.equal(outs[1], outs[2])
    folder = model.save(tmp_path / "ensemble")
    assert json.loads((folder / "model.json").read_text())["members"] == 3
    loaded = TrainedModel.load(folder)
    assert len(scorer_members(loaded.network)) == 3
    doc = spacy_extractor.nlp("Martin Holm was born in Uppsala and works for Vega Software.")
    mentions = find_mentions(doc, loaded.gazetteer)
    feats = [pair_features(doc, mentions[i], mentions[j], loaded.gazetteer) for i, j in candidate_pairs(doc, mentions)]
    mean_logits = torch.stack([m(*loaded.encode(feats), torch.from_numpy(loaded.prior_dense(loaded.prior_rows(feats))))
                               for m in scorer_members(loaded.network)]).mean(0)
    expected = torch.softmax(mean_logits / loaded.temperature, dim=1).detach().numpy()
    np.testing.assert_allclose(loaded.probabilities(feats), expected, atol=1e-5)
    got = _facts(TrainedExtractor(model=folder), "Martin Holm was born in Uppsala and works for Vega Software.")
    assert {("Martin Holm", "bornIn", "Uppsala"), ("Martin Holm", "worksFor", "Vega Software")} <= got


def test_full_name_lengthens_a_one_word_name_the_text_writes_in_full() -> None:
    from kgkit.extract.trained.decoding import full_name

    text = "Because of Nina Mae McKinney's striking beauty, McKinney was one of the first film stars."
    assert full_name(text, "McKinney") == "Nina Mae McKinney"
    assert full_name(text, "Nina Mae McKinney") == "Nina Mae McKinney"  # only one-word names
    assert full_name("Holm met Martin Holm in Uppsala.", "Holm") == "Martin Holm"  # wherever the full name is
    assert full_name("Holmes visited Holm.", "Holm") == "Holm"
    assert full_name("He was born in Uppsala. Holm works for Dr. B. Holm.", "Holm") == "Dr. B. Holm"  # not "Uppsala. Holm"
    # a run holding an article or a preposition is a title, not a name
    assert full_name("Baxter won an award for In Old Arizona's performance.", "Arizona") == "Arizona"


def test_decision_settings_thin_runner_ups_name_subjects_in_full_and_travel_with_the_model(
        model_dir: Path, spacy_extractor, tmp_path: Path) -> None:
    import dataclasses

    import numpy as np

    from kgkit.extract.trained.decoding import DecodeSettings, ScoredDoc, decode

    # confidences are the probabilities, and runner-ups are not scaled by how often examples repeat a relation
    model = dataclasses.replace(TrainedModel.load(model_dir), platt=None, repeat_rate=None)
    # runner-up floor: set scores by hand; the floor compares pairs of one relation within one sentence
    doc = spacy_extractor.nlp("Martin Holm and Anna Berg were born in Uppsala. Anna Berg was born in Graz.")
    scored = model.score_doc(doc)
    names = [m.surface for m in scored.mentions]
    probs = np.zeros_like(scored.probs)
    born = model.relations.index("bornIn")
    wanted = {("Martin Holm", "Uppsala"): 0.9, ("Anna Berg", "Uppsala"): 0.3, ("Anna Berg", "Graz"): 0.2}
    for row, (i, j) in enumerate(scored.pairs):
        probs[row, born] = wanted.get((names[i], names[j]), 0.0)
    assert sum(1 for (i, j) in scored.pairs if (names[i], names[j]) in wanted) == 3
    hand = ScoredDoc(doc, scored.mentions, scored.pairs, probs)

    def facts(floor: float) -> set[tuple[str, str]]:
        return {(p.subject, p.object) for p in decode(model, hand, DecodeSettings(0.1, runner_up_floor=floor))}

    assert facts(0.0) == facts(0.3) == set(wanted)
    # 0.3 < 0.5 * 0.9 in the first sentence; Graz is the best of the second, whatever the first holds
    assert facts(0.5) == {("Martin Holm", "Uppsala"), ("Anna Berg", "Graz")}
    # full names: a one-word subject the text also writes in full
    doc = spacy_extractor.nlp("Martin Holm was born in Uppsala. Holm works for Vega Software.")
    scored = model.score_doc(doc)
    plain = {(p.subject, p.relation, p.object) for p in decode(model, scored, DecodeSettings(model.threshold))}
    full = {(p.subject, p.relation, p.object) for p in decode(model, scored, DecodeSettings(model.threshold, full_names=True))}
    assert ("Holm", "worksFor", "Vega Software") in plain
    assert ("Martin Holm", "worksFor", "Vega Software") in full and "Holm" not in {s for s, _, _ in full}
    # the settings are the model's: saved, read back, part of its fingerprint, used by predict_doc
    model.runner_up_floor, model.full_names = 0.5, True
    again = TrainedModel.load(model.save(tmp_path / "m"))
    assert (again.runner_up_floor, again.full_names) == (0.5, True)
    assert again.fingerprint != TrainedModel.load(model_dir).fingerprint
    doc.user_data.clear()
    assert ("Martin Holm", "worksFor", "Vega Software") in {(p.subject, p.relation, p.object) for p in again.predict_doc(doc)}


def test_pairs_whose_types_admit_no_relation_are_not_scored(model_dir: Path, spacy_extractor, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pair whose known types fit no relation's domain and range (the examples' place Graz as a subject)
    scores 0 without its features being built; the other pairs are scored as before."""
    import numpy as np

    import kgkit.extract.trained.model as model_module

    model = TrainedModel.load(model_dir)
    doc = spacy_extractor.nlp("Uppsala is near Graz. Martin Holm was born in Uppsala.")
    built: list[tuple[str, str]] = []
    real = model_module.pair_features

    def counting(doc, h, t, gaz):  # type: ignore[no-untyped-def]
        built.append((h.surface, t.surface))
        return real(doc, h, t, gaz)

    monkeypatch.setattr(model_module, "pair_features", counting)
    scored = model.score_doc(doc)
    names = [(scored.mentions[i].surface, scored.mentions[j].surface) for i, j in scored.pairs]
    assert model.gazetteer.type_of("Graz") == "Place"
    dead = names.index(("Graz", "Uppsala"))
    assert not scored.probs[dead].any() and ("Graz", "Uppsala") not in built
    assert ("Uppsala", "Graz") in built and ("Martin Holm", "Uppsala") in built
    assert len(built) == int(np.count_nonzero(model.type_mask(scored.mentions, scored.pairs).any(axis=1))) < len(names)
    assert scored.probs[names.index(("Martin Holm", "Uppsala")), model.relations.index("bornIn")] > 0.2
