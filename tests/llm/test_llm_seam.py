"""One LLM seam: one settings resolution, one on_error vocabulary, one JSON parser, one settings object."""

from __future__ import annotations

import inspect
import re
import warnings
from pathlib import Path

import pytest
import yaml

from kgkit.api import KnowledgeGraph
from kgkit.errors import ConfigError, LLMError
from kgkit.extract.llm_extractor import LLMExtractor, LLMExtractorSettings
from kgkit.fuse.adjudicate import llm_adjudicator
from kgkit.fuse.scoring import EntityView, PairScore
from kgkit.llm import LLMClient
from kgkit.llm.settings import check_on_error, resolve_llm_settings
from kgkit.reason.llm_answer import LLMAnswerer, parse_reply
from kgkit.reason.reasoner import Answer

REPO = Path(__file__).resolve().parents[2]
ENV = ("KGKIT_LLM_BASE_URL", "KGKIT_LLM_API_KEY", "KGKIT_LLM_MODEL", "KGKIT_LLM_CACHE", "OPENAI_BASE_URL",
       "OPENAI_API_KEY", "OPENAI_MODEL")


@pytest.fixture
def clean_env(monkeypatch):
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_one_precedence_for_every_setting() -> None:
    env = {"KGKIT_LLM_MODEL": "kgkit-env", "OPENAI_MODEL": "openai-env", "OPENAI_API_KEY": "sk-env",
           "OPENAI_BASE_URL": "http://openai-env/v1", "KGKIT_LLM_CACHE": "/tmp/c"}
    pipe = {"model": "pipe", "base_url": "http://pipe/v1", "api_key": None, "temperature": 0.0}
    s = resolve_llm_settings(pipeline=pipe, environ=env)
    assert (s["model"], s["base_url"], s["api_key"], s["cache_dir"]) == ("kgkit-env", "http://pipe/v1", "sk-env", "/tmp/c")
    assert s["temperature"] == 0.0  # other keys pass through
    s = resolve_llm_settings(explicit={"model": "cli", "base_url": ""}, pipeline=pipe, environ=env)
    assert (s["model"], s["base_url"]) == ("cli", "http://pipe/v1")  # an empty option is "not given"
    assert resolve_llm_settings(environ={"OPENAI_MODEL": "o"})["model"] == "o"


def test_client_extractor_labeler_and_adjudicator_read_the_same_environment(clean_env, tmp_path) -> None:
    clean_env.setenv("KGKIT_LLM_MODEL", "from-env")
    clean_env.setenv("OPENAI_BASE_URL", "http://fallback/v1")
    assert (LLMClient().model, LLMClient().base_url) == ("from-env", "http://fallback/v1")
    assert LLMClient(model="explicit").model == "explicit"
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(yaml.safe_dump({"extractor": {"name": "llm", "model": "in-file", "cache_dir": str(tmp_path)}}),
                        encoding="utf-8")
    kg = KnowledgeGraph(pipeline, workdir=tmp_path / "w")
    assert kg.extractor.client.model == "from-env" and kg.extractor.client.base_url == "http://fallback/v1"
    judge = llm_adjudicator(model="in-fusion-section")
    assert judge is not None  # built through the same resolution: KGKIT_LLM_MODEL wins over fusion.llm
    src = (REPO / "kgkit" / "extract" / "trained" / "labeling.py").read_text(encoding="utf-8")
    assert "resolve_llm_settings(" in src


def test_only_the_settings_module_reads_llm_environment_variables() -> None:
    readers = [p.relative_to(REPO).as_posix() for p in (REPO / "kgkit").rglob("*.py")
               if re.search(r"environ(\.get)?\(?\[?[\"'](KGKIT_LLM|OPENAI)_", p.read_text(encoding="utf-8"))
               or re.search(r"envvar=\"(KGKIT_LLM|OPENAI)_", p.read_text(encoding="utf-8"))]
    assert readers == [], readers


@pytest.mark.parametrize("old, new", [("ignore", "skip"), ("warn", "skip"), ("quarantine", "collect"),
                                      ("error", "raise"), ("fail", "raise")])
