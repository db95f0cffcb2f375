"""A title's "The": kept or dropped as each relation's examples write such names."""

from __future__ import annotations

from kgkit.extract.trained.articles import article_rates, choose_article
from kgkit.extract.trained.examples import Example
from kgkit.extract.trained.mentions import Gazetteer, find_mentions


def _ex(text: str, *triples: tuple[str, str, str]) -> Example:
    return Example(text=text, triples=tuple(triples))


def test_rates_count_names_written_after_the_per_relation_and_side() -> None:
    films = [_ex(f"The {w} Story is a film directed by Ann Lee.", (f"The {w} Story", "director", "Ann Lee"))
             for w in ("Long", "Short", "Odd", "Blue")]
    rivers = [_ex(f"The {w} River flows into the sea.", (f"{w} River", "mouth", "North Sea"))
              for w in ("Tay", "Dee", "Don")]
    unrelated = [_ex("Ann Lee directed Rain.", ("Rain", "director", "Ann Lee"))]  # no "The": not counted
    rates = article_rates(films + rivers + unrelated)
    assert rates["director"]["s"] == round(5 / 6, 4)  # 4 of 4 keep it: (4 + 1) / (4 + 2)
    assert rates["mouth"]["s"] == 0.2  # 3 of 3 drop it: (0 + 1) / (3 + 2)
    assert "o" not in rates["director"]  # objects never written after "The"
    assert article_rates(rivers[:2]) == {}  # too few names to learn from


def test_choose_article_follows_the_relation(spacy_extractor) -> None:
    doc = spacy_extractor.nlp("The Head Vanishes is a 2016 animated short by Franck Dion.")
    subject = next(m for m in find_mentions(doc, Gazetteer()) if m.surface == "Head Vanishes")
    rates = {"director": {"s": 0.95}, "mouth": {"s": 0.05}}
    assert choose_article(doc, subject, "Head Vanishes", "director", "s", rates) == "The Head Vanishes"
    assert choose_article(doc, subject, "The Head Vanishes", "mouth", "s", rates) == "Head Vanishes"
    assert choose_article(doc, subject, "Head Vanishes", "genre", "s", rates) == "Head Vanishes"  # no rate: unchanged
    dion = next(m for m in find_mentions(doc, Gazetteer()) if m.surface == "Franck Dion")
    assert choose_article(doc, dion, "Franck Dion", "director", "s", rates) == "Franck Dion"  # no "The" written
