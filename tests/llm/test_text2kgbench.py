"""Text2KGBench loader, ontology conversion, metrics and the evaluation runner.

Unmarked tests read the committed excerpts (tests/fixtures/datasets, the published layout); tests
marked ``data`` read the real benchmark under $KGKIT_DATA.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgkit.errors import ConfigError
from kgkit.eval.extraction import evaluate_text2kgbench, resolve_split
from kgkit.eval.text2kgbench import (
    BenchSentence,
    Scorer,
    list_ontologies,
    load_bench_ontology,
    load_split,
)
from kgkit.eval.text2kgbench_ontology import relation_label, to_kgkit_ontology
from kgkit.extract.base import ChunkExtraction
from kgkit.extract.llm_extractor import LLMExtractor
from kgkit.llm import LLMClient
from kgkit.types import Entity, Provenance, Triple


@pytest.fixture(autouse=True)
def _fixture_datasets(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, fixture_data: Path) -> None:
    """Unmarked tests read the excerpts; ``data`` tests read $KGKIT_DATA as it is."""
    if request.node.get_closest_marker("data") is None:
        monkeypatch.setenv("KGKIT_DATA", str(fixture_data))


@pytest.mark.data
def test_lists_both_datasets():
    assert len(list_ontologies("wikidata_tekgen")) == 10 and list_ontologies("wikidata_tekgen")[0] == "1_movie"
    assert len(list_ontologies("dbpedia_webnlg")) == 19
    assert resolve_split("wikidata_tekgen", "auto") == "validation"
    assert resolve_split("dbpedia_webnlg", "auto") == "train-holdout"
    with pytest.raises(ConfigError, match="available"):
        resolve_split("dbpedia_webnlg", "validation")


def test_splits_of_the_excerpts():
    assert list_ontologies("wikidata_tekgen") == ["2_music"]
    assert resolve_split("wikidata_tekgen", "auto") == "validation"
    assert resolve_split("wikidata_tekgen", "test") == "test"
    assert resolve_split("dbpedia_webnlg", "auto") == "train-holdout"
    with pytest.raises(ConfigError, match="available: train"):
        resolve_split("dbpedia_webnlg", "test")


def test_published_test_layout_is_scored_per_row():
    """test/ rows carry id + sent only; gold comes from ground_truth/; duplicate sentences stay separate rows."""
    rows = load_split("wikidata_tekgen", "2_music", "test")
    assert len(rows) == 33 and len({r.text for r in rows}) == 30  # rows 150/153/160 repeat earlier sentences
    assert rows[0].id == "ont_2_music_test_1" and rows[0].triples == (("' 39", "lyrics by", "Brian May"),
                                                                       ("' 39", "composer", "Brian May"))
    assert [r.id for r in rows if r.text == rows[3].text] == ["ont_2_music_test_4", "ont_2_music_test_150",
                                                               "ont_2_music_test_153"]


def test_test_rows_without_ground_truth_name_the_missing_file(tmp_path, fixture_data):
    import shutil

    root = tmp_path / "extraction" / "text2kgbench" / "data"
    shutil.copytree(fixture_data / "extraction" / "text2kgbench" / "data" / "wikidata_tekgen", root / "wikidata_tekgen")
    shutil.rmtree(root / "wikidata_tekgen" / "ground_truth")
    with pytest.raises(ConfigError, match="ground_truth/ont_2_music_ground_truth.jsonl"):
        load_split("wikidata_tekgen", "2_music", "test", tmp_path)
    (root / "wikidata_tekgen" / "validation" / "ont_2_music_validation.jsonl").write_text('{"id": "x", "sent": "s"}\n')
    with pytest.raises(ConfigError, match="neither 'triples' nor 'sub_label'"):
        load_split("wikidata_tekgen", "2_music", "validation", tmp_path)


def test_runner_scores_every_test_row(tmp_path):
    gold = {}
    for s in load_split("wikidata_tekgen", "2_music", "test"):
        gold.setdefault(s.text, s.triples)
    r = evaluate_text2kgbench(lambda onto: GoldLookupExtractor(onto, gold), dataset="wikidata_tekgen", split="test")
    assert r.split == "test" and r.sentences == 33 and r.ontologies[0].gold_triples == sum(
        len(s.triples) for s in load_split("wikidata_tekgen", "2_music", "test"))
    assert r.macro["f1"] == pytest.approx(1.0)


def test_cli_eval_extraction_test_split_json(tmp_path, fixture_data):
    from kgkit.cli.main import app

    res = CliRunner().invoke(app, [
        "eval", "extraction", "--data", str(fixture_data), "--dataset", "wikidata_tekgen", "--split", "test",
        "--no-mine-hints", "--json"])
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)  # nothing but JSON on stdout
    assert out[0]["split"] == "test" and out[0]["sentences"] == 33 and "2_music" in res.stderr


def test_converts_ontology_to_kgkit_schema():
    bench = load_bench_ontology("wikidata_tekgen", "2_music")
    onto = to_kgkit_ontology(bench)
    assert {"Human", "MusicalWork", "Album", "Date"} <= set(onto.entity_types)
    lyrics = onto.relation("lyricsBy")
    assert (lyrics.domain, lyrics.range) == (("MusicalWork",), ("Human",))
    assert onto.relation("publicationDate").range == ("Date",)  # date-valued, no range in the source
    assert onto.relation("performer").range == ()  # no range, not a date: unconstrained
    assert relation_label(onto, "lyricsBy") == "lyrics_by"
    assert onto.conforms("MusicalWork", "lyricsBy", "Human") and not onto.conforms("Human", "lyricsBy", "Human")


@pytest.mark.data
def test_every_real_ontology_converts():
    for ds in ("wikidata_tekgen", "dbpedia_webnlg"):  # every ontology converts to valid identifiers
        for oid in list_ontologies(ds):
            o = to_kgkit_ontology(load_bench_ontology(ds, oid))
            assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", n) for n in [*o.entity_types, *o.relation_types])


def test_loads_splits(fixture_data):
    val = load_split("wikidata_tekgen", "2_music", "validation")
    folder = fixture_data / "extraction" / "text2kgbench" / "data" / "wikidata_tekgen" / "validation"
    lines = len(next(folder.glob("ont_2_music_*")).read_text(encoding="utf-8").splitlines())
    assert 0 < len(val) < lines  # one line per triple, merged per sentence
    assert any(len(s.triples) > 1 for s in val)
    train = load_split("dbpedia_webnlg", "1_university", "train")
    fit = load_split("dbpedia_webnlg", "1_university", "train-fit")
    hold = load_split("dbpedia_webnlg", "1_university", "train-holdout")
    assert {s.id for s in fit} | {s.id for s in hold} == {s.id for s in train}
    assert not {s.id for s in fit} & {s.id for s in hold} and len(hold) == len(train) // 5
    with pytest.raises(ConfigError, match="no 'validation' split"):
        load_split("dbpedia_webnlg", "1_university", "validation")


def test_metrics_follow_the_benchmark():
    bench = load_bench_ontology("wikidata_tekgen", "2_music")
    scorer = Scorer(bench)
    sent = BenchSentence("s1", "Hello is a song written by Adele Adkins and Greg Kurstin in 2015.",
                         (("Hello", "lyrics by", "Adele Adkins"), ("Hello", "composer", "Greg Kurstin")))
    perfect = scorer.score(sent, [("Hello", "lyrics_by", "Adele_Adkins"), ("hello", "composer", "Greg Kurstin")])
    assert (perfect.precision, perfect.recall, perfect.f1, perfect.onto_conf) == (1.0, 1.0, 1.0, 1.0)
    mixed = scorer.score(sent, [
        ("Hello", "lyrics_by", "Adele Adkins"),       # correct
        ("Hello", "genre", "pop"),                     # relation not in this sentence's gold: filtered out of P/R
        ("Skyfall", "composer", "Adele Adkins"),       # wrong, and the subject is not in the sentence
        ("Hello", "sung by", "Adele Adkins"),          # off-ontology relation
    ])
    assert mixed.precision == pytest.approx(0.5) and mixed.recall == pytest.approx(0.5)
    assert mixed.onto_conf == pytest.approx(0.75) and mixed.rel_halluc == pytest.approx(0.25)
    assert mixed.sub_halluc == pytest.approx(0.25) and mixed.obj_halluc == pytest.approx(0.25)  # "pop" absent
    empty = scorer.score(sent, [])
    assert (empty.f1, empty.onto_conf, empty.sub_halluc) == (0.0, 1.0, 0.0)


class GoldLookupExtractor:
    """Any object with the Extractor protocol can be evaluated; this one 'extracts' the gold triples."""

    name, version = "gold", "1"

    def __init__(self, ontology, gold):
        self.ontology, self.gold = ontology, gold
        by_label = {r.aliases[0]: n for n, r in ontology.relation_types.items()}
        self.by_label = by_label

    def warm_up(self):
        pass

    def extract(self, chunks):
        out = []
        for c in chunks:
            ts = [Triple(Entity(s, "Human"), self.by_label.get(r, r), Entity(o, "Human"),
                         Provenance(c.document_id, c.id, None, "gold", "1")) for s, r, o in self.gold[c.text]]
            out.append(ChunkExtraction(c, tuple(ts)))
        return out


def test_runner_works_for_any_extractor(tmp_path):
    gold = {s.text: s.triples for s in load_split("wikidata_tekgen", "2_music", "validation")}
    r = evaluate_text2kgbench(lambda onto: GoldLookupExtractor(onto, gold), dataset="wikidata_tekgen",
                              ontologies=["2_music"], limit=40, predictions_dir=tmp_path)
    assert r.sentences == 40 and r.macro["f1"] == pytest.approx(1.0) and r.macro["onto_conf"] == pytest.approx(1.0)
    rows = [json.loads(line) for line in (tmp_path / "ont_2_music_predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 40 and rows[0]["triples"]
    assert "| **macro** |" in r.to_markdown()
    with pytest.raises(ConfigError, match="leak"):
        evaluate_text2kgbench(lambda o: GoldLookupExtractor(o, gold), dataset="dbpedia_webnlg", split="train", mine_hints=True)


def test_llm_extractor_on_the_benchmark_with_accounting(server, tmp_path):
    sents = load_split("wikidata_tekgen", "2_music", "validation")[:8]
    gold = {s.text: s.triples for s in sents}
    onto = to_kgkit_ontology(load_bench_ontology("wikidata_tekgen", "2_music"))
    name_of = {r.aliases[0]: n for n, r in onto.relation_types.items()}

    def answer(req):
        text = req.messages[-1]["content"].split('"""\n', 1)[1].rsplit('\n"""', 1)[0]
        facts = [{"subject": s, "subject_type": "MusicalWork", "predicate": name_of[r], "object": o,
                  "object_type": "Human", "evidence": text} for s, r, o in gold[text]]
        return json.dumps({"facts": facts})

    server.handler = answer
    client = LLMClient(base_url=server.base_url, api_key="t", model="scripted", cache_dir=tmp_path)
    r = evaluate_text2kgbench(lambda o: LLMExtractor(ontology=o, client=client, off_ontology="flag"),
                              dataset="wikidata_tekgen", ontologies=["2_music"], limit=8)
    assert r.macro["f1"] == pytest.approx(1.0)
    assert r.llm_stats["total"]["calls"] == 8 and r.llm_stats["total"]["prompt_tokens"] > 0


def test_cli_eval_extraction_with_llm(server, tmp_path):
    from kgkit.cli.main import app

    server.handler = lambda req: '{"facts": []}'
    res = CliRunner().invoke(app, [
        "eval", "extraction", "--dataset", "dbpedia_webnlg", "--ontology", "1_university", "--limit", "3",
        "--extractor", "llm", "--base-url", server.base_url, "--model", "scripted", "--cache-dir", str(tmp_path),
        "--out", str(tmp_path / "r.json"),
    ])
    assert res.exit_code == 0, res.output
    assert "| 1_university | 3 |" in res.output and len(server.requests) == 3
    assert json.loads((tmp_path / "r.json").read_text())[0]["split"] == "train-holdout"
    bad = CliRunner().invoke(app, ["eval", "extraction", "--dataset", "nope"])
    assert bad.exit_code == 1 and "unknown dataset" in bad.output


@pytest.mark.data
def test_offline_hints_mined_from_train_feed_the_spacy_extractor(spacy_extractor):
    from kgkit.eval.text2kgbench_ontology import mine_offline_hints

    bench = load_bench_ontology("wikidata_tekgen", "2_music")
    hints = mine_offline_hints(spacy_extractor.nlp, bench, load_split("wikidata_tekgen", "2_music", "train")[:300])
    assert hints.sentences == 300 and hints.aligned > 100
    assert hints.patterns and "PERSON" in hints.ner.get("Human", [])
    onto = to_kgkit_ontology(bench, hints)
    rel, phrases = next(iter(hints.patterns.items()))
    assert set(phrases) <= set(onto.relation(rel).patterns)
