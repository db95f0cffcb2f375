from __future__ import annotations

import json
from pathlib import Path
import re

import pytest
from typer.testing import CliRunner

from kgkit.cli.main import app
from kgkit.eval.kgqa import ReasonerFactory, evaluate, read_metaqa
from kgkit.llm import LLMClient
from kgkit.llm.testing import ScriptedLLMServer
from kgkit.reason.llm_answer import CitationError, LLMAnswerer, parse_reply
from kgkit.reason.reasoner import Reasoner
from kgkit.types import Entity, Provenance, Span, Triple

FACT = re.compile(r"^\[(f:[0-9a-f]+)\] (.+?) -- (\S+) --> (.+)$", re.M)


def honest(request) -> str:
    """Answers with the object of the first listed fact and cites it."""
    m = FACT.search(request.prompt_text)
    if not m:
        return json.dumps({"answers": [], "citations": []})
    return json.dumps({"answers": [m.group(4)], "citations": [m.group(1)]})


def liar(request) -> str:
    return "Sure: ```json\n" + json.dumps({"answers": ["Somebody"], "citations": ["f:00000000deadbeef0000"]}) + "\n```"


def test_llm_answer_cites_facts_of_the_subgraph(movies):
    ans = Reasoner(movies).ask("who is the director of [Heat]")
    with ScriptedLLMServer(handler=honest) as server:
        client = LLMClient(base_url=server.base_url, api_key="t", model="scripted")
        out = LLMAnswerer(client).answer(ans)
        assert "Facts:" in server.requests[0].prompt_text
    assert out.answers == ["Michael Mann"]
    assert out.citations and set(out.citations) <= ans.subgraph.fact_ids
    assert out.invalid_citations == []


@pytest.mark.parametrize("policy", ["raise", "drop", "collect"])
def test_invented_citations_are_caught(movies, policy):
    ans = Reasoner(movies).ask("who is the director of [Heat]")
    with ScriptedLLMServer(handler=liar) as server:
        client = LLMClient(base_url=server.base_url, api_key="t", model="scripted", max_retries=0)
        answerer = LLMAnswerer(client, on_invalid=policy)
        if policy == "raise":
            with pytest.raises(CitationError, match="not in the subgraph"):
                answerer.answer(ans)
            return
        out = answerer.answer(ans)
    assert out.invalid_citations == ["f:00000000deadbeef0000"]
    assert out.citations == ([] if policy == "drop" else ["f:00000000deadbeef0000"])


def test_parse_reply_rejects_prose():
    from kgkit.errors import LLMError

    with pytest.raises(LLMError, match="no JSON"):
        parse_reply("I think it is Michael Mann.")
    assert parse_reply('x {"answers": ["a"], "citations": ["f:1"]} y') == (["a"], ["f:1"])


def test_eval_with_llm(movies, data_dir):
    items = read_metaqa(data_dir / "qa_test.txt")[:3]
    with ScriptedLLMServer(handler=honest) as server:
        client = LLMClient(base_url=server.base_url, api_key="t", model="scripted")
        rep = evaluate(items, ReasonerFactory(movies), llm_answerer=LLMAnswerer(client, on_invalid="collect"))
    assert rep.llm and rep.llm_hits_at_1 is not None and rep.llm_invalid_citations == 0
    assert rep.questions == 3


def test_cli_eval_kgqa_metaqa(data_dir, tmp_path):
    scorer = tmp_path / "scorer.npz"
    res = CliRunner().invoke(app, [
        "eval", "kgqa", "--kb", str(data_dir / "kb.txt"), "--questions", str(data_dir / "qa_test.txt"),
        "--train", str(data_dir / "qa_train.txt"), "--tune-fraction", "0", "--save-scorer", str(scorer), "--json",
    ])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)[0]  # nothing but JSON on stdout
    assert rep["questions"] == 6 and rep["hits_at_1"] >= 80.0 and rep["latency_p95_ms"] > 0
    assert rep["scorer"].startswith("learned, trained on") and "scorer: learned" in res.stderr
    assert scorer.is_file()


