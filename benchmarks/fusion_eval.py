"""All fusion evaluation figures in one run: Book truth discovery, entity matching, sample corpus.

(Truth discovery on every DATA-family set with the leave-out protocol: benchmarks/truth_discovery.py.)

    OMP_NUM_THREADS=2 flock /tmp/kgkit-heavy.lock python benchmarks/fusion_eval.py [--data DIR] [--no-embeddings]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None)
    ap.add_argument("--no-embeddings", action="store_true")
    ap.add_argument("--skip", nargs="*", default=[], choices=["truth", "er", "sample"])
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    from kgkit.datasets import data_root
    from kgkit.eval.fusion import ER_SETS, evaluate_er, evaluate_sample
    from kgkit.eval.truth import evaluate_truth, find_truth_dataset

    emb = not args.no_embeddings
    if "truth" not in args.skip:
        t = time.perf_counter()
        print("book truth discovery:", json.dumps(evaluate_truth(find_truth_dataset(data_root(args.data)))),
              f"({time.perf_counter() - t:.1f}s)", flush=True)
    if "er" not in args.skip:
        for name in ER_SETS:
            for use in ([False, True] if emb else [False]):
                t = time.perf_counter()
                res = evaluate_er(Path(args.data) if args.data else None, name, use_embeddings=use, device=args.device)
                print(f"ER {name} embeddings={use}:", json.dumps(res), f"({time.perf_counter() - t:.1f}s)", flush=True)
    if "sample" not in args.skip:
        t = time.perf_counter()
        res = evaluate_sample(Path("data/sample"), Path(".kgkit/eval-fusion"), use_embeddings=emb)
        for k, v in res.items():
            if isinstance(v, dict) and "details" in v:
                wrong = [f"{d['subject']}/{d['relation']}" for d in v["details"] if not d["correct"]]
                v = {a: b for a, b in v.items() if a != "details"} | {"wrong_or_missed": wrong}
            print(f"sample {k}:", json.dumps(v, ensure_ascii=False), flush=True)
        print(f"sample corpus evaluation took {time.perf_counter() - t:.1f}s")


if __name__ == "__main__":
    main()
