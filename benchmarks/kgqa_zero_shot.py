"""MetaQA without training: lexical and sentence-embedding path scorers on a sample of the tune part.

The baseline the learned scorer (benchmarks/kgqa_metaqa.py) is compared against: every relation path
up to 3 hops from the topic entity is enumerated and scored against the question with no training.

Run::

    OMP_NUM_THREADS=2 flock /tmp/kgkit-heavy.lock python benchmarks/kgqa_zero_shot.py --per-hop 300
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--per-hop", type=int, default=300, help="questions per hop, evenly spaced over the tune part")
    ap.add_argument("--scorers", nargs="+", default=["lexical", "embedding"])
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    from kgkit.eval.kgqa import ReasonerFactory, evaluate, read_metaqa, split_examples
    from kgkit.reason.graph import load_kb
    from kgkit.reason.scoring import make_scorer

    root = Path(args.data or os.environ.get("KGKIT_DATA") or REPO.parent / "shared" / "datasets") / "kgqa" / "metaqa"
    graph = load_kb(root / "kb.txt")
    print("argv:", " ".join(sys.argv), flush=True)
    for name in args.scorers:
        scorer = make_scorer(name, device=args.device)
        factory = ReasonerFactory(graph, scorer=scorer, min_path_prob=0.0)
        factory._shared.warm_up()  # noqa: SLF001 - load the model before timing
        for h in (1, 2, 3):
            tune = split_examples(read_metaqa(root / f"{h}-hop" / "vanilla" / "qa_dev.txt"))[1]
            step = max(1, len(tune) // args.per_hop)
            items = tune[::step][: args.per_hop]
            rep = evaluate(items, factory, name=f"{name} {h}-hop")
            print(f"{name:9s} {h}-hop n={rep.questions:4d} Hits@1={rep.hits_at_1:6.2f} Hits@5={rep.hits_at_5:6.2f} "
                  f"F1={rep.f1:6.2f} recall={rep.retrieval_recall:6.2f} p50={rep.latency_p50_ms:.1f}ms "
                  f"p95={rep.latency_p95_ms:.1f}ms", flush=True)


if __name__ == "__main__":
    main()