def test_cli_eval_kgqa_several_files_zero_shot_and_plain_table(data_dir):
    q, q2 = str(data_dir / "qa_test.txt"), str(data_dir / "qa_train.txt")
    for args in (["--questions", q, q2], ["--questions", f"{q},{q2}"], ["--questions", q, "--questions", q2]):
        res = CliRunner().invoke(app, ["eval", "kgqa", "--kb", str(data_dir / "kb.txt"), *args, "--json"])
        assert res.exit_code == 0, res.output
        reps = json.loads(res.stdout)
        assert [Path(r["name"]).name for r in reps] == ["qa_test.txt", "qa_train.txt"]
        assert reps[0]["scorer"] == "lexical (zero-shot: no --train given)"
    assert "zero-shot" in res.stderr
    res = CliRunner().invoke(app, ["eval", "kgqa", "--kb", str(data_dir / "kb.txt"), "--questions", q])
    assert res.exit_code == 0, res.output
    row = next(line for line in res.stdout.splitlines() if "qa_test.txt" in line)
    assert "…" not in res.stdout and row.startswith("| ") and f"| {reps[0]['hits_at_1']:.2f} |" in row


def test_cli_eval_kgqa_over_a_workdir_graph(tmp_path):
    from kgkit.store.embedded import FalkorDBStore

    with FalkorDBStore(data_dir=tmp_path / "falkordb") as s:
        s.write_triples([
            _triple("Marie Curie", "Person", "bornIn", "Warsaw", "Place", "curie.md", "Marie Curie was born in Warsaw."),
            _triple("Warsaw", "Place", "locatedIn", "Poland", "Place", "warsaw.md", "Warsaw is in Poland."),
        ])
    qf = tmp_path / "q.txt"
    qf.write_text("where was [Marie Curie] born\tWarsaw\nwhere is [Warsaw] located\tPoland\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["eval", "kgqa", "--workdir", str(tmp_path), "--questions", str(qf), "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)[0]
    assert rep["questions"] == 2 and rep["hits_at_1"] == 100.0 and rep["scorer"].startswith("lexical")
    both = CliRunner().invoke(app, ["eval", "kgqa", "--workdir", str(tmp_path), "--kb", str(qf), "--questions", str(qf)])
    assert both.exit_code == 1 and "not both" in both.stderr


def test_cli_eval_kgqa_json_format(data_dir):
    res = CliRunner().invoke(app, ["eval", "kgqa", "--format", "json", "--questions", str(data_dir / "webqsp_small.json"),
                                   "--train", str(data_dir / "webqsp_small.json"), "--tune-fraction", "0", "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)[0]
    assert rep["questions"] == 4 and rep["hits_at_1"] == 100.0 and rep["retrieval_recall"] == 100.0


def test_cli_errors_are_one_line(tmp_path):
    res = CliRunner().invoke(app, ["eval", "kgqa", "--kb", str(tmp_path / "nope.txt"), "--questions", str(tmp_path / "q.txt")])
    assert res.exit_code == 1
    assert "not found" in res.output and "Traceback" not in res.output


def _triple(s: str, st: str, p: str, o: str, ot: str, doc: str, text: str) -> Triple:
    prov = Provenance(doc, doc + "#0", Span(0, len(text)), "test", "1")
    return Triple(Entity(s, st), p, Entity(o, ot), prov, text)


def test_cli_ask_against_the_store(tmp_path):
    from kgkit.store.embedded import FalkorDBStore

    with FalkorDBStore(data_dir=tmp_path / "falkordb") as s:
        s.write_triples([
            _triple("Marie Curie", "Person", "bornIn", "Warsaw", "Place", "curie.md", "Marie Curie was born in Warsaw."),
            _triple("Warsaw", "Place", "locatedIn", "Poland", "Place", "warsaw.md", "Warsaw is in Poland."),
        ])
    res = CliRunner().invoke(app, ["ask", "where was Marie Curie born", "--workdir", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout[res.stdout.index("{"):])
    assert data["answer"] == "Warsaw"
    assert data["paths"][0]["path"] == "bornIn"
    assert data["cited"] and data["cited"][0]["sources"][0]["document"] == "curie.md"
    res = CliRunner().invoke(app, ["ask", "where was [Marie Curie] born", "--workdir", str(tmp_path)])
    assert res.exit_code == 0 and "Warsaw" in res.stdout and "curie.md" in res.stdout
