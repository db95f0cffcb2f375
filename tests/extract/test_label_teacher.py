"""`kgkit extract label`: an LLM teacher labels a sample of chunks; faulty answers are quarantined; resume asks nothing twice."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from kgkit.cli.main import app
from kgkit.extract.trained import load_training_ontology, read_examples
from kgkit.llm.testing import LoggedRequest, ScriptedLLMServer, reply

_BORN = re.compile(r"([A-Z][a-z]+ [A-Z][a-z]+) was born in ([A-Z][a-z]+)")
_TEXT = re.compile(r'Text:\n"""\n(.*)\n"""', re.DOTALL)


def _answer(request: LoggedRequest) -> str:
    text = next((m.group(1) for msg in request.messages if (m := _TEXT.search(str(msg.get("content", ""))))), "")
    if "Broken" in text:
        return "I cannot answer that in JSON, sorry."  # faulty every time (re-ask included)
    facts = [{"subject": m.group(1), "subject_type": "Person", "predicate": "bornIn", "object": m.group(2),
              "object_type": "Place", "evidence": m.group(0)} for m in _BORN.finditer(text)]
    return json.dumps({"facts": facts})


def _corpus(root: Path) -> Path:
    docs = root / "docs"
    docs.mkdir()
    people = [("Ada Lovelace", "London"), ("Niels Bohr", "Copenhagen"), ("Marie Curie", "Warsaw"), ("Alan Turing", "London")]
    for k, (p, c) in enumerate(people):
        (docs / f"d{k}.txt").write_text(f"{p} was born in {c}.", encoding="utf-8")
    (docs / "bad.txt").write_text("Broken Record was born in Nowhere.", encoding="utf-8")
    return docs


def test_label_writes_examples_quarantines_faults_and_resumes_without_new_calls(tmp_path: Path) -> None:
    docs = _corpus(tmp_path)
    out = tmp_path / "examples.jsonl"
    runner = CliRunner()
    with ScriptedLLMServer(handler=lambda r: reply(_answer(r))) as server:
        pipe = tmp_path / "teacher.yaml"
        pipe.write_text(
            f"extractor: {{name: llm, base_url: '{server.base_url}', api_key: test, model: scripted, "
            f"structured_output: json_object, cache_dir: '{tmp_path / 'cache'}', "
            "client_kwargs: {backoff_base: 0.01, max_retries: 1}}\n",
            encoding="utf-8",
        )
        args = ["extract", "label", str(docs), "--pipeline", str(pipe), "--out", str(out), "--sample", "10", "--json"]
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        rep = json.loads(res.output)
        assert rep["sampled"] == 5 and rep["labelled"] == 4 and rep["quarantined"] == 1 and rep["triples"] == 4
        calls = len(server.requests)
        quarantined = [json.loads(x) for x in (tmp_path / "examples.jsonl.quarantine.jsonl").read_text().splitlines()]
        assert len(quarantined) == 1 and quarantined[0]["document"].endswith("bad.txt") and quarantined[0]["reason"]
        again = json.loads(runner.invoke(app, args).output)
        assert again["already_done"] == 5 and again["labelled"] == 0
        assert len(server.requests) == calls, "a resumed run must not call the teacher again"
    examples = read_examples(out, load_training_ontology("default"))
    assert {t for ex in examples for t in ex.triples} >= {("Ada Lovelace", "bornIn", "London"), ("Niels Bohr", "bornIn", "Copenhagen")}
