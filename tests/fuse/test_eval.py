"""Evaluation helpers, and the Book truth-discovery figure on the shared data set."""

from __future__ import annotations

from kgkit.eval.fusion import _iso_date, evaluate_book_truth, isbn13, normalize_authors, parse_record


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


def test_truth_discovery_beats_majority_on_books():
    res = evaluate_book_truth()
    assert res["gold_books_with_claims"] == 100
    assert res["accuracy_truthfinder"] > res["accuracy_majority"]
    assert res["accuracy_accu"] > res["accuracy_majority"]
