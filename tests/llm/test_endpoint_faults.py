"""LLM endpoint faults from issue 17: HTML pages with status 200, control characters in answers."""

from __future__ import annotations

import json

import pytest

from kgkit.ingest.ledger import Ledger
from kgkit.llm.testing import html_page, reply

from kgkit.pipeline import retry_failed

from .conftest import chunk_text_of, rule_answer
from .test_ingest_llm import extractor, facts_in, make_corpus, run


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/json"])
def test_html_page_with_status_200_is_a_per_chunk_error_and_the_run_goes_on(tmp_path, server, falkor_store, content_type):
    gold = make_corpus(tmp_path / "docs", docs=4, sentences=3)
    poisoned: set[str] = set()

    def handler(request):
        text = chunk_text_of(request)
        if len(poisoned) < 2 and text not in poisoned:
            poisoned.add(text)
        return html_page(content_type=content_type) if text in poisoned else reply(rule_answer(request))

    server.handler = handler
    ledger = Ledger(tmp_path / "l.sqlite")
    ex = extractor(server, tmp_path / "cache", reask=False)
    ex.client.max_retries = 0
    rep = run(tmp_path / "docs", falkor_store, ex, ledger)
    failures = ledger.failures()
    assert rep.failed_chunks == len(failures) == 2
    assert all("HTML page" in f.reason and "KGKIT_LLM_BASE_URL" in f.reason for f in failures), failures
    assert rep.extracted_chunks == rep.chunks - 2
    assert len(ex.client.cache) == rep.chunks - 2, "HTML answers are not cached"
    server.handler = rule_answer
    retry_failed(store=falkor_store, extractor=ex, ledger=ledger)
    assert ledger.failures() == [] and facts_in(falkor_store) == gold


def test_control_characters_in_an_answer_never_crash_and_are_not_cached(tmp_path, server, falkor_store):
    make_corpus(tmp_path / "docs", docs=3, sentences=2)

    def poisoned(request):
        facts = json.loads(rule_answer(request))["facts"]
        for f in facts:
            f["subject"] = f["subject"].replace(" ", "\x00 \x07", 1)
            f["evidence"] = f["evidence"] + "\x00"
        return json.dumps({"facts": facts}).replace("\\u0000", "\x00")  # a raw NUL, as a broken server sends

    server.handler = poisoned
    ledger = Ledger(tmp_path / "l.sqlite")
    rep = run(tmp_path / "docs", falkor_store, extractor(server, tmp_path / "cache"), ledger)
    assert rep.extracted_chunks + rep.failed_chunks == rep.chunks
    names = [e.name for e in falkor_store.iter_entities()]
    assert names and not any(ch in n for n in names for ch in "\x00\x07")
    # A rerun with a fresh ledger (same cache) does not crash either.
    rep2 = run(tmp_path / "docs", falkor_store, extractor(server, tmp_path / "cache"), Ledger(tmp_path / "l2.sqlite"))
    assert rep2.extracted_chunks + rep2.failed_chunks == rep2.chunks


def test_an_unparseable_answer_is_not_cached(tmp_path, server, falkor_store):
    make_corpus(tmp_path / "docs", docs=1, sentences=2)
    server.handler = lambda request: reply("\x00\x01 not json at all \x00")
    ledger = Ledger(tmp_path / "l.sqlite")
    ex = extractor(server, tmp_path / "cache", reask=False)
    rep = run(tmp_path / "docs", falkor_store, ex, ledger)
    assert rep.failed_chunks == rep.chunks > 0
    assert len(ex.client.cache) == 0, "a bad answer must not stay in the cache"
