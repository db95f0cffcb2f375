from __future__ import annotations

import json

import pytest

from kgkit.errors import BudgetExceededError, LLMError
from kgkit.extract import make_extractor
from kgkit.extract.base import Extractor
from kgkit.extract.llm_extractor import LLMExtractor
from kgkit.llm.testing import error_status, json_reply, reply, server_error, truncated
from kgkit.types import Chunk

from .conftest import rule_answer

DOC = "Intro line. Ada Lovelace was born in London. She worked with Charles Babbage."
OFFSET = 500  # the chunk starts at this offset of its document


def chunk(text: str = DOC, i: int = 0, start: int = OFFSET) -> Chunk:
    return Chunk(f"doc.txt#{i}", "doc.txt", i, text, start, start + len(text))


def fact(s="Ada Lovelace", p="bornIn", o="London", st="Person", ot="Place", ev="Ada Lovelace was born in London"):
    return {"subject": s, "subject_type": st, "predicate": p, "object": o, "object_type": ot, "evidence": ev}


@pytest.fixture
def make(server, make_client, ontology):
    def build(**kw) -> LLMExtractor:
        client_kw = kw.pop("client_kw", {})
        return LLMExtractor(ontology=ontology, client=make_client(**client_kw), **kw)
    return build


def test_registered_and_protocol(server, tmp_path):
    ex = make_extractor("llm", base_url=server.base_url, model="m", cache_dir=tmp_path)
    assert isinstance(ex, Extractor) and ex.name == "llm" and "m" in ex.version
    assert server.requests == []  # constructing does no I/O


def test_extracts_typed_triples_with_document_spans(server, make):
    server.push(json_reply({"facts": [fact()]}))
    [r] = make().extract([chunk()])
    assert r.ok and len(r.triples) == 1
    t = r.triples[0]
    assert (t.subject.type, t.predicate, t.object.type) == ("Person", "bornIn", "Place")
    span = t.provenance.span
    assert span is not None and DOC[span.start - OFFSET:span.end - OFFSET] == "Ada Lovelace was born in London"
    assert t.provenance.chunk_id == "doc.txt#0" and t.provenance.extractor == "llm"
    assert {e.name for e, _ in r.mentions} == {"Ada Lovelace", "London"}
    body = server.requests[0].body
    assert body["response_format"]["type"] == "json_schema"
    schema = body["response_format"]["json_schema"]["schema"]
    assert "bornIn" in schema["properties"]["facts"]["items"]["properties"]["predicate"]["enum"]
    assert "Person -> Place" in body["messages"][0]["content"]


def test_unspanned_kept_with_lower_confidence_or_dropped(server, make):
    answer = {"facts": [fact(ev="completely invented sentence about someone")]}
    server.push(json_reply(answer), json_reply(answer))
    [kept] = make(unspanned="keep").extract([chunk()])
    assert kept.triples[0].provenance.span is None and kept.triples[0].confidence < 0.9 * 0.6
    [dropped] = make(unspanned="drop", client_kw={"cache_dir": None}).extract([chunk()])
    assert dropped.ok and dropped.triples == () and dropped.stats["unspanned_dropped"] == 1


def test_off_ontology_dropped_or_flagged(server, make):
    answer = {"facts": [fact(p="admired", o="Charles Babbage", ot="Person", ev="She worked with Charles Babbage"),
                        fact(p="bornIn", o="London", ot="Person")]}  # range violation
    server.push(json_reply(answer), json_reply(answer))
    [dropped] = make(off_ontology="drop").extract([chunk()])
    assert dropped.triples == () and dropped.stats["off_ontology_dropped"] == 2
    [flagged] = make(off_ontology="flag").extract([chunk()])
    assert {t.predicate for t in flagged.triples} == {"admired", "bornIn"}
    assert all(t.confidence <= 0.5 for t in flagged.triples)
    # a flagging extractor sends an open schema (no enum), so the model may propose new relations
    assert "enum" not in json.dumps(server.requests[-1].body["response_format"])


def test_aliases_and_case_resolve_to_ontology_names(server, make):
    server.push(json_reply({"facts": [fact(p="born in", st="person", ot="location")]}))
    [r] = make().extract([chunk()])
    assert [(t.subject.type, t.predicate, t.object.type) for t in r.triples] == [("Person", "bornIn", "Place")]


def test_malformed_then_reask_succeeds(server, make):
    server.push(reply("Sure! The facts are: Ada was born in London."), json_reply({"facts": [fact()]}))
    [r] = make().extract([chunk()])
    assert r.ok and len(r.triples) == 1 and r.stats["reasked"] == 1
    reask = server.requests[1].messages
    assert reask[-2]["role"] == "assistant" and "could not be used" in reask[-1]["content"]


