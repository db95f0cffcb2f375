"""One bad document never costs the rest of its batch; nothing is lost or overwritten silently."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import pytest
from typer.testing import CliRunner

from kgkit.errors import ExtractionError
from kgkit.extract.base import ChunkExtraction
from kgkit.ingest.ledger import Ledger
from kgkit.ingest.paths import text_to_path
from kgkit.ontology import load_ontology
from kgkit.pipeline import ingest_folder, retry_failed


def _ingest(folder: Path, store, extractor, ledger: Ledger, **kw):
    return ingest_folder(folder, store=store, extractor=extractor, ontology=load_ontology(), ledger=ledger, **kw)


class PoisonExtractor:
    """Raises for any batch that contains a chunk with POISON in it (like a model that chokes on one input)."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.version = inner, inner.name, inner.version

    def extract(self, chunks: Sequence):
        if any("POISON" in c.text for c in chunks):
            raise ExtractionError("the extractor cannot handle this chunk")
        return self.inner.extract(chunks)


class FlakyExtractor:
    """Fails (quarantines) chunks mentioning London until ``healed``."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.version, self.healed = inner, inner.name, inner.version, False

    def extract(self, chunks: Sequence):
        out = []
        for c in chunks:
            if "London" in c.text and not self.healed:
                out.append(ChunkExtraction(c, error="endpoint returned 500"))
            else:
                out.extend(self.inner.extract([c]))
        return out


def test_nul_after_8_kib_costs_nothing_in_the_batch(tmp_path: Path, falkor_store, spacy_extractor) -> None:
    d = tmp_path / "docs"
    d.mkdir()
    for i in range(15):
        (d / f"p{i:02}.txt").write_text(f"Person{i} Smith was born in Paris.", encoding="utf-8")
    (d / "nul.txt").write_bytes(b"Ada Lovelace was born in London. " * 300 + b"\x00" + b"Marie Curie was born in Warsaw.")
    r = _ingest(d, falkor_store, spacy_extractor, Ledger(tmp_path / "l.sqlite"))
    assert r.processed == 16 and r.failed == 0 and not r.skipped
    assert falkor_store.stats().documents == 16
    assert [Path(p).name for p, w in r.warnings] == ["nul.txt"] and "NUL" in r.warnings[0][1]


def test_a_failing_document_is_isolated_and_retried(tmp_path: Path, falkor_store, spacy_extractor) -> None:
    d = tmp_path / "docs"
    d.mkdir()
    for i in range(5):
        (d / f"ok{i}.txt").write_text(f"Person{i} Jones was born in Berlin.", encoding="utf-8")
    (d / "bad.txt").write_text("POISON. Ada Lovelace was born in London.", encoding="utf-8")
    ledger = Ledger(tmp_path / "l.sqlite")
    x = PoisonExtractor(spacy_extractor)
    r = _ingest(d, falkor_store, x, ledger)
    assert r.processed == 5 and r.failed == 1
    assert [Path(p).name for p, _ in r.failed_documents] == ["bad.txt"] and "ExtractionError" in r.failed_documents[0][1]
    assert len(falkor_store.document_ids()) >= 5
    (skip,) = ledger.skipped()
    assert skip.status == "failed" and Path(skip.path).name == "bad.txt" and skip.fix
    r2 = _ingest(d, falkor_store, x, ledger)
    assert r2.unchanged == 5 and r2.failed == 1, "a failed document is retried, the good ones are not redone"
    (d / "bad.txt").write_text("Ada Lovelace was born in London.", encoding="utf-8")
    r3 = _ingest(d, falkor_store, x, ledger)
    assert r3.processed == 1 and r3.failed == 0 and ledger.skipped() == []


def test_two_folders_with_the_same_name_do_not_overwrite_each_other(tmp_path: Path, falkor_store, spacy_extractor) -> None:
    a, b = tmp_path / "a" / "docs", tmp_path / "b" / "docs"
    for folder, text in ((a, "Marie Curie was born in Warsaw."), (b, "Ada Lovelace was born in London.")):
        folder.mkdir(parents=True)
        (folder / "notes.txt").write_text(text, encoding="utf-8")
    ledger = Ledger(tmp_path / "l.sqlite")
    _ingest(a, falkor_store, spacy_extractor, ledger)
    r = _ingest(b, falkor_store, spacy_extractor, ledger)
    assert r.new == 1 and r.deleted == 0
    assert len(falkor_store.document_ids()) == 2
    names = {e.name for e in falkor_store.iter_entities()}
    assert {"Marie Curie", "Warsaw", "Ada Lovelace", "London"} <= names
    assert _ingest(a, falkor_store, spacy_extractor, ledger).unchanged == 1


def test_relative_and_absolute_spellings_are_one_run_and_retry_works_anywhere(
    tmp_path: Path, falkor_store, spacy_extractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("Ada Lovelace was born in London.", encoding="utf-8")
    (d / "b.txt").write_text("Marie Curie was born in Warsaw.", encoding="utf-8")
    ledger = Ledger(tmp_path / "l.sqlite")
    x = FlakyExtractor(spacy_extractor)
    monkeypatch.chdir(tmp_path)
    r1 = _ingest(Path("docs"), falkor_store, x, ledger)
    assert r1.processed == 2 and r1.failed_chunks == 1
    assert all(Path(f.path).is_absolute() for f in ledger.failures())
    r2 = _ingest(d, falkor_store, x, ledger)
    assert r2.unchanged == 2 and r2.processed == 0, "the same folder spelled absolute is the same run"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    x.healed = True
    rep = retry_failed(store=falkor_store, extractor=x, ledger=ledger)
    assert (rep.recovered, rep.dropped_stale) == (1, 0)
    names = {e.id: e.name for e in falkor_store.iter_entities()}
    assert ("Ada Lovelace", "London") in {(names[f.subject_id], names[f.object_id]) for f in falkor_store.iter_facts()}
    assert ledger.failures() == []


def test_non_utf8_file_name_is_ingested_and_rerun_is_unchanged(tmp_path: Path, falkor_store, spacy_extractor) -> None:
    d = tmp_path / "docs"
    d.mkdir()
    with open(os.fsencode(d) + b"/caf\xe9.txt", "wb") as fh:
        fh.write(b"Ada Lovelace was born in London.")
    (d / "ok.txt").write_text("Marie Curie was born in Warsaw.", encoding="utf-8")
    ledger = Ledger(tmp_path / "l.sqlite")
    r = _ingest(d, falkor_store, spacy_extractor, ledger)
    assert r.processed == 2 and r.failed == 0
    (entry,) = [e for e in ledger.entries().values() if "\\xe9" in e.path]
    assert text_to_path(entry.path).exists()
    assert _ingest(d, falkor_store, spacy_extractor, ledger).unchanged == 2


def test_skip_counts_by_reason_and_failures_cli_json(tmp_path: Path, falkor_store, spacy_extractor) -> None:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "good.TXT").write_text("Ada Lovelace was born in London.", encoding="utf-8")
    (d / "bin.txt").write_bytes(b"\x00\x01" * 100)
    os.mkfifo(d / "pipe.md")
    (d / "zero.txt").symlink_to("/dev/zero")
    workdir = tmp_path / "wd"
    from kgkit.api import KnowledgeGraph

    kg = KnowledgeGraph(workdir=workdir)
    try:
        r = _ingest(d, falkor_store, spacy_extractor, kg.ledger)
    finally:
        kg.close()
    assert r.processed == 1
    assert r.skipped_counts == {"binary": 1, "not_regular_file": 1, "symlink_outside": 1}
    from kgkit.cli.main import app

    res = CliRunner().invoke(app, ["failures", "--json", "--workdir", str(workdir)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    rows = {Path(s["path"]).name: s for s in out["skipped"]}
    assert set(rows) == {"bin.txt", "pipe.md", "zero.txt"}
    assert all(s["reason"] and s["fix"] for s in out["skipped"]) and out["quarantined"] == []


def test_workdir_relative_or_absolute_is_one_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kgkit.api import KnowledgeGraph

    monkeypatch.chdir(tmp_path)
    rel = KnowledgeGraph(workdir=Path("wd"))._ledger_path()
    ab = KnowledgeGraph(workdir=tmp_path / "wd")._ledger_path()
    dflt = KnowledgeGraph()._ledger_path()
    dflt_abs = KnowledgeGraph(workdir=tmp_path / ".kgkit")._ledger_path()
    assert rel == ab and rel.is_absolute()
    assert dflt == dflt_abs


def test_documents_under_legacy_ids_are_replaced_not_duplicated(tmp_path: Path, falkor_store, spacy_extractor) -> None:
    from kgkit.ingest.paths import path_to_text
    from kgkit.types import Document

    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("Ada Lovelace was born in London.", encoding="utf-8")
    legacy = "docs/a.txt"  # ids before the root id was part of them
    falkor_store.upsert_documents([Document(legacy, str(d / "a.txt"), "old text", "h", "text/plain")])
    ledger = Ledger(tmp_path / "l.sqlite")
    ledger.mark(legacy, root=path_to_text(d.resolve()), path=str(d / "a.txt"), status="done", content_hash="h",
                size=1, mtime_ns=1, extractor_key="old")
    r = _ingest(d, falkor_store, spacy_extractor, ledger)
    assert r.processed == 1 and r.deleted == 0
    assert legacy not in falkor_store.document_ids() and len(falkor_store.document_ids()) == 1
    assert ledger.get(legacy) is None
