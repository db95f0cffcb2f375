"""Best reachable Hits@1 on MetaQA dev given the gold relation path (analysis only, not a method).

MetaQA's KB merges films that share a title into one node, so a 1-hop question about one of them has
gold answers that are a subset of what the graph reaches. This script follows each question's gold
relation path (read from the qtype files, which the reasoner never uses), excludes the topic at every
step as the reasoner does, and reports the expected Hits@1 of a random tie-break among the reached
answers: |reached ∩ gold| / |reached|, averaged, on the full dev files and on the held-out tune parts.

Run::

    python benchmarks/kgqa_ceiling.py
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_REL = {"director": "directed_by", "actor": "starred_actors", "writer": "written_by", "year": "release_year",
        "language": "in_language", "genre": "has_genre", "tags": "has_tags", "tag": "has_tags",
        "imdbrating": "has_imdb_rating", "imdbvotes": "has_imdb_votes", "ratings": "has_imdb_rating",
        "votes": "has_imdb_votes"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--tune-fraction", type=float, default=0.2)
    args = ap.parse_args()

    from kgkit.eval.kgqa import read_metaqa, split_examples
    from kgkit.reason.graph import load_kb
    from kgkit.reason.paths import follow_path

    root = Path(args.data or os.environ.get("KGKIT_DATA") or REPO.parent / "shared" / "datasets") / "kgqa" / "metaqa"
    g = load_kb(root / "kb.txt")
    for h in (1, 2, 3):
        ex = read_metaqa(root / f"{h}-hop" / "vanilla" / "qa_dev.txt")
        qtypes = (root / f"{h}-hop" / "qa_dev_qtype.txt").read_text().splitlines()
        tune = {id(e) for e in split_examples(ex, tune_fraction=args.tune_fraction)[1]}
        sums = {"full dev": [0.0, 0], "tune (held out)": [0.0, 0]}
        for e, qt in zip(ex, qtypes):
            topic = re.search(r"\[(.+?)\]", e.question).group(1)
            parts = qt.split("_to_")
            path = tuple(g.directed_relation(_REL[b]) if a == "movie" else g.directed_relation(_REL[a], inverse=True)
                         for a, b in zip(parts, parts[1:]))
            got = {g.names[i] for i in follow_path(g, [g.node_id(topic)], path)}
            exp = len(got & set(e.answers)) / len(got) if got else 0.0
            for k in ("full dev", "tune (held out)") if id(e) in tune else ("full dev",):
                sums[k][0] += exp
                sums[k][1] += 1
        for k, (s, n) in sums.items():
            print(f"{h}-hop {k:16s} n={n:6d} best expected Hits@1 = {100 * s / n:.2f}")


if __name__ == "__main__":
    main()