def test_truncated_answer_is_repaired_without_reask(server, make):
    two = {"facts": [fact(), fact(s="Charles Babbage", p="spouse", o="Ada Lovelace", st="Person", ot="Person",
                                  ev="She worked with Charles Babbage")]}
    server.push(truncated(two, keep=0.8), json_reply(two))
    [r] = make().extract([chunk()])
    # the whole first fact is kept without a re-ask; one continuation call brings the rest
    assert r.ok and len(r.triples) == 2 and "reasked" not in r.stats and r.stats["continued"] == 1
    assert len(server.requests) == 2 and server.requests[1].messages[-1]["role"] == "user"
    # a cut-off answer whose continuation is unusable sends the chunk to the quarantine
    server.push(truncated(two, keep=0.8), reply("no more JSON, sorry"))
    [bad] = make(client_kw={"cache_dir": None}).extract([chunk()])
    assert not bad.ok and "continuation" in bad.error


def test_failing_chunk_is_reported_and_not_cached(server, make):
    server.push(reply("nope"), reply("still nope"))
    ex = make()
    [r] = ex.extract([chunk()])
    assert not r.ok and "after repair and one re-ask" in r.error
    server.push(json_reply({"facts": [fact()]}))
    [again] = ex.extract([chunk()])  # the bad answers were not cached: this asks again
    assert again.ok and len(again.triples) == 1 and len(server.requests) == 3


def test_on_error_modes(server, make):
    server.push(*[server_error(500)] * 2)
    [r] = make(client_kw={"max_retries": 1}).extract([chunk()])
    assert not r.ok and r.error.startswith("LLM call failed")
    server.push(*[server_error(500)] * 2)
    [s] = make(on_error="skip", client_kw={"max_retries": 1}).extract([chunk()])
    assert s.ok and s.triples == () and s.stats["skipped"] == 1
    server.push(*[server_error(500)] * 2)
    with pytest.raises(LLMError):
        make(on_error="raise", client_kw={"max_retries": 1}).extract([chunk()])


def test_gleaning_adds_missed_facts(server, make):
    babbage = fact(s="Ada Lovelace", p="spouse", o="Charles Babbage", ot="Person", ev="She worked with Charles Babbage")
    server.push(json_reply({"facts": [fact()]}), json_reply({"facts": [babbage]}), json_reply({"facts": []}))
    ex = make(gleaning=3)
    [r] = ex.extract([chunk()])
    assert len(r.triples) == 2 and r.stats["gleaned"] == 1
    assert len(server.requests) == 3  # stopped once a pass found nothing new
    assert ex.client.stats.stages["glean"].calls == 2


def test_json_schema_fallback_to_json_mode(server, make):
    server.push(error_status(400, "response_format type json_schema is unavailable"), json_reply({"facts": [fact()]}))
    ex = make()
    [r] = ex.extract([chunk()])
    assert r.ok and ex.structured_output == "json_object"
    assert server.requests[1].body["response_format"] == {"type": "json_object"}


def test_budget_propagates_and_finished_chunks_are_cached(server, make):
    server.handler = rule_answer
    chunks = [chunk(f"Ada Lovelace was born in London{'.' * i}", i) for i in range(6)]
    ex = make(max_tokens=200)
    per_call = ex.client.estimate(
        [{"role": "system", "content": ""}], max_tokens=200).completion_tokens + ex.estimate(chunks[:1])["prompt_tokens"]
    ex.client.budget.tokens = int(per_call * 2.5)
    with pytest.raises(BudgetExceededError):
        ex.extract(chunks)
    done = len(server.requests)
    assert 1 <= done < 6
    assert ex.client.budget.spent_tokens <= ex.client.budget.tokens
    # later, with more budget: finished chunks come from the cache, only the rest is asked
    ex.client.budget.tokens = None
    results = ex.extract(chunks)
    assert all(r.ok for r in results)
    assert len(server.requests) == 6


def test_estimate_counts_calls_and_skips_cached(server, make):
    server.handler = rule_answer
    ex = make(gleaning=1, max_tokens=100)
    chunks = [chunk(DOC + " " * i, i=i) for i in range(3)]
    est = ex.estimate(chunks)
    assert est["calls"] == 6 and est["completion_tokens"] == 600 and est["cached_chunks"] == 0
    assert est["prompt_tokens"] > 3 * len(DOC) / 4
    assert server.requests == []  # estimating is free
    ex.extract(chunks[:1])
    assert ex.estimate(chunks)["cached_chunks"] == 1
    # the cache is content-addressed: the same text in another chunk or document is free too
    assert ex.estimate([chunk(i=7, start=0)])["cached_chunks"] == 1
