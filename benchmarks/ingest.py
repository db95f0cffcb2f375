"""Ingest benchmark for the offline path (spaCy extractor -> embedded FalkorDB).

Prints, in one run on the same text:
  * first ingest: docs/s, chunks/s, facts, peak RSS of the process;
  * the ceiling: bare spaCy ``nlp.pipe`` over the same chunk texts (chunks/s), and the ratio;
  * a re-run of the unchanged folder: seconds and its ratio to the first run;
  * embedded store write rate: rels/s for synthetic batched writes.

Usage:
    python benchmarks/ingest.py --copies 10 --facts 50000
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from kgkit.extract.spacy_extractor import SpacyExtractor
from kgkit.ingest.chunking import SentenceChunker
from kgkit.ingest.ledger import Ledger
from kgkit.ingest.readers import read_document, scan_folder
from kgkit.ontology import load_ontology
from kgkit.pipeline import ingest_folder
from kgkit.store.embedded import FalkorDBStore
from kgkit.types import Entity, Provenance, Span, Triple

REPO = Path(__file__).resolve().parent.parent


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_corpus(dst: Path, copies: int) -> None:
    for i in range(copies):
        shutil.copytree(REPO / "data" / "sample", dst / f"copy{i:03d}")


def bench_ingest(tmp: Path, copies: int) -> dict:
    corpus = tmp / "corpus"
    make_corpus(corpus, copies)
    onto = load_ontology()
    x = SpacyExtractor(onto)
    x.warm_up()
    out: dict = {}
    with FalkorDBStore(data_dir=tmp / "falkordb") as store:
        ledger = Ledger(tmp / "ledger.sqlite")
        t = time.perf_counter()
        r1 = ingest_folder(corpus, store=store, extractor=x, ontology=onto, ledger=ledger)
        first = time.perf_counter() - t
        out["documents"] = r1.processed
        out["chunks"] = r1.chunks
        out["facts_extracted"] = r1.triples
        out["first_run_s"] = round(first, 2)
        out["docs_per_s"] = round(r1.processed / first, 1)
        out["chunks_per_s"] = round(r1.chunks / first, 1)
        out["peak_rss_mb_after_ingest"] = round(_peak_rss_mb(), 1)
        t = time.perf_counter()
        r2 = ingest_folder(corpus, store=store, extractor=x, ontology=onto, ledger=ledger)
        rerun = time.perf_counter() - t
        assert r2.processed == 0
        out["rerun_s"] = round(rerun, 3)
        out["rerun_ratio_of_first"] = round(rerun / first, 4)
        stats = store.stats()
        out["graph"] = {"entities": stats.entities, "facts": stats.facts, "evidence": stats.evidence}
    # ceiling: bare spaCy over the same chunk texts
    chunker = SentenceChunker()
    texts = [c.text for f in scan_folder(corpus) for c in chunker.chunk(read_document(f))]
    t = time.perf_counter()
    for _ in x.nlp.pipe(texts, batch_size=64):
        pass
    bare = time.perf_counter() - t
    out["bare_spacy_chunks_per_s"] = round(len(texts) / bare, 1)
    out["ingest_vs_bare_spacy"] = round((r1.chunks / first) / (len(texts) / bare), 3)
    return out


def bench_writes(tmp: Path, n_facts: int, batch_size: int) -> dict:
    n_ent = max(2, n_facts // 3)
    ents = [Entity(f"Entity {i}", "Person" if i % 2 else "Organization") for i in range(n_ent)]
    rels = ["worksFor", "memberOf", "founded", "educatedAt"]
    triples = []
    for i in range(n_facts):
        s, o = ents[i % n_ent], ents[(i * 7 + 1 + i // n_ent) % n_ent]
        prov = Provenance(f"doc{i % 500}", f"doc{i % 500}#0", Span(0, 10), "bench", "1", 0.5)
        triples.append(Triple(s, rels[i % 4], o, prov, ""))
    with FalkorDBStore(data_dir=tmp / "writes", batch_size=batch_size) as store:
        t = time.perf_counter()
        res = store.write_triples(triples)
        dt = time.perf_counter() - t
        facts = store.stats().facts
    return {"facts_written": res.facts, "facts_in_store": facts, "entities": res.entities,
            "evidence": res.evidence, "seconds": round(dt, 2), "rels_per_s": round(res.facts / dt, 1),
            "batch_size": batch_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=10, help="copies of data/sample in the corpus")
    ap.add_argument("--facts", type=int, default=50_000, help="synthetic facts for the write benchmark")
    ap.add_argument("--batch-size", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        result = {
            "machine": f"{platform.machine()}, {platform.python_version()}",
            "ingest": bench_ingest(tmp, args.copies),
            "embedded_writes": bench_writes(tmp, args.facts, args.batch_size),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
