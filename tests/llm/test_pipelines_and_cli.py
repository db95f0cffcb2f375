"""The shipped LLM pipelines build their extractor; the small `kgkit llm` commands work."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgkit.cli.main import app
from kgkit.config import load_pipeline
from kgkit.extract import make_extractor
from kgkit.extract.llm_extractor import LLMExtractor
from kgkit.ontology import load_ontology

PIPELINES = sorted((Path(__file__).resolve().parents[2] / "pipelines").glob("llm-*.yaml"))


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_llm_pipelines_build_their_extractor_without_io(path, tmp_path):
    cfg = load_pipeline(path)
    assert cfg.extractor["name"] == "llm"
    kwargs = {**cfg.extractor_kwargs(), "cache_dir": tmp_path}
    ex = make_extractor("llm", ontology=load_ontology(cfg.ontology), **kwargs)
    assert isinstance(ex, LLMExtractor) and ex.client.model
    assert ex.estimate([])["calls"] == 0


def test_two_pipelines_exist():
    assert {p.name for p in PIPELINES} >= {"llm-openai.yaml", "llm-local.yaml"}


def test_llm_check_and_cache_commands(server, tmp_path):
    server.push('{"ok": true}')
    res = CliRunner().invoke(app, ["llm", "check", "--base-url", server.base_url, "--model", "scripted"])
    assert res.exit_code == 0 and "answer='{\"ok\": true}'" in res.output
    from kgkit.llm import LLMClient

    server.push("cached")
    LLMClient(base_url=server.base_url, api_key="t", model="m", cache_dir=tmp_path).complete([{"role": "user", "content": "x"}])
    res = CliRunner().invoke(app, ["llm", "cache", "--cache-dir", str(tmp_path)])
    assert res.exit_code == 0 and "1 cached answers" in res.output
    res = CliRunner().invoke(app, ["llm", "cache", "--cache-dir", str(tmp_path), "--clear"])
    assert "cleared 1" in res.output and not tmp_path.exists()


def test_llm_check_without_endpoint_fails_cleanly(monkeypatch):
    for var in ("KGKIT_LLM_BASE_URL", "OPENAI_BASE_URL", "KGKIT_LLM_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    res = CliRunner().invoke(app, ["llm", "check", "--model", "m"])
    assert res.exit_code == 1 and "KGKIT_LLM_BASE_URL" in res.output
