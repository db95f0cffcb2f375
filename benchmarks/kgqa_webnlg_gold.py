"""Zero-shot KGQA on e2e/webnlg-dev over its gold triples: Hits@1 of the default reasoner.

The graph is every triple of the DBpedia-WebNLG train rows listed in ``e2e/webnlg-dev/row_ids.txt``
(read from ``extraction/text2kgbench/data/dbpedia_webnlg/train``), one graph for all questions.
An entity's name is its DBpedia label with spaces (``Roger_McKenzie_(comic_book_writer)`` ->
``Roger McKenzie (comic book writer)``); the label without its parenthesis is an alias, so
``[Asterix]`` links to ``Asterix (comicsCharacter)``. Literal quotes are stripped. A prediction counts
when the top answer is one of the gold answers (normalised). No training, no ontology: relation words
come from the graph's relation names.

Run::

    nice -n 5 python benchmarks/kgqa_webnlg_gold.py [--failures]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_PAREN = re.compile(r"\s*\([^()]*\)\s*$")


def label(raw: str) -> str:
    return raw.strip().strip('"').replace("_", " ").strip()


def load_graph(data: Path):  # noqa: ANN201
    from kgkit.reason.graph import GraphIndex

    wanted = set((data / "e2e" / "webnlg-dev" / "row_ids.txt").read_text().split())
    train = data / "extraction" / "text2kgbench" / "data" / "dbpedia_webnlg" / "train"
    triples: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    found: set[str] = set()
    for f in sorted(train.glob("*.jsonl")):
        for line in f.open(encoding="utf-8"):
            row = json.loads(line)
            if row["id"] not in wanted:
                continue
            found.add(row["id"])
            for t in row["triples"]:
                tr = (label(t["sub"]), t["rel"], label(t["obj"]))
                if tr not in seen:
                    seen.add(tr)
                    triples.append(tr)
    missing = wanted - found
    if missing:
        raise SystemExit(f"{len(missing)} row ids not found in {train}, e.g. {sorted(missing)[:3]}")
    keys = {x for s, _, o in triples for x in (s, o)}
    aliases = {k: [_PAREN.sub("", k)] for k in keys if _PAREN.search(k)}
    return GraphIndex.from_triples(triples, aliases=aliases), len(found)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--failures", action="store_true")
    args = ap.parse_args()
    from kgkit.reason.reasoner import Reasoner
    from kgkit.types import normalize_name

    data = Path(args.data or os.environ.get("KGKIT_DATA") or Path("/work/shared/datasets"))
    graph, rows = load_graph(data)
    reasoner = Reasoner(graph)
    reasoner.warm_up()
    lines = [x for x in (data / "e2e" / "webnlg-dev" / "questions.txt").read_text(encoding="utf-8").splitlines() if x.strip()]
    print("argv:", " ".join(sys.argv), flush=True)
    print(f"graph: {rows} rows, {graph.num_facts} facts, {graph.num_nodes} entities, {len(graph.relations)} relations")
    hits = none = 0
    t0 = time.perf_counter()
    for line in lines:
        q, a = line.split("\t")
        gold = {normalize_name(x) for x in a.split("|")}
        ans = reasoner.ask(q, with_subgraph=False)
        if ans.top is None:
            none += 1
        if ans.top is not None and normalize_name(ans.top) in gold:
            hits += 1
        elif args.failures:
            print(f"  MISS {q!r}: got {ans.top!r} want {a} paths={[p.path for p in ans.paths[:2]]} "
                  f"ents={[e.name for e in ans.entities]}")
    ms = 1000 * (time.perf_counter() - t0) / len(lines)
    print(f"questions={len(lines)} Hits@1={100 * hits / len(lines):.1f} no_answer={none} mean_ms={ms:.1f}")


if __name__ == "__main__":
    main()
