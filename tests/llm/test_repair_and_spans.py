from __future__ import annotations

import json

import pytest

from kgkit.llm.json_repair import OutputParseError, loads_lenient, repair_json
from kgkit.extract.llm_spans import find_quote

FACTS = {"facts": [
    {"subject": "Ada Lovelace", "predicate": "bornIn", "object": "London", "evidence": "Ada was born in London"},
    {"subject": "Alan Turing", "predicate": "bornIn", "object": "Maida Vale", "evidence": "Turing, born in Maida Vale"},
]}


@pytest.mark.parametrize("text", [
    json.dumps(FACTS),
    "Here you go:\n```json\n" + json.dumps(FACTS) + "\n```\nHope this helps!",
    json.dumps(FACTS).replace("}]}", "},]}"),  # trailing comma
])
def test_recoverable_answers(text):
    value, _ = loads_lenient(text)
    assert value == FACTS


def test_python_literals_and_single_quotes():
    assert loads_lenient("{'ok': True, 'n': None}")[0] == {"ok": True, "n": None}


def test_truncated_answer_keeps_whole_facts_only():
    text = json.dumps(FACTS)
    cut = text[: text.index("Maida") + 3]  # cut inside the second fact's object
    value, repaired = loads_lenient(cut)
    assert repaired
    assert value["facts"][0] == FACTS["facts"][0]
    # the half-written string is never closed into a wrong value
    assert all("Mai" != f.get("object") for f in value["facts"])


@pytest.mark.parametrize("text", ["", "I cannot help with that.", '{"facts": [{"sub'])
def test_unrecoverable(text):
    assert repair_json(text) is None or text.startswith('{"facts": [{"sub')
    with pytest.raises(OutputParseError):
        loads_lenient(text)


TEXT = "In 1815 Ada Lovelace was born in London. She later worked with Charles Babbage."


def test_quote_exact_normalized_fuzzy_and_missing():
    m = find_quote(TEXT, "Ada Lovelace was born in London")
    assert (m.method, TEXT[m.start:m.end]) == ("exact", "Ada Lovelace was born in London")
    m = find_quote(TEXT, '"ada lovelace  was BORN in london"')
    assert m.method == "normalized" and TEXT[m.start:m.end] == "Ada Lovelace was born in London"
    m = find_quote(TEXT, "She later worked together with Charles Babbage")
    assert m.method == "fuzzy" and 0.85 <= m.score < 1
    assert TEXT[m.start:m.end].startswith("She") and TEXT[m.start:m.end].rstrip(".").endswith("Babbage")
    assert find_quote(TEXT, "Grace Hopper invented the compiler") is None
    assert find_quote(TEXT, "") is None
