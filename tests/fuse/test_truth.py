"""Truth discovery on DATA-family folders: config-driven loading, ACCU-COPY, the CLI and the protocol."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgkit.errors import ConfigError
from kgkit.eval.truth import evaluate_truth, find_truth_dataset, leave_out, load_truth_dataset
from kgkit.fuse.policies import DEFAULT_POLICY, AccuCopyPolicy, AccuPolicy, Claim, MajorityVote, make_policy

COPIERS = Path(__file__).resolve().parents[1] / "fixtures" / "truth" / "copiers"
COPY_GROUP = {"cheapflights", "cheapflights-mirror", "deals4u", "flightbargains"}


def test_loader_is_driven_by_the_data_sets_config_files():
    ds = load_truth_dataset(COPIERS)
    assert ds.attributes == {"Scheduled departure": "quantity", "Departure gate": "string"}
    item = "XX-100-AAA-BBB\tScheduled departure"
    # "12/01/2011 10:30 AM" (airline) and "12/1/11 10:30" (airport) both normalise to minutes after midnight.
    assert {c.value for c in ds.claims if c.item == item and c.source in ("airline", "travelsite")} == {"630"}
    assert ds.gold[item] == "630" and ds.gold["XX-100-AAA-BBB\tDeparture gate"] == "c12"
    assert len(ds.claims) == 60 * 9 * 2 and len(ds.evaluated_items()) == 120


def test_copy_aware_default_beats_truthfinder_and_majority_on_copying_sources():
    res = evaluate_truth(COPIERS)
    acc = res["accuracy"]
    assert res["default_policy"] == DEFAULT_POLICY == "accucopy" and acc["default"] == acc["accucopy"]
    assert acc["accucopy"] > acc["truthfinder"] + 0.2
    assert acc["accucopy"] >= acc["majority"] and acc["accucopy"] >= 0.95
    result = AccuCopyPolicy().resolve(load_truth_dataset(COPIERS).claims)
    flagged = {frozenset(p[:2]) for p in result.dependence}
    assert frozenset({"cheapflights", "deals4u"}) in flagged
    assert all(not (set(p) & COPY_GROUP) or set(p) <= COPY_GROUP for p in flagged)  # no independent source flagged
    assert min(result.reliability[s] for s in ("airline", "airport")) > max(result.reliability[s] for s in COPY_GROUP)


def test_accucopy_without_dependence_is_accu():
    claims = [Claim("i1", "a", "s1"), Claim("i1", "b", "s2"), Claim("i1", "a", "s3"),
              Claim("i2", "x", "s1"), Claim("i2", "y", "s2")]
    copy, accu = AccuCopyPolicy(n_false=10, alpha=0.01).resolve(claims), AccuPolicy(n_false=10).resolve(claims)
    assert copy.chosen == accu.chosen
    assert copy.probabilities["i1"]["a"] == pytest.approx(accu.probabilities["i1"]["a"], abs=0.02)
    assert MajorityVote().resolve([]).chosen == {} and AccuCopyPolicy().resolve([]).chosen == {}
    with pytest.raises(ConfigError, match="alpha and copy_rate"):
        make_policy("accucopy", alpha=1.5)
    assert make_policy("default").name == "accucopy"


def test_similarity_lets_partial_author_lists_support_the_full_one():
    claims = [Claim("b", "han", f"s{i}") for i in range(3)] + [Claim("b", "han|kamber", f"t{i}") for i in range(3)]
    sim = lambda a, b: len(set(a.split("|")) & set(b.split("|"))) / len(a.split("|"))  # noqa: E731
    assert AccuPolicy().resolve(claims).chosen["b"] == "han"  # a tie: the smaller value
    assert AccuPolicy(similarity=sim).resolve(claims).chosen["b"] == "han|kamber"


def test_book_layout_from_the_excerpt(fixture_data):
    folder = find_truth_dataset(fixture_data)
    assert folder.name == "book"
    res = evaluate_truth(folder)
    assert res["gold_items_with_claims"] == 6 and set(res["accuracy"]) == {
        "majority", "accu", "truthfinder", "accucopy", "default"}
    assert res["accuracy"]["default"] >= res["accuracy"]["majority"]


def test_unknown_layouts_say_what_was_expected(tmp_path):
    with pytest.raises(ConfigError, match="conflicting_data/\\*.txt and ground_truth/\\*.txt"):
        find_truth_dataset(tmp_path)
    copy = tmp_path / "flights"
    shutil.copytree(COPIERS, copy)
    (copy / "dataset_parameters.json").unlink()
    with pytest.raises(ConfigError, match="dataset_parameters.json not found"):
        load_truth_dataset(copy)
    shutil.copy(COPIERS / "dataset_parameters.json", copy)
    (copy / "preprocess_configuration_crh.json").write_text(json.dumps({"modify_data": {"magic": {}}}))
    with pytest.raises(ConfigError, match="unknown preprocessing step 'magic'"):
        load_truth_dataset(copy)


def test_leave_out_tunes_on_one_half_and_scores_the_other():
    grid = {"majority": {}, "accu": {"n_false": [5, 50]}, "accucopy": {"copy_rate": [0.5, 0.8]}}
    res = leave_out(COPIERS, grid)
    f1, f2 = res["folds"]
    assert f1["tune"] == f2["scored"] and f1["tune"] + f1["scored"] == 120
    assert f1["policies"]["accu"]["params"]["n_false"] in (5, 50)
    assert res["mean_scored_accuracy"]["accucopy"] >= res["mean_scored_accuracy"]["majority"]


def test_cli_truth_json_reports_every_policy_and_the_default():
    from kgkit.cli.main import app

    res = CliRunner().invoke(app, ["eval", "fusion", "truth", "--data", str(COPIERS), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["default_policy"] == "accucopy" and set(out["accuracy"]) >= {"majority", "accu", "default"}
    bad = CliRunner().invoke(app, ["eval", "fusion", "truth", "--data", str(COPIERS / "ground_truth")])
    assert bad.exit_code == 1 and "expected a DATA-family folder" in bad.stderr
