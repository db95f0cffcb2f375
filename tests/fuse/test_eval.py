"""Evaluation helpers, entity-matching splits, and the Book truth-discovery figure on the real data set."""

from __future__ import annotations

import shutil

import pytest

from kgkit.errors import ConfigError
from kgkit.eval.fusion import _iso_date, evaluate_er, isbn13, normalize_authors, parse_record


def test_author_normalisation_and_isbn():
    assert normalize_authors("Knuth, Donald E.") == normalize_authors("Donald E. Knuth") == "knuth"
    assert normalize_authors("Kenneth L. Calvert, Michael J. Donahoo") == "calvert|donahoo"
    assert normalize_authors("By (author) Calvert, Kenneth L. By (author) Donahoo, Michael J.") == "calvert|donahoo"
    assert normalize_authors("Kaplan, Joseph E. (Author) Dunn, Ryan (Author)") == "dunn|kaplan"
    assert normalize_authors("o'leary, timothy j.;  o'leary, linda i.;") == "o'leary"
    assert isbn13("0201853949") == "9780201853940" and isbn13("9780073516677") == "9780073516677"


def test_record_parsing_and_dates():
    assert parse_record("COL title VAL a b c COL year VAL 2001 ") == {"title": "a b c", "year": "2001"}
    assert _iso_date("7 November 1867") == "1867-11-07" and _iso_date("1818") == "1818"


@pytest.mark.data
def test_truth_discovery_on_the_real_book_set(datasets_dir):
    from kgkit.eval.truth import evaluate_truth, find_truth_dataset

    res = evaluate_truth(find_truth_dataset(datasets_dir))
    acc = res["accuracy"]
    assert res["gold_items_with_claims"] == 100 and res["default_policy"] == "accucopy"
    assert acc["default"] >= 0.90 and all(acc["default"] >= acc[p] for p in ("majority", "accu", "truthfinder"))


def test_er_reports_every_split_file_present(fixture_data, tmp_path):
    res = evaluate_er(fixture_data, "DBLP-ACM", use_embeddings=False)
    assert res["splits"] == ["valid", "test"] and res["reported_split"] == "test"
    assert res["pairs"] == {"train": 40, "valid": 12, "test": 12} and 0.0 <= res["test"]["f1"] <= 1.0
    only_valid = tmp_path / "Abt-Buy-like"
    only_valid.mkdir()
    for split in ("train", "valid"):
        shutil.copy(fixture_data / "fusion" / "er" / "DBLP-ACM" / f"{split}.txt", only_valid / f"{split}.txt")
    res = evaluate_er(fixture_data, str(only_valid), use_embeddings=False)
    assert res["splits"] == ["valid"] and res["reported_split"] == "valid" and "test" not in res
    with pytest.raises(ConfigError, match="train.txt and valid.txt and/or test.txt"):
        evaluate_er(fixture_data, "Nope", use_embeddings=False)


def test_er_test_split_is_not_ignored_by_the_cli(fixture_data):
    import json

    from typer.testing import CliRunner

    from kgkit.cli.main import app

    res = CliRunner().invoke(app, ["eval", "fusion", "er", "--data", str(fixture_data), "--dataset", "DBLP-ACM",
                                   "--no-embeddings", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)["DBLP-ACM"]
    assert set(out) >= {"valid", "test"} and out["reported_split"] == "test"
