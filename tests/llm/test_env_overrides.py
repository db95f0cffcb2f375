"""KGKIT_LLM_* override the pipeline file (pipelines/llm-local.yaml names Ollama's URL); CLI options win over both."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kgkit.api import KnowledgeGraph
from kgkit.cli.main import app
from kgkit.llm.client import env_overrides

from .conftest import rule_answer
from .test_ingest_llm import make_corpus

LOCAL = Path(__file__).resolve().parents[2] / "pipelines" / "llm-local.yaml"
VARS = ("KGKIT_LLM_BASE_URL", "KGKIT_LLM_API_KEY", "KGKIT_LLM_MODEL", "KGKIT_LLM_CACHE")


def test_env_overrides_names_only_set_variables() -> None:
    env = {"KGKIT_LLM_BASE_URL": "http://gpu-box:8000/v1", "KGKIT_LLM_MODEL": " ", "OPENAI_MODEL": "gpt"}
    assert env_overrides(env) == {"base_url": "http://gpu-box:8000/v1"}


def test_pipeline_values_apply_without_environment(monkeypatch, tmp_path) -> None:
    for var in VARS:
        monkeypatch.delenv(var, raising=False)
    kg = KnowledgeGraph(LOCAL, workdir=tmp_path / "w")
    assert kg.extractor.client.base_url == "http://localhost:11434/v1"
    assert kg.extractor.client.model == "llama3.1:8b"


def test_environment_overrides_the_pipeline_and_cli_options_override_both(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("KGKIT_LLM_BASE_URL", "http://gpu-box:8000/v1")
    monkeypatch.setenv("KGKIT_LLM_MODEL", "qwen2.5:7b")
    monkeypatch.setenv("KGKIT_LLM_CACHE", str(tmp_path / "cache"))
    kg = KnowledgeGraph(LOCAL, workdir=tmp_path / "w")
    assert (kg.extractor.client.base_url, kg.extractor.client.model) == ("http://gpu-box:8000/v1", "qwen2.5:7b")
    assert Path(kg.extractor.client.cache.directory) == tmp_path / "cache"
    kg2 = KnowledgeGraph(LOCAL, workdir=tmp_path / "w", extractor_overrides={"model": "from-cli"})
    assert kg2.extractor.client.model == "from-cli"


def test_cli_ingest_with_llm_local_talks_to_the_endpoint_of_the_environment(monkeypatch, tmp_path, server) -> None:
    make_corpus(tmp_path / "docs", docs=2, sentences=2)
    server.handler = rule_answer
    monkeypatch.setenv("KGKIT_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("KGKIT_LLM_MODEL", "scripted")
    monkeypatch.setenv("KGKIT_LLM_CACHE", str(tmp_path / "cache"))
    res = CliRunner().invoke(app, ["ingest", str(tmp_path / "docs"), "--pipeline", str(LOCAL),
                                   "--workdir", str(tmp_path / "w"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert server.chat_requests and all(r.body["model"] == "scripted" for r in server.chat_requests)
