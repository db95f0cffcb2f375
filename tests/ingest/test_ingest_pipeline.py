"""The ingest run: idempotent re-runs, retraction of changed and deleted files, bad inputs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


from kgkit.ingest.ledger import Ledger
from kgkit.ingest.paths import root_id
from kgkit.ontology import load_ontology
from kgkit.pipeline import ingest_folder


def _ingest(folder: Path, store, extractor, ledger: Ledger, **kw):
    return ingest_folder(folder, store=store, extractor=extractor, ontology=load_ontology(), ledger=ledger, **kw)


def _doc_id(folder: Path, rel: str) -> str:
    real = folder.resolve()
    return f"{real.name}@{root_id(real)}/{rel}"


def _counts(store) -> tuple[int, int, int, int]:
    s = store.stats()
    return s.documents, s.entities, s.facts, s.evidence


def test_three_runs_identical_counts_and_no_extraction_after_the_first(
    tmp_path: Path, sample_dir: Path, falkor_store, counting_extractor
) -> None:
    corpus = tmp_path / "sample"
    shutil.copytree(sample_dir, corpus)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    r1 = _ingest(corpus, falkor_store, counting_extractor, ledger)
    first = _counts(falkor_store)
    chunks_first = counting_extractor.chunks_seen
    assert r1.processed >= 30 and first[2] > 50 and chunks_first > 0
    for _ in range(2):
        r = _ingest(corpus, falkor_store, counting_extractor, ledger)
        assert r.processed == 0 and r.unchanged == r1.processed
        assert _counts(falkor_store) == first
    assert counting_extractor.chunks_seen == chunks_first, "runs 2 and 3 must extract nothing"


def test_touched_but_unchanged_file_is_not_re_extracted(tmp_path: Path, falkor_store, counting_extractor) -> None:
    (tmp_path / "docs").mkdir()
    f = tmp_path / "docs" / "a.txt"
    f.write_text("Marie Curie was born in Warsaw.", encoding="utf-8")
    ledger = Ledger(tmp_path / "l.sqlite")
    _ingest(tmp_path / "docs", falkor_store, counting_extractor, ledger)
    seen = counting_extractor.chunks_seen
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    r = _ingest(tmp_path / "docs", falkor_store, counting_extractor, ledger)
    assert r.unchanged == 1 and counting_extractor.chunks_seen == seen


def _facts(store) -> set[tuple[str, str, str]]:
    names = {e.id: e.name for e in store.iter_entities()}
    return {(names[f.subject_id], f.predicate, names[f.object_id]) for f in store.iter_facts()}


def test_changed_file_retracts_facts_only_it_supported(tmp_path: Path, falkor_store, spacy_extractor) -> None:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("Marie Curie was born in Warsaw. Apple is headquartered in Cupertino.", encoding="utf-8")
    (d / "b.txt").write_text("Apple is headquartered in Cupertino.", encoding="utf-8")
    ledger = Ledger(tmp_path / "l.sqlite")
    _ingest(d, falkor_store, spacy_extractor, ledger)
    assert {("Marie Curie", "bornIn", "Warsaw"), ("Apple", "headquarteredIn", "Cupertino")} <= _facts(falkor_store)

    (d / "a.txt").write_text("Ada Lovelace was born in London.", encoding="utf-8")
    r = _ingest(d, falkor_store, spacy_extractor, ledger)
    assert r.changed == 1 and r.processed == 1
    facts = _facts(falkor_store)
    assert ("Marie Curie", "bornIn", "Warsaw") not in facts, "fact only in the old version must go"
    assert ("Apple", "headquarteredIn", "Cupertino") in facts, "fact still supported by b.txt must stay"
    assert ("Ada Lovelace", "bornIn", "London") in facts
    names = {e.name for e in falkor_store.iter_entities()}
    assert "Marie Curie" not in names and "Warsaw" not in names, "orphaned entities are removed"
    ev = falkor_store.get_evidence(document_id=_doc_id(d, "b.txt"))
    assert ev and all(e.document_id.endswith("b.txt") for e in ev)


def test_deleted_file_is_retracted(tmp_path: Path, falkor_store, spacy_extractor) -> None:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("Marie Curie was born in Warsaw.", encoding="utf-8")
    (d / "b.txt").write_text("Ada Lovelace was born in London.", encoding="utf-8")
    ledger = Ledger(tmp_path / "l.sqlite")
    _ingest(d, falkor_store, spacy_extractor, ledger)
    (d / "a.txt").unlink()
    r = _ingest(d, falkor_store, spacy_extractor, ledger)
    assert r.deleted == 1
    assert _facts(falkor_store) == {("Ada Lovelace", "bornIn", "London")}
    assert falkor_store.document_ids() == {_doc_id(d, "b.txt")}
    assert ledger.get(_doc_id(d, "a.txt")) is None


def test_bad_inputs_are_reported_and_the_rest_is_ingested(tmp_path: Path, falkor_store, spacy_extractor) -> None:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "good.txt").write_text("Ada Lovelace was born in London.", encoding="utf-8")
    (d / "binary.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    (d / "latin1.txt").write_bytes("Kurt Gödel was born in Brünn.".encode("latin-1"))
    (d / "empty.md").write_text("", encoding="utf-8")
    with (d / "huge.txt").open("wb") as fh:
        fh.write(b"London is a city in England. " * (20 * 1024 * 1024 // 29 + 1))
    ledger = Ledger(tmp_path / "l.sqlite")
    r = _ingest(d, falkor_store, spacy_extractor, ledger)
    reasons = {Path(p).name: why for p, why in r.skipped}
    assert "binary" in reasons["binary.txt"]
    assert "ingest.max_bytes" in reasons["huge.txt"]
    assert "empty" in reasons["empty.md"]
    assert "latin1.txt" not in reasons
    facts = _facts(falkor_store)
    assert ("Ada Lovelace", "bornIn", "London") in facts
    assert any(s == "Kurt Gödel" for s, _, _ in facts) or any(e.name == "Kurt Gödel" for e in falkor_store.iter_entities())
    # a second run does not redo the good files; bad ones are still reported
    r2 = _ingest(d, falkor_store, spacy_extractor, ledger)
    assert r2.processed == 0 and {Path(p).name for p, _ in r2.skipped} >= {"binary.txt", "huge.txt"}
    assert ledger.get(_doc_id(d, "huge.txt")).status == "skipped"
    # a narrower run (only good.txt) must not retract what the other files contributed
    before = _facts(falkor_store)
    r3 = _ingest(d, falkor_store, spacy_extractor, ledger, include=["**/good.txt"])
    assert r3.deleted == 0 and _facts(falkor_store) == before


def test_dry_run_writes_nothing(tmp_path: Path, sample_dir: Path, falkor_store, counting_extractor) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    r = _ingest(sample_dir, falkor_store, counting_extractor, ledger, dry_run=True)
    assert r.dry_run_estimate and r.dry_run_estimate["chunks"] > 0 and r.dry_run_estimate["documents"] >= 30
    assert counting_extractor.chunks_seen == 0
    assert _counts(falkor_store) == (0, 0, 0, 0)
    assert ledger.entries() == {}


def test_ledger_is_per_root_and_survives_reopen(tmp_path: Path, falkor_store, spacy_extractor) -> None:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("Ada Lovelace was born in London.", encoding="utf-8")
    _ingest(d, falkor_store, spacy_extractor, Ledger(tmp_path / "l.sqlite"))
    reopened = Ledger(tmp_path / "l.sqlite")
    e = reopened.get(_doc_id(d, "a.txt"))
    assert e is not None and e.status == "done" and e.n_facts >= 1
    r = _ingest(d, falkor_store, spacy_extractor, reopened)
    assert r.unchanged == 1 and r.processed == 0
