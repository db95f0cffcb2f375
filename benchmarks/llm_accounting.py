"""Cost and time accounting of LLM extraction, measured against the local scripted endpoint.

No model is reachable here, so the endpoint is kgkit.llm.testing.ScriptedLLMServer (real HTTP, the
real openai client). Its "model" answers each chunk with the facts the offline spaCy extractor finds in
it, formatted as the LLM extractor's JSON, so answers have a realistic shape and size. Token counts
are the server's estimate (4 characters a token), not a real tokenizer's. Figures measured:

1. a clean ingest of the corpus: calls, chunks, calls per chunk, prompt/completion tokens per document,
   wall time, cost at the prices given (default: gpt-4o-mini list prices, an assumption);
2. the dry-run estimate (upper bound) against what the run really used;
3. a re-run with a fresh ledger: endpoint calls (expected 0: every answer is cached) and wall time;
4. a faulty endpoint (10 % malformed, 10 % cut-off, 10 % 429 with Retry-After): extra calls, retries,
   re-asks, quarantined chunks, and the retry-failed rounds needed to drain the quarantine;
5. one gleaning pass: calls per chunk.

Usage::

    flock /tmp/kgkit-heavy.lock python benchmarks/llm_accounting.py [--corpus data/sample] [--latency 0.0]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

_TEXT = re.compile(r'Text:\n"""\n(.*)\n"""', re.DOTALL)


def spacy_answers(corpus: Path, chunker) -> dict[str, str]:
    """chunk text -> JSON answer made of the spaCy extractor's facts for that chunk."""
    from kgkit.extract import make_extractor
    from kgkit.ingest.readers import read_document, scan_folder

    ex = make_extractor("spacy")
    ex.warm_up()
    chunks = [c for f in scan_folder(corpus, ["**/*.txt", "**/*.md", "**/*.html"], []) for c in chunker.chunk(read_document(f))]
    answers = {}
    for c, r in zip(chunks, ex.extract(chunks)):
        facts = []
        for t in r.triples:
            s = t.provenance.span
            facts.append({"subject": t.subject.name, "subject_type": t.subject.type, "predicate": t.predicate,
                          "object": t.object.name, "object_type": t.object.type,
                          "evidence": c.text[s.start - c.start: s.end - c.start] if s else t.evidence})
        answers[c.text] = json.dumps({"facts": facts})
    return answers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(REPO / "data" / "sample"))
    ap.add_argument("--max-chars", type=int, default=3000, help="chunk size (pipelines/llm-openai.yaml uses 3000)")
    ap.add_argument("--latency", type=float, default=0.0, help="simulated seconds per answer")
    ap.add_argument("--price-prompt", type=float, default=0.15, help="per million prompt tokens")
    ap.add_argument("--price-completion", type=float, default=0.60, help="per million completion tokens")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--out", default=None, help="JSON output (default benchmarks/results/llm_accounting.json)")
    args = ap.parse_args()

    from kgkit.extract.llm_extractor import LLMExtractor
    from kgkit.ingest.chunking import SentenceChunker
    from kgkit.ingest.ledger import Ledger
    from kgkit.llm import LLMClient
    from kgkit.llm.testing import Scripted, ScriptedLLMServer, chaos_handler
    from kgkit.ontology import load_ontology
    from kgkit.pipeline import ingest_folder, retry_failed
    from kgkit.store.embedded import FalkorDBStore

    corpus = Path(args.corpus)
    chunker = SentenceChunker(max_chars=args.max_chars)
    onto = load_ontology()
    answers = spacy_answers(corpus, chunker)

    def answer(req) -> str:
        for m in req.messages:
            found = _TEXT.search(str(m.get("content", "")))
            if found:
                # gleaning / continuation passes: the stand-in model has nothing more to add
                return answers.get(found.group(1), '{"facts": []}') if req.messages[-1] is m else '{"facts": []}'
        return '{"facts": []}'

    def plain(req):
        return Scripted(200, answer(req), delay=args.latency)

    work = Path(tempfile.mkdtemp(prefix="kgkit-llm-bench-"))
    figures: dict[str, object] = {"corpus": str(corpus), "chunk_max_chars": args.max_chars, "latency_s": args.latency}

    def extractor(server, cache: Path, **kw) -> LLMExtractor:
        client = LLMClient(base_url=server.base_url, api_key="bench", model="scripted", cache_dir=cache,
                           max_concurrency=args.concurrency, backoff_base=0.05,
                           price_prompt_per_mtok=args.price_prompt, price_completion_per_mtok=args.price_completion)
        return LLMExtractor(ontology=onto, client=client, **kw)

    with FalkorDBStore(data_dir=work / "db") as store, ScriptedLLMServer(handler=plain) as server:
        ex = extractor(server, work / "cache")
        dry = ingest_folder(corpus, store=store, extractor=ex, ontology=onto, ledger=Ledger(work / "l0.sqlite"),
                            chunker=chunker, dry_run=True)
        t0 = time.perf_counter()
        rep = ingest_folder(corpus, store=store, extractor=ex, ontology=onto, ledger=Ledger(work / "l1.sqlite"), chunker=chunker)
        wall = time.perf_counter() - t0
        st = ex.client.stats
        docs, chunks = rep.processed, rep.chunks
        figures["clean"] = {
            "documents": docs, "chunks": chunks, "calls": st.calls, "calls_per_chunk": round(st.calls / chunks, 3),
            "prompt_tokens_per_doc": round(st.prompt_tokens / docs, 1),
            "completion_tokens_per_doc": round(st.completion_tokens / docs, 1),
            "tokens_per_chunk": round(st.total_tokens / chunks, 1), "facts": rep.triples, "failed_chunks": rep.failed_chunks,
            "cost": round(st.cost, 6), "cost_per_1000_docs": round(st.cost / docs * 1000, 4), "wall_s": round(wall, 2),
            "endpoint_seconds_summed": round(st.as_dict()["total"]["seconds"], 2),
            # > 1 means calls overlapped: the summed time of all calls over the run's wall time
            "effective_parallelism": round(st.as_dict()["total"]["seconds"] / max(wall, 1e-9), 2),
        }
        est = dry.dry_run_estimate or {}
        figures["dry_run_estimate"] = {k: est.get(k) for k in ("calls", "prompt_tokens", "completion_tokens", "tokens", "cost")}
        figures["dry_run_estimate"]["prompt_estimate_over_actual"] = round(est.get("prompt_tokens", 0) / max(1, st.prompt_tokens), 3)
        figures["dry_run_estimate"]["total_estimate_over_actual"] = round(est.get("tokens", 0) / max(1, st.total_tokens), 3)

        before = len(server.requests)
        ex2 = extractor(server, work / "cache")
        t0 = time.perf_counter()
        rep2 = ingest_folder(corpus, store=store, extractor=ex2, ontology=onto, ledger=Ledger(work / "l2.sqlite"), chunker=chunker)
        figures["rerun_fresh_ledger"] = {"processed": rep2.processed, "endpoint_calls": len(server.requests) - before,
                                         "cache_hits": ex2.client.stats.cache_hits, "wall_s": round(time.perf_counter() - t0, 2),
                                         "facts": rep2.triples}

        server.handler = chaos_handler(answer, malformed_rate=0.1, partial_rate=0.1, rate_limit_rate=0.1, retry_after=0.05, seed=1)
        ex3 = extractor(server, work / "cache-chaos")
        ledger = Ledger(work / "l3.sqlite")
        t0 = time.perf_counter()
        rep3 = ingest_folder(corpus, store=store, extractor=ex3, ontology=onto, ledger=ledger, chunker=chunker)
        quarantined = len(ledger.failures())
        rounds = 0
        while ledger.failures() and rounds < 10:
            retry_failed(store=store, extractor=ex3, ledger=ledger)
            rounds += 1
        s3 = ex3.client.stats.as_dict()
        figures["faulty_endpoint"] = {
            "chunks": rep3.chunks, "http_requests": s3["total"]["calls"] + s3["total"]["retries"],
            "successful_calls": s3["total"]["calls"], "retries": s3["total"]["retries"],
            "reask_calls": s3["stages"].get("reask", {}).get("calls", 0),
            "continue_calls": s3["stages"].get("continue", {}).get("calls", 0),
            "calls_per_chunk": round(s3["total"]["calls"] / rep3.chunks, 3),
            "quarantined_after_ingest": quarantined, "retry_failed_rounds_to_drain": rounds,
            "left_in_quarantine": len(ledger.failures()),
            "tokens_over_clean_run": round(s3["total"]["total_tokens"] / max(1, st.total_tokens), 3),
            "wall_s": round(time.perf_counter() - t0, 2),
        }

        server.handler = plain
        ex4 = extractor(server, work / "cache-glean", gleaning=1)
        rep4 = ingest_folder(corpus, store=store, extractor=ex4, ontology=onto, ledger=Ledger(work / "l4.sqlite"), chunker=chunker)
        s4 = ex4.client.stats
        figures["gleaning_1"] = {"calls_per_chunk": round(s4.calls / rep4.chunks, 3),
                                 "tokens_over_clean_run": round(s4.total_tokens / max(1, st.total_tokens), 3)}

    print(json.dumps(figures, indent=2))
    out = Path(args.out) if args.out else REPO / "benchmarks" / "results" / "llm_accounting.json"
    out.write_text(json.dumps({"command": " ".join(sys.argv), "figures": figures}, indent=2), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
