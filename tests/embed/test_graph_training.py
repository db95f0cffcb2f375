"""Store -> TriplesFactory, training from a YAML pipeline, run folder, reload and predict identically."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from kgkit.cli.main import app
from kgkit.embed.graph import graph_dataset, load_id_maps, split_labeled_triples
from kgkit.embed.predict import KGEPredictor, UnknownLabelError, score_facts
from kgkit.embed.training import load_pipeline_config, train_kge
from kgkit.types import Entity, Provenance, Triple

logging.getLogger("pykeen").setLevel(logging.ERROR)
runner = CliRunner()

PEOPLE = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "John", "Marie", "Niels", "Lise", "Emmy", "Kurt"]
CITIES = ["London", "Paris", "Vienna", "Berlin", "Rome", "Oslo"]
ORGS = ["Acme", "Globex", "Initech", "Umbrella"]


def _graph_triples() -> list[Triple]:
    rng = np.random.default_rng(0)
    prov = Provenance("doc.txt", "doc.txt#0", None, "test", "1")
    out = []
    for i, p in enumerate(PEOPLE):
        person = Entity(p, "Person")
        out.append(Triple(person, "bornIn", Entity(CITIES[i % len(CITIES)], "Place"), prov))
        out.append(Triple(person, "worksFor", Entity(ORGS[i % len(ORGS)], "Organization"), prov))
        out.append(Triple(person, "livesIn", Entity(CITIES[(i + 1) % len(CITIES)], "Place"), prov))
        friend = PEOPLE[int(rng.integers(len(PEOPLE)))]
        if friend != p:
            out.append(Triple(person, "knows", Entity(friend, "Person"), prov))
    for j, o in enumerate(ORGS):
        out.append(Triple(Entity(o, "Organization"), "locatedIn", Entity(CITIES[j], "Place"), prov))
    return out


@pytest.fixture(scope="module")
def graph_store(tmp_path_factory):
    from kgkit.store.embedded import FalkorDBStore

    with FalkorDBStore(data_dir=tmp_path_factory.mktemp("falkor")) as store:
        store.write_triples(_graph_triples())
        yield store


def test_graph_dataset_is_deterministic_and_covers_entities(graph_store):
    ds1, names = graph_dataset(graph_store, seed=0)
    ds2, _ = graph_dataset(graph_store, seed=0)
    assert ds1.training.entity_to_id == ds2.training.entity_to_id
    assert list(ds1.training.entity_to_id) == sorted(ds1.training.entity_to_id)
    for a, b in ((ds1.training, ds2.training), (ds1.validation, ds2.validation), (ds1.testing, ds2.testing)):
        assert torch.equal(a.mapped_triples, b.mapped_triples)
    total = ds1.training.num_triples + ds1.validation.num_triples + ds1.testing.num_triples
    assert total == len(list(graph_store.iter_facts()))
    train_ents = set(ds1.training.mapped_triples[:, [0, 2]].flatten().tolist())
    for tf in (ds1.validation, ds1.testing):
        assert set(tf.mapped_triples[:, [0, 2]].flatten().tolist()) <= train_ents
    assert names[Entity("Ada", "Person").id] == "Ada"


def test_split_is_stable_when_the_graph_grows():
    lab = np.array([[f"e{i}", "r", f"e{(i + 1) % 50}"] for i in range(200)])
    keys = [f"k{i}" for i in range(200)]
    _, v1, t1 = split_labeled_triples(lab[:150], keys[:150])
    _, v2, t2 = split_labeled_triples(lab, keys)
    assert {tuple(r) for r in v1} <= {tuple(r) for r in v2}
    assert {tuple(r) for r in t1} <= {tuple(r) for r in t2}


def test_train_save_reload_predict_identically(graph_store, tmp_path):
    run = tmp_path / "run"
    res = train_kge(run_dir=run, store=graph_store, model="TransE", model_kwargs={"embedding_dim": 16},
                    training_kwargs={"num_epochs": 5, "batch_size": 64}, device="cpu",
                    stopper="early", stopper_kwargs={"frequency": 2, "patience": 2})
    for f in ("trained_model.pkl", "entity_to_id.json", "relation_to_id.json", "entity_names.json",
              "config.yaml", "metrics.json", "training_curve.png"):
        assert (run / f).is_file(), f
    assert (run / "training_curve.png").read_bytes()[:4] == b"\x89PNG"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs"] == res.epochs >= 1 and 0 < metrics["metrics"]["both.mrr"] <= 1
    assert res.validation_mrr and res.validation_mrr[0][0] == 2
    e2i, r2i, names = load_id_maps(run)
    assert set(r2i) == {"bornIn", "worksFor", "livesIn", "knows", "locatedIn"}

    from kgkit.embed.predict import load_model

    model = load_model(run)
    in_memory = KGEPredictor.from_model(model, e2i, r2i, names)
    reloaded = KGEPredictor(run)
    a = in_memory.predict_tails("Ada", "bornIn", k=5)
    b = reloaded.predict_tails(Entity("Ada", "Person").id, "bornIn", k=5)
    assert a == b and len(a) == 5
    assert reloaded.predict_heads("bornIn", "London", k=3) == in_memory.predict_heads("bornIn", "London", k=3)
    rels = reloaded.predict_relations("Ada", "London", k=5)
    assert {p.label for p in rels} <= set(r2i)
    facts = [("Ada", "bornIn", "London"), ("Ada", "bornIn", "Nowhere"), ("Ada", "unknownRel", "London")]
    scores = score_facts(run, facts)
    everything = reloaded.predict_tails("Ada", "bornIn", k=len(e2i))
    london = next(p for p in everything if p.name == "London")
    assert scores[0] == pytest.approx(london.score, abs=1e-4)
    assert math.isnan(scores[1]) and math.isnan(scores[2])
    plaus = reloaded.plausibility(facts)
    assert math.isnan(plaus[1]) and math.isnan(plaus[2])
    rank = [p.name for p in everything].index("London")  # 0-based rank of London among all tails
    assert plaus[0] == pytest.approx((len(everything) - 1 - rank) / (len(everything) - 1), abs=1e-6)
    top = everything[0]
    assert reloaded.plausibility([("Ada", "bornIn", top.label)])[0] == 1.0
    with pytest.raises(UnknownLabelError, match="not in the model"):
        reloaded.predict_tails("Nobody", "bornIn")


def test_cli_train_on_sample_graph_then_predict(tmp_path, sample_dir):
    work = tmp_path / "work"
    r = runner.invoke(app, ["ingest", str(sample_dir), "--workdir", str(work), "--no-progress", "--no-fuse"])
    assert r.exit_code == 0, r.output
    run = tmp_path / "run"
    r = runner.invoke(app, ["embed", "train", "pipelines/kge-graph.yaml", "--workdir", str(work),
                            "--run-dir", str(run), "--epochs", "4", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert "MRR" in r.output and (run / "trained_model.pkl").is_file()
    cfg = load_pipeline_config("pipelines/kge-graph.yaml")
    assert cfg["model"] == "TransE"
    e2i, r2i, names = load_id_maps(run)
    head = sorted(e2i)[0]
    rel = sorted(r2i)[0]
    r = runner.invoke(app, ["embed", "predict", str(run), "--head", head, "--relation", rel, "-k", "3", "--json"])
    assert r.exit_code == 0, r.output
    cli_preds = json.loads(r.output)
    api_preds = KGEPredictor(run).predict_tails(head, rel, k=3)
    assert [p["label"] for p in cli_preds] == [p.label for p in api_preds]
    assert [p["score"] for p in cli_preds] == pytest.approx([p.score for p in api_preds])


def test_cli_errors_are_one_line_with_fix(tmp_path):
    r = runner.invoke(app, ["embed", "predict", str(tmp_path), "--head", "a", "--relation", "b"])
    assert r.exit_code == 1
    assert "kgkit embed train" in r.output
    r = runner.invoke(app, ["embed", "train", "--dataset", "nope", "--run-dir", str(tmp_path / "r")])
    assert r.exit_code == 1 and "choose one of" in r.output


def test_eval_kge_cli_matches_training_metrics(tmp_path):
    run = tmp_path / "nations"
    res = train_kge(run_dir=run, dataset="nations", model="DistMult", model_kwargs={"embedding_dim": 16},
                    training_kwargs={"num_epochs": 2, "batch_size": 512, "use_tqdm": False}, device="cpu",
                    evaluation_batch_size=64, evaluate_on="test")
    r = runner.invoke(app, ["eval", "kge", str(run), "--split", "test", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["both.mrr"] == pytest.approx(res.metrics["both.mrr"], abs=1e-6)
    assert out["both.hits@10"] == pytest.approx(res.metrics["both.hits@10"], abs=1e-6)
