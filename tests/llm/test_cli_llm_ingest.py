"""The real CLI with an LLM pipeline: dry run, budget, quarantine, retry-failed."""

from __future__ import annotations

import re

import yaml
from typer.testing import CliRunner

from kgkit.cli.main import app
from kgkit.llm.testing import chaos_handler

from .conftest import rule_answer
from .test_ingest_llm import make_corpus


def pipeline(tmp_path, server, **extractor):
    cfg = {
        "name": "llm-test",
        "ontology": "default",
        "store": {"name": "falkordb", "data_dir": str(tmp_path / "db")},
        "chunking": {"max_chars": 120, "overlap_sentences": 0},
        "extractor": {"name": "llm", "base_url": server.base_url, "api_key": "t", "model": "scripted",
                      "cache_dir": str(tmp_path / "cache"),
                      "client_kwargs": {"backoff_base": 0.01, "max_concurrency": 4}, **extractor},
    }
    path = tmp_path / "llm.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def kgkit(*args):
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res.output


def test_cli_dry_run_budget_quarantine_and_retry_failed(tmp_path, server):
    make_corpus(tmp_path / "docs", docs=6, sentences=6)
    server.handler = rule_answer
    p = pipeline(tmp_path, server, reask=False, max_tokens=300)
    common = ["--pipeline", p, "--workdir", tmp_path / "work", "--no-progress"]

    out = kgkit("ingest", tmp_path / "docs", "--dry-run", *common)
    assert '"calls"' in out and server.requests == []
    estimated = int(re.search(r'"tokens": (\d+)', out).group(1))

    out = kgkit("ingest", tmp_path / "docs", "--budget", estimated // 3, *common)
    assert "budget reached" in out
    first = len(server.requests)
    assert first > 0

    server.handler = chaos_handler(rule_answer, malformed_rate=0.25, seed=5)
    out = kgkit("ingest", tmp_path / "docs", *common)
    assert "quarantined" in out
    listed = kgkit("failures", "--pipeline", p, "--workdir", tmp_path / "work")
    assert "unusable model output" in listed

    server.handler = rule_answer
    out = kgkit("retry-failed", "--pipeline", p, "--workdir", tmp_path / "work")
    assert re.search(r"(\d+) recovered", out) and "0 still failing" in out
    assert "no quarantined chunks" in kgkit("failures", "--pipeline", p, "--workdir", tmp_path / "work")
