"""Fixtures for the LLM area: a scripted endpoint and a rule-based stand-in "model"."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

import pytest

from kgkit.llm import LLMClient
from kgkit.llm.testing import LoggedRequest, ScriptedLLMServer
from kgkit.ontology import load_ontology

_BORN = re.compile(r"([A-Z][a-z]+ [A-Z][a-z]+) was born in ([A-Z][a-z]+)")
_TEXT = re.compile(r'Text:\n"""\n(.*)\n"""', re.DOTALL)


def chunk_text_of(request: LoggedRequest) -> str:
    """The chunk text inside an extraction prompt."""
    for m in request.messages:
        found = _TEXT.search(str(m.get("content", "")))
        if found:
            return found.group(1)
    return ""


def rule_answer(request: LoggedRequest) -> str:
    """What a perfect model would answer for texts made of "<First Last> was born in <City>." sentences.

    Gleaning and re-ask requests get the same facts (gleaning then finds nothing new).
    """
    text = chunk_text_of(request)
    facts = [
        {"subject": m.group(1), "subject_type": "Person", "predicate": "bornIn", "object": m.group(2),
         "object_type": "Place", "evidence": m.group(0)}
        for m in _BORN.finditer(text)
    ]
    return json.dumps({"facts": facts})


@pytest.fixture
def ontology():
    return load_ontology()


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as s:
        yield s


@pytest.fixture
def make_client(server: ScriptedLLMServer, tmp_path: Path):
    def make(**kwargs) -> LLMClient:
        kwargs.setdefault("cache_dir", tmp_path / "cache")
        kwargs.setdefault("backoff_base", 0.01)
        return LLMClient(base_url=server.base_url, api_key="test", model="scripted", **kwargs)

    return make
