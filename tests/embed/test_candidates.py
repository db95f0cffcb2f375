"""Link prediction on the user's graph: candidate facts (score + model id, never accepted), plausibility."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from kgkit.cli.main import app
from kgkit.embed.candidates import model_id_of, predict_candidates, top_k_links
from kgkit.embed.plausibility import (
    CALIBRATION_FILE, Calibration, _platt, fit_calibration, fusion_tiebreaker, load_calibration, plausibility,
    reasoner_hook,
)
from kgkit.embed.predict import KGEPredictor
from kgkit.embed.training import train_kge
from kgkit.fuse.conflicts import FunctionalItem, ValueGroup, break_ties
from kgkit.fuse.policies import PolicyResult
from kgkit.ontology import load_ontology
from kgkit.types import Entity, Provenance, Triple

logging.getLogger("pykeen").setLevel(logging.ERROR)
runner = CliRunner()

PEOPLE = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "John", "Marie", "Niels", "Lise", "Emmy", "Kurt",
          "Hedy", "Tim", "Linus", "Ken"]
CITIES = ["London", "Paris", "Vienna", "Berlin"]
ORGS = ["Acme", "Globex", "Initech", "Umbrella"]
TRAIN = {"training_loop": "one_vs_all", "model": "ComplEx", "embedding_dim": 16, "epochs": 60, "batch_size": 32,
         "lr": 0.1, "regularizer_weight": 0.001, "eval_every": 0, "create_inverse_triples": True, "device": "cpu",
         "split": (0.7, 0.3, 0.0)}


def _triples() -> list[Triple]:
    """People work for and are members of the org of their city; a few memberships are missing."""
    prov = Provenance("doc.txt", "doc.txt#0", None, "test", "1")
    out = []
    for i, name in enumerate(PEOPLE):
        person, city, org = Entity(name, "Person"), Entity(CITIES[i % 4], "Place"), Entity(ORGS[i % 4], "Organization")
        out.append(Triple(person, "bornIn", city, prov))
        out.append(Triple(person, "worksFor", org, prov))
        if i % 5:
            out.append(Triple(person, "memberOf", org, prov))
    for j, org in enumerate(ORGS):
        out.append(Triple(Entity(org, "Organization"), "locatedIn", Entity(CITIES[j], "Place"), prov))
    return out


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    from kgkit.store.embedded import FalkorDBStore

    base = tmp_path_factory.mktemp("cand")
    with FalkorDBStore(data_dir=base / "falkor") as store:
        store.write_triples(_triples())
        run = base / "run"
        train_kge(run_dir=run, store=store, **TRAIN)
        yield store, run


def test_training_saves_a_calibration_fitted_on_held_out_facts(graph):
    _, run = graph
    cal = load_calibration(run)
    assert cal is not None and (run / CALIBRATION_FILE).is_file()
    assert cal.fitted_on == "validation+test split (typed corruptions)" and cal.positives >= 2 and cal.negatives >= 1
    assert cal.a > 0, "a higher score must mean a higher probability"
    assert cal.brier < 0.25, "the fit must beat no information (Brier 0.25)"


def test_platt_scaling_recovers_a_known_logistic_model():
    rng = np.random.default_rng(0)
    s = rng.normal(size=20000)
    y = (rng.random(20000) < 1 / (1 + np.exp(-(2.0 * s - 1.0)))).astype(float)
    a, b = _platt(s, y)
    assert a == pytest.approx(2.0, abs=0.1) and b == pytest.approx(-1.0, abs=0.1)


def test_predict_writes_candidates_never_accepted_and_is_idempotent(graph):
    from kgkit.embed.graph import graph_triples
    from kgkit.view import read_view

    store, run = graph
    facts_before = sorted(f.id for f in store.iter_facts())
    report = predict_candidates(store, run, k=3, ontology=load_ontology(), min_probability=0.0)
    mid = model_id_of(run)
    assert report.model_id == mid and report.written == len(report.candidates) > 0
    stored = store.candidate_facts(mid)
    assert len(stored) == report.written
    known = {(f.subject_id, f.predicate, f.object_id) for f in store.iter_facts()
             if f.properties.get("fusion_status") != "candidate"}
    ents = {e.id: e for e in store.iter_entities()}
    onto = load_ontology()
    for f in stored:
        assert f.properties["fusion_status"] == "candidate" and f.properties["kge_model"] == mid
        assert math.isfinite(float(f.properties["kge_score"])) and 0.0 <= f.confidence <= 1.0
        assert 1 <= int(f.properties["kge_rank"]) <= 3
        assert (f.subject_id, f.predicate, f.object_id) not in known, "a known fact is never proposed"
        assert onto.conforms(ents[f.subject_id].type, f.predicate, ents[f.object_id].type), "typed by domain/range"
        assert f.predicate != "bornIn", "every person already has their one (functional) birthplace"
    # never accepted: not in the default view, nor in the reasoner's index or the KGE export; in --audit
    view, audit = read_view(store), read_view(store, include="all")
    assert {f.id for f in view.facts} == set(facts_before)
    assert {f.id for f in audit.facts if audit.status(f) == "candidate"} == {f.id for f in stored}
    assert len(graph_triples(store)) == len(facts_before)
    from kgkit.reason.graph import index_from_store

    index = index_from_store(store)
    assert index.num_facts == len(facts_before)
    # idempotent: the same model again replaces its candidates with the same ones
    again = predict_candidates(store, run, k=3, ontology=load_ontology(), min_probability=0.0)
    assert [(f.id, round(f.confidence, 6)) for f in store.candidate_facts(mid)] == \
        [(f.id, round(f.confidence, 6)) for f in stored]
    assert again.written == report.written and sorted(f.id for f in store.iter_facts()) == \
        sorted(facts_before + [f.id for f in stored])
    # the probability threshold filters what is written
    strict = predict_candidates(store, run, k=3, ontology=load_ontology(), min_probability=0.9)
    assert all(c.probability >= 0.9 for c in strict.candidates)
    assert len(store.candidate_facts(mid)) == strict.written <= report.written
    store.delete_candidate_facts(mid)


def test_top_k_links_filters_known_answers_and_types(graph):
    _, run = graph
    p = KGEPredictor(run)
    p.warm_up()
    h, r = p.entity_index("Ada"), p.relation_index("worksFor")
    (plain,) = top_k_links(p, np.array([[h, r]]), "tail", 5)
    best = plain[0][0]
    (filtered,) = top_k_links(p, np.array([[h, r]]), "tail", 5, known={(h, r): [best]})
    assert best not in [e for e, _ in filtered] and [e for e, _ in filtered][:4] == [e for e, _ in plain][1:5]
    mask = np.zeros(len(p.entity_to_id), dtype=bool)
    mask[[p.entity_index("Paris"), p.entity_index("London")]] = True
    (typed,) = top_k_links(p, np.array([[h, r]]), "tail", 5, allowed={r: mask})
    assert {e for e, _ in typed} <= set(np.flatnonzero(mask).tolist())


def test_plausibility_is_a_calibrated_probability(graph):
    store, run = graph
    true = [(f.subject_id, f.predicate, f.object_id) for f in store.iter_facts()
            if f.properties.get("fusion_status") != "candidate"]
    p = KGEPredictor(run)
    pos = plausibility(p, true)
    assert all(0.0 <= x <= 1.0 for x in pos)
    rng = np.random.default_rng(1)
    ents = sorted(p.entity_to_id)
    neg = [(s, r, ents[int(rng.integers(len(ents)))]) for s, r, _ in true]
    neg = [t for t in neg if t not in set(true)]
    assert np.mean(pos) > np.mean(plausibility(p, neg)) + 0.2, "true facts must be more plausible than corruptions"
    assert math.isnan(plausibility(p, [("Ada", "noSuchRelation", "London")])[0])
    assert plausibility(run, true[:3]) == pytest.approx(pos[:3]), "a run folder works like a predictor"
    fixed = Calibration(a=0.0, b=0.0)
    assert plausibility(p, true[:2], calibration=fixed) == [0.5, 0.5]


def test_reasoner_hook_scores_one_hop_answers(graph):
    _, run = graph
    p = KGEPredictor(run)
    ada, acme = Entity("Ada", "Person").id, Entity("Acme", "Organization").id
    hook = reasoner_hook(p)
    forward = hook(ada, "worksFor", acme)
    assert forward == pytest.approx(plausibility(p, [(ada, "worksFor", acme)])[0])
    assert hook(acme, "worksFor^-1", ada) == pytest.approx(forward), "an inverse hop scores the same fact"
    assert hook(ada, "worksFor/locatedIn", acme) == 0.5 and hook("nobody", "worksFor", acme) == 0.5


def test_reasoner_accepts_the_hook(graph):
    from kgkit.reason.graph import index_from_store
    from kgkit.reason.reasoner import Reasoner

    store, run = graph
    index = index_from_store(store)
    ans = Reasoner(index, plausibility=reasoner_hook(run), plausibility_weight=0.5).ask("who works for [Acme]")
    assert ans.answers, "the reasoner answers with the hook in place"


def _item(subject: str, values: list[str]) -> FunctionalItem:
    return FunctionalItem(subject, subject, "bornIn", [ValueGroup(v, v, [v], [f"f{v}"]) for v in values])


def test_fusion_tiebreaker_breaks_only_exact_ties():
    tie, clear = _item("ada", ["paris", "london"]), _item("alan", ["rome", "oslo"])
    result = PolicyResult({tie.key: {"paris": 0.5, "london": 0.5}, clear.key: {"rome": 0.7, "oslo": 0.3}},
                          {tie.key: "london", clear.key: "rome"})
    prefer = {("ada", "bornIn", "paris"): 0.9, ("ada", "bornIn", "london"): 0.2, ("alan", "bornIn", "oslo"): 0.99}
    seen: list = []

    def tiebreaker(triples):
        seen.extend(triples)
        return [prefer.get(t, float("nan")) for t in triples]

    assert break_ties([tie, clear], result, tiebreaker) == 1
    assert result.chosen == {tie.key: "paris", clear.key: "rome"}, "a clear policy choice is never overridden"
    assert all(t[0] == "ada" for t in seen), "only tied items are scored"
    # no opinion (nan) on both: the policy's choice stands
    result2 = PolicyResult({tie.key: {"paris": 0.5, "london": 0.5}}, {tie.key: "london"})
    assert break_ties([tie], result2, lambda ts: [float("nan")] * len(ts)) == 0 and result2.chosen[tie.key] == "london"


def test_fusion_tiebreaker_from_a_model(graph):
    store, run = graph
    tb = fusion_tiebreaker(run)
    ada, acme = Entity("Ada", "Person").id, Entity("Acme", "Organization").id
    (v,) = tb([(ada, "worksFor", acme)])
    assert 0.0 <= v <= 1.0


def test_fit_calibration_needs_held_out_triples(graph):
    from kgkit.errors import ConfigError

    _, run = graph
    with pytest.raises(ConfigError, match="at least 2"):
        fit_calibration(KGEPredictor(run), np.zeros((1, 3), dtype=np.int64), [])


def test_cli_predict_proposes_candidates_and_audit_shows_them(tmp_path):
    from kgkit.api import KnowledgeGraph

    work = tmp_path / "work"
    run = tmp_path / "run"
    with KnowledgeGraph(workdir=work) as kg:
        kg.store.write_triples(_triples())
        train_kge(run_dir=run, store=kg.store, **TRAIN)
    args = ["embed", "predict", "--model", str(run), "--workdir", str(work), "--top", "2", "--min-probability", "0"]
    r = runner.invoke(app, args + ["--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["written"] == out["kept"] == len(out["candidates"]) > 0 and out["model_id"] == model_id_of(run)
    assert all({"score", "probability", "rank", "subject", "predicate", "object"} <= set(c) for c in out["candidates"])
    r2 = runner.invoke(app, args + ["--json"])
    assert json.loads(r2.output)["candidates"] == out["candidates"], "a rerun proposes the same facts"
    dry = runner.invoke(app, args + ["--dry-run"])
    assert dry.exit_code == 0 and "would write" in dry.output
    default_csv, audit_csv = tmp_path / "view.csv", tmp_path / "audit.csv"
    assert runner.invoke(app, ["export", str(default_csv), "--format", "csv", "--workdir", str(work)]).exit_code == 0
    assert runner.invoke(app, ["export", str(audit_csv), "--format", "csv", "--audit", "--workdir", str(work)]).exit_code == 0
    assert ",candidate" not in default_csv.read_text()
    assert audit_csv.read_text().count(",candidate") == len(out["candidates"])
    bad = runner.invoke(app, ["embed", "predict", "--workdir", str(work)])
    assert bad.exit_code != 0 and "RUN_DIR or --model" in bad.output


def test_fuse_graph_uses_the_tiebreaker_on_a_tied_conflict(tmp_path):
    from kgkit.fuse.fusion import fuse_graph
    from kgkit.store.embedded import FalkorDBStore

    ada, paris, london = Entity("Ada", "Person"), Entity("Paris", "Place"), Entity("London", "Place")
    claims = [Triple(ada, "bornIn", paris, Provenance("a.txt", "a.txt#0", None, "t", "1", 0.9)),
              Triple(ada, "bornIn", london, Provenance("b.txt", "b.txt#0", None, "t", "1", 0.9))]
    kw = {"resolve": False, "use_embeddings": False, "policy": "majority"}

    def status(store):
        return {f.object_id: f.properties.get("fusion_status") for f in store.iter_facts()}

    with FalkorDBStore(data_dir=tmp_path / "db") as store:
        store.write_triples(claims)
        fuse_graph(store, load_ontology(), **kw)
        plain = status(store)
        loser = next(o for o, s in plain.items() if s == "rejected")  # the policy's tie-break by name
        seen = []

        def prefer_loser(triples):
            seen.extend(triples)
            return [0.9 if t[2] == loser else 0.1 for t in triples]

        fuse_graph(store, load_ontology(), tiebreaker=prefer_loser, **kw)
        assert status(store)[loser] == "chosen", "the tie-breaker decides an exact tie"
        assert sorted(seen) == sorted((ada.id, "bornIn", o.id) for o in (paris, london))


def test_a_graph_run_without_calibration_gets_one_fitted_on_the_graph(graph, tmp_path):
    import shutil

    from kgkit.embed.plausibility import ensure_calibration
    from kgkit.errors import ConfigError

    store, run = graph
    old = tmp_path / "old-run"
    shutil.copytree(run, old)
    (old / CALIBRATION_FILE).unlink()
    with pytest.raises(ConfigError, match="no calibration.json"):
        plausibility(old, [("Ada", "worksFor", "Acme")])
    from kgkit.embed.graph import graph_dataset

    cal = ensure_calibration(old, store)
    assert cal.fitted_on == "graph validation+test split (typed corruptions)"
    held, _ = graph_dataset(store, ratios=TRAIN["split"], seed=0)
    assert cal.positives == held.validation.num_triples, "fitted on the split training held out (config.yaml)"
    assert load_calibration(old) == cal, "the fitted calibration is saved into the run"


# -- downstream: stats, fusion's plausibility tie-breaker from the CLI and the pipeline, ask ------------------
def _fused_birthplace(work, ada_id: str) -> str:
    from kgkit.api import KnowledgeGraph

    with KnowledgeGraph(workdir=work) as kg:
        chosen = [f.object_id for f in kg.store.iter_facts()
                  if f.subject_id == ada_id and f.predicate == "bornIn" and f.properties.get("fusion_status") == "chosen"]
    assert len(chosen) == 1, chosen
    return chosen[0]


def test_fuse_plausibility_model_wins_an_exact_tie_from_the_cli_and_the_pipeline(tmp_path):
    """Ada bornIn London (the model's graph) vs Berlin (a second source, added after training): one
    source each, a tie majority vote breaks by name (Berlin); with the model London wins."""
    from kgkit.api import KnowledgeGraph

    work, run = tmp_path / "work", tmp_path / "run"
    ada, london, berlin = Entity("Ada", "Person"), Entity("London", "Place"), Entity("Berlin", "Place")
    with KnowledgeGraph(workdir=work) as kg:
        kg.store.write_triples(_triples())
        train_kge(run_dir=run, store=kg.store, **TRAIN)
        kg.store.write_triples([Triple(ada, "bornIn", berlin, Provenance("b.txt", "b.txt#0", None, "test", "1"))])
    p_london, p_berlin = plausibility(run, [(ada.id, "bornIn", london.id), (ada.id, "bornIn", berlin.id)])
    assert p_london > p_berlin, "the model learnt Ada's birthplace"
    base = ["fuse", "--workdir", str(work), "--policy", "majority", "--no-embeddings"]
    r = runner.invoke(app, base)
    assert r.exit_code == 0, r.output
    assert _fused_birthplace(work, ada.id) == berlin.id, "without the model the tie goes to the first name"
    assert runner.invoke(app, ["fuse", "undo", "--workdir", str(work)]).exit_code == 0
    r = runner.invoke(app, base + ["--plausibility-model", str(run), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["ties_broken"] == 1
    assert _fused_birthplace(work, ada.id) == london.id, "with the model the more plausible value wins"
    assert runner.invoke(app, ["fuse", "undo", "--workdir", str(work)]).exit_code == 0
    # the same from the pipeline file's fusion section (validated by kgkit.config)
    pipe = tmp_path / "pipe.yaml"
    pipe.write_text(f"fusion: {{enabled: true, policy: majority, use_embeddings: false, plausibility_model: '{run}'}}\n")
    r = runner.invoke(app, ["fuse", "--workdir", str(work), "--pipeline", str(pipe)])
    assert r.exit_code == 0 and "1 exact tie(s) decided by plausibility" in " ".join(r.output.split()), r.output
    assert _fused_birthplace(work, ada.id) == london.id
    # and "" on the command line turns the pipeline's model off
    assert runner.invoke(app, ["fuse", "undo", "--workdir", str(work)]).exit_code == 0
    r = runner.invoke(app, ["fuse", "--workdir", str(work), "--pipeline", str(pipe), "--plausibility-model", ""])
    assert r.exit_code == 0 and _fused_birthplace(work, ada.id) == berlin.id, r.output


def test_fuse_with_a_missing_plausibility_model_names_the_fix_and_writes_nothing(tmp_path):
    from kgkit.api import KnowledgeGraph
    from kgkit.config import PipelineConfig
    from kgkit.errors import ConfigError

    work, missing = tmp_path / "work", tmp_path / "no-run"
    with KnowledgeGraph(workdir=work) as kg:
        kg.store.write_triples(_triples()[:6])
    r = runner.invoke(app, ["fuse", "--workdir", str(work), "--no-embeddings", "--plausibility-model", str(missing)])
    assert r.exit_code == 1 and "kgkit embed train" in r.output and "no trained model" in r.output, r.output
    with KnowledgeGraph(workdir=work) as kg:
        assert kg.store.fusion_runs() == [], "a missing model fails before fusion writes anything"
    with pytest.raises(ConfigError, match="fusion.plausibility_model"):
        PipelineConfig.from_dict({"fusion": {"enabled": True, "plausibility_model": ""}})
    with pytest.raises(ConfigError, match="fusion.plausibility_model"):
        PipelineConfig.from_dict({"fusion": {"enabled": True, "plausibility_model": ["a", "b"]}})
    assert PipelineConfig.from_dict({"fusion": {"plausibility_model": "runs/g"}}).fusion["plausibility_model"] == "runs/g"


def test_ask_plausibility_model_ranks_the_more_plausible_of_two_answers_first(tmp_path):
    """Ada bornIn London (the model's graph) and Berlin (added after training), both accepted: the
    reasoner ranks two answers of one path alike and orders them by name (Berlin); with the model's
    plausibility London comes first. A missing model names the fix."""
    from kgkit.api import KnowledgeGraph

    work, run = tmp_path / "work", tmp_path / "run"
    ada, berlin = Entity("Ada", "Person"), Entity("Berlin", "Place")
    with KnowledgeGraph(workdir=work) as kg:
        kg.store.write_triples(_triples())
        train_kge(run_dir=run, store=kg.store, **TRAIN)
        kg.store.write_triples([Triple(ada, "bornIn", berlin, Provenance("b.txt", "b.txt#0", None, "test", "1"))])
    question = ["ask", "where was [Ada] born", "--workdir", str(work), "--json"]
    r = runner.invoke(app, question)
    assert r.exit_code == 0, r.output
    names = [a["name"] for a in json.loads(r.output)["answers"]]
    assert names[:2] == ["Berlin", "London"], names
    r = runner.invoke(app, question + ["--plausibility-model", str(run)])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert [a["name"] for a in out["answers"]][:2] == ["London", "Berlin"], out["answers"]
    assert out["answer"] == "London"
    r = runner.invoke(app, question + ["--plausibility-model", str(tmp_path / "no-run")])
    assert r.exit_code == 1 and "no trained model" in r.output and "kgkit embed train" in r.output, r.output


def test_stats_count_candidate_facts_apart_in_text_and_json(graph, tmp_path):
    from kgkit.api import KnowledgeGraph

    _, run = graph
    work = tmp_path / "work"
    with KnowledgeGraph(workdir=work) as kg:
        kg.store.write_triples(_triples())
        accepted = len(list(kg.store.iter_facts()))
        report = predict_candidates(kg.store, run, k=2, ontology=load_ontology(), min_probability=0.0)
    assert report.written > 0
    r = runner.invoke(app, ["stats", "--workdir", str(work), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert (s["facts"], s["candidate_facts"], s["rejected_facts"]) == (accepted, report.written, 0), s
    assert sum(s["relation_types"].values()) == accepted
    text = runner.invoke(app, ["stats", "--workdir", str(work)]).output
    row = next(line for line in text.splitlines() if "candidate facts" in line)
    assert row.split()[-2:] == [str(report.written), "│"], row
    assert next(line for line in text.splitlines() if " facts " in line and "│ facts" in line).split()[-2] == str(accepted)


def test_candidates_never_reach_kgkit_ask(graph, tmp_path):
    """A candidate is the only path to its answer: `kgkit ask` does not find it, `--audit` does."""
    from kgkit.api import KnowledgeGraph

    work = tmp_path / "work"
    ada, globex = Entity("Ada", "Person"), Entity("Globex", "Organization")
    with KnowledgeGraph(workdir=work) as kg:
        kg.store.write_triples(_triples())
        kg.store.write_candidate_facts("m", [{"s": ada.id, "p": "memberOf", "o": globex.id, "confidence": 0.99,
                                              "score": 9.0}])
    args = ["ask", "Which organization is [Ada] a member of?", "--workdir", str(work), "--max-hops", "1", "--json"]

    def answers(extra: list[str]) -> list[str]:
        r = runner.invoke(app, args + extra)
        assert r.exit_code == 0, r.output
        return [a["name"] for a in json.loads(r.output)["answers"]]

    assert "Globex" in answers(["--audit"]), "the audit view searches candidates: the question reaches it"
    assert "Globex" not in answers([]), "a candidate fact is never an answer"
