"""End to end: the LLM extractor inside the real ingest run, against the scripted endpoint."""

from __future__ import annotations

import random
from pathlib import Path


from kgkit.extract.llm_extractor import LLMExtractor
from kgkit.ingest.chunking import SentenceChunker
from kgkit.ingest.ledger import Ledger
from kgkit.llm import LLMClient
from kgkit.llm.testing import chaos_handler
from kgkit.ontology import load_ontology
from kgkit.pipeline import ingest_folder, retry_failed

from .conftest import chunk_text_of, rule_answer

FIRST = ["Ada", "Alan", "Grace", "Marie", "Niels", "Lise", "Emmy", "Kurt", "Paul", "Rosalind"]
LAST = ["Lovelace", "Turing", "Hopper", "Curie", "Bohr", "Meitner", "Noether", "Godel", "Dirac", "Franklin"]
CITY = ["London", "Warsaw", "Vienna", "Bristol", "Copenhagen", "Berlin", "Paris", "Rome", "Lisbon", "Oslo"]
CHUNKER = SentenceChunker(max_chars=120, overlap_sentences=0)


def make_corpus(root: Path, docs: int = 8, sentences: int = 6, seed: int = 1) -> set[tuple[str, str, str]]:
    """Documents of "<First Last> was born in <City>." sentences; returns the facts they state."""
    rng = random.Random(seed)
    gold = set()
    root.mkdir(parents=True, exist_ok=True)
    for d in range(docs):
        lines = []
        for _ in range(sentences):
            who, city = f"{rng.choice(FIRST)} {rng.choice(LAST)}", rng.choice(CITY)
            gold.add((who, "bornIn", city))
            lines.append(f"{who} was born in {city}.")
        (root / f"doc{d}.txt").write_text(" ".join(lines), encoding="utf-8")
    return gold


def facts_in(store) -> set[tuple[str, str, str]]:
    names = {e.id: e.name for e in store.iter_entities()}
    return {(names[f.subject_id], f.predicate, names[f.object_id]) for f in store.iter_facts()}


def extractor(server, cache: Path, **kw) -> LLMExtractor:
    client = LLMClient(base_url=server.base_url, api_key="t", model="scripted", cache_dir=cache,
                       backoff_base=0.01, max_concurrency=4, budget_tokens=kw.pop("budget_tokens", None))
    return LLMExtractor(ontology=load_ontology(), client=client, **kw)


def run(folder, store, ex, ledger, **kw):
    return ingest_folder(folder, store=store, extractor=ex, ontology=load_ontology(), ledger=ledger,
                         chunker=CHUNKER, **kw)


def test_rerun_makes_zero_endpoint_calls(tmp_path, server, falkor_store):
    gold = make_corpus(tmp_path / "docs")
    server.handler = rule_answer
    r1 = run(tmp_path / "docs", falkor_store, extractor(server, tmp_path / "cache"), Ledger(tmp_path / "l1.sqlite"))
    calls = len(server.requests)
    assert r1.failed_chunks == 0 and r1.chunks > 8 and calls == r1.chunks
    assert facts_in(falkor_store) == gold
    # Same ledger: nothing changed, nothing extracted.
    r2 = run(tmp_path / "docs", falkor_store, extractor(server, tmp_path / "cache"), Ledger(tmp_path / "l1.sqlite"))
    assert r2.unchanged == 8 and len(server.requests) == calls
    # A fresh ledger re-extracts every document, yet the answer cache makes it free.
    r3 = run(tmp_path / "docs", falkor_store, extractor(server, tmp_path / "cache"), Ledger(tmp_path / "l2.sqlite"))
    assert r3.processed == 8 and r3.triples == r1.triples
    assert len(server.requests) == calls, "a re-run must make 0 endpoint calls"
    assert facts_in(falkor_store) == gold


def test_faulty_endpoint_every_chunk_extracted_or_quarantined_then_drained(tmp_path, server, falkor_store):
    """10 % malformed answers and 10 % 429s (plus 10 % cut-off answers, which repair handles). Re-asking
    is off so that malformed answers reach the quarantine (with it on, a chunk fails only when two
    answers in a row are malformed)."""
    gold = make_corpus(tmp_path / "docs", docs=10, sentences=6)
    server.handler = chaos_handler(rule_answer, malformed_rate=0.1, partial_rate=0.1, rate_limit_rate=0.1,
                                   retry_after=0.01, seed=7)
    ledger = Ledger(tmp_path / "l.sqlite")
    ex = extractor(server, tmp_path / "cache", reask=False)
    rep = run(tmp_path / "docs", falkor_store, ex, ledger)
    assert rep.extracted_chunks + rep.failed_chunks == rep.chunks
    failures = ledger.failures()
    assert rep.failed_chunks == len(failures) > 0
    assert all(f.reason and f.stage == "llm" for f in failures)
    assert ex.client.stats.retries > 0  # the 429s were waited out, not fatal
    for _ in range(6):
        if not ledger.failures():
            break
        retry_failed(store=falkor_store, extractor=ex, ledger=ledger)
    assert ledger.failures() == [], "retry-failed must drain the quarantine"
    assert facts_in(falkor_store) == gold


def test_faulty_endpoint_with_reask(tmp_path, server, falkor_store):
    gold = make_corpus(tmp_path / "docs", docs=6, sentences=6, seed=3)
    server.handler = chaos_handler(rule_answer, malformed_rate=0.1, rate_limit_rate=0.1, retry_after=0.01, seed=11)
    ledger = Ledger(tmp_path / "l.sqlite")
    ex = extractor(server, tmp_path / "cache")
    rep = run(tmp_path / "docs", falkor_store, ex, ledger)
    assert rep.extracted_chunks + rep.failed_chunks == rep.chunks
    assert ex.client.stats.stages["reask"].calls > 0
    for _ in range(6):
        if not ledger.failures():
            break
        retry_failed(store=falkor_store, extractor=ex, ledger=ledger)
    assert ledger.failures() == [] and facts_in(falkor_store) == gold


def test_budget_stops_before_the_limit_and_the_run_continues_later(tmp_path, server, falkor_store):
    gold = make_corpus(tmp_path / "docs", docs=8, sentences=6)
    server.handler = rule_answer
    ledger = Ledger(tmp_path / "l.sqlite")
    dry = run(tmp_path / "docs", falkor_store, extractor(server, tmp_path / "cache", max_tokens=300), ledger, dry_run=True)
    assert server.requests == [] and dry.dry_run_estimate["calls"] == dry.chunks
    budget = dry.dry_run_estimate["tokens"] // 3
    ex = extractor(server, tmp_path / "cache", max_tokens=300, budget_tokens=budget)
    r1 = run(tmp_path / "docs", falkor_store, ex, ledger, batch_documents=2)
    assert r1.stopped and "budget" in r1.stopped
    assert ex.client.budget.spent_tokens <= budget
    first_calls = len(server.requests)
    assert 0 < first_calls < dry.chunks
    # Later, with enough budget: nothing already answered is asked again.
    r2 = run(tmp_path / "docs", falkor_store, extractor(server, tmp_path / "cache", max_tokens=300), ledger)
    assert r2.stopped is None
    asked = [chunk_text_of(r) for r in server.requests]
    assert len(asked) == len(set(asked)) == dry.chunks
    assert facts_in(falkor_store) == gold
