"""Text2KGBench scores of an extractor on the validation data (DBpedia-WebNLG: the train hold-out).

Usage::

    flock /tmp/kgkit-heavy.lock python benchmarks/extraction_eval.py --extractor spacy [--limit N] [--data DIR]

Prints one markdown table per dataset (per-ontology and macro metrics, computed as in the
benchmark's run_eval.py) and writes the JSON to benchmarks/results/extraction_eval_<extractor>.json.
For an LLM, configure KGKIT_LLM_BASE_URL / KGKIT_LLM_MODEL and pass --extractor llm.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--extractor", default="spacy")
    ap.add_argument("--dataset", default="all", choices=["all", "wikidata_tekgen", "dbpedia_webnlg"])
    ap.add_argument("--split", default="auto")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--data", default=None)
    ap.add_argument("--no-mine-hints", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from kgkit.eval.extraction import PUBLISHED_BASELINES, evaluate_text2kgbench
    from kgkit.extract import make_extractor

    datasets = ["wikidata_tekgen", "dbpedia_webnlg"] if args.dataset == "all" else [args.dataset]
    mine = args.extractor == "spacy" and not args.no_mine_hints
    out = []
    t0 = time.perf_counter()
    for ds in datasets:
        r = evaluate_text2kgbench(
            lambda onto: make_extractor(args.extractor, ontology=onto), dataset=ds, split=args.split,
            data=args.data, limit=args.limit, mine_hints=mine,
            on_ontology=lambda o: print(f"  {o.onto_id}: {o.sentences} sentences, F1 {o.metrics['f1']:.3f}", flush=True),
        )
        print(r.to_markdown())
        print("published test-split F1 (for later comparison): "
              + ", ".join(f"{k} {v:.2f}" for k, v in PUBLISHED_BASELINES[ds].items()))
        print(f"stemmer: {r.stemmer}\n", flush=True)
        out.append(r.to_dict())
    meta = {"command": " ".join(sys.argv), "python": platform.python_version(), "seconds": round(time.perf_counter() - t0, 1)}
    path = Path(args.out or REPO / "benchmarks" / "results" / f"extraction_eval_{args.extractor}.json")
    path.write_text(json.dumps({"meta": meta, "results": out}, indent=2, default=str), encoding="utf-8")
    print(f"wrote {path} in {meta['seconds']} s")


if __name__ == "__main__":
    main()