def test_old_on_error_spellings_map_with_a_deprecation_warning(old, new) -> None:
    with pytest.warns(DeprecationWarning, match=f"write on_error='{new}'"):
        assert check_on_error(old) == new
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_on_error(new) == new
    with pytest.raises(ConfigError, match="raise, skip, collect"):
        check_on_error("sometimes")


def test_every_llm_caller_takes_the_same_vocabulary(server, tmp_path) -> None:
    with pytest.warns(DeprecationWarning):
        ex = LLMExtractor(base_url=server.base_url, model="m", cache_dir=tmp_path, on_error="ignore")
    assert ex.on_error == "skip"
    client = LLMClient(base_url=server.base_url, api_key="t", model="m", max_retries=0)
    for mode in ("raise", "skip", "collect"):
        assert LLMAnswerer(client, on_error=mode).on_error == mode
        llm_adjudicator(client, on_error=mode)
    with pytest.raises(ConfigError, match="raise, skip, collect"):
        llm_adjudicator(client, on_error="maybe")


def _answer() -> Answer:
    return Answer(question="Who?", entities=[], answers=[], paths=[])


def test_answerer_skip_and_collect(server) -> None:
    client = LLMClient(base_url=server.base_url, api_key="t", model="m", max_retries=0)
    server.push("no json here at all")
    assert LLMAnswerer(client, on_error="skip").answer(_answer()).error is None
    server.push("still no json")
    assert "no JSON" in (LLMAnswerer(client, on_error="collect").answer(_answer()).error or "")
    server.push("nope")
    with pytest.raises(LLMError, match="no JSON"):
        LLMAnswerer(client, on_error="raise").answer(_answer())


def _pair() -> tuple[EntityView, EntityView, PairScore]:
    a, b = EntityView("Person:1", "Ada Lovelace", "Person"), EntityView("Person:2", "A. Lovelace", "Person")
    return a, b, PairScore(a.id, b.id, 0.7, "name", {})


def test_adjudicator_collects_failures_and_repairs_answers(server) -> None:
    client = LLMClient(base_url=server.base_url, api_key="t", model="m", max_retries=0)
    judge = llm_adjudicator(client, on_error="collect")
    server.push("```json\n{\"same\": true,}\n```")  # fenced, trailing comma: repaired by loads_lenient
    assert judge(*_pair()) is True
    server.push("I'd say they are the same")
    assert judge(*_pair()) is None
    assert judge.failures and judge.failures[0][:2] == ("Person:1", "Person:2")


def test_one_json_parser_for_every_llm_caller() -> None:
    assert parse_reply('Sure: ```json\n{"answers": ["a",], "citations": ["f:1"]}\n```') == (["a"], ["f:1"])
    callers = ["kgkit/extract/llm_extractor.py", "kgkit/reason/llm_answer.py", "kgkit/fuse/adjudicate.py"]
    for path in callers:
        src = (REPO / path).read_text(encoding="utf-8")
        assert "loads_lenient(" in src and "json.loads(" not in src, path


def test_extractor_parameters_are_one_settings_object(tmp_path) -> None:
    params = [p for p in inspect.signature(LLMExtractor.__init__).parameters if p not in ("self", "kwargs")]
    assert params == ["ontology", "client", "settings", "policy"]
    s = LLMExtractorSettings(model="m", cache_dir=tmp_path, gleaning=2, on_error="raise")
    ex = LLMExtractor(settings=s)
    assert (ex.gleaning, ex.on_error, ex.client.model, ex.settings) == (2, "raise", "m", s)
    assert LLMExtractor(settings=s, gleaning=0).gleaning == 0  # keyword arguments override the object


def test_bad_extractor_settings_name_the_key_and_the_fix(tmp_path) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(yaml.safe_dump({"extractor": {"name": "llm", "model": "m", "glean": 1, "max_tokens": 0}}),
                        encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        KnowledgeGraph(pipeline, workdir=tmp_path / "w").extractor  # noqa: B018
    msg = str(info.value)
    assert str(pipeline) in msg and "extractor.glean: Extra inputs are not permitted" in msg
    assert "allowed: " in msg and "gleaning" in msg
    assert "extractor.max_tokens: Input should be greater than or equal to 1 (got 0)" in msg
