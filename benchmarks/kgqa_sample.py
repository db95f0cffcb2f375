"""Zero-shot KGQA on the sample corpus: Hits@1 of ``kgkit ask`` on data/sample/questions*.tsv.

Two graphs, both in an embedded FalkorDB store under a temporary folder:

* ``spacy``: data/sample ingested with the default pipeline (spaCy extraction, then fusion), exactly
  what ``kgkit ingest data/sample`` builds;
* ``gold``: the facts of data/sample/GOLD.yaml written as triples (entity types from GOLD.yaml, values
  that are not GOLD entities typed ``Date``).

Every question is answered through :func:`kgkit.reason.ask.ask_store` (what ``kgkit ask`` runs). The
columns: graph, part, questions, Hits@1, no answer, "reachable" (a gold answer is a neighbour of an
entity the question linked to: a ceiling for one-hop questions), mean ms per question. A
prediction counts when the top answer is a gold answer or one of its GOLD.yaml aliases (normalised).
Dates compare by value (``1815-12-10`` = ``10 December 1815``, :func:`kgkit.extract.dates.normalize_date`).
``questions.tsv`` is the part looked at while tuning; ``questions_heldout.tsv`` was not.

Run::

    nice -n 5 python benchmarks/kgqa_sample.py [--failures]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"


def _key(name: str) -> str:
    from kgkit.extract.dates import normalize_date
    from kgkit.types import normalize_name

    return normalize_date(name) or normalize_name(name)


def gold_aliases(gold: dict) -> dict[str, set[str]]:
    """normalised canonical name -> every normalised surface form of that entity."""
    from kgkit.types import normalize_name

    out: dict[str, set[str]] = {}
    for e in gold["entities"]:
        names = {normalize_name(e["canonical"])} | {normalize_name(a) for a in e.get("aliases", [])}
        out[normalize_name(e["canonical"])] = names
    return out


def read_questions(path: Path) -> list[tuple[str, list[str]]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            q, a = line.split("\t")
            rows.append((q, a.split("|")))
    return rows


def write_gold_store(store, gold: dict) -> int:  # noqa: ANN001
    from kgkit.types import Entity, Provenance, Triple

    types = {e["canonical"]: e["type"] for e in gold["entities"]}
    aliases = {e["canonical"]: tuple(e.get("aliases", [])) for e in gold["entities"]}
    triples = []
    for s, r, o, doc in gold["facts"]:
        subj = Entity(s, types.get(s, "Date"), aliases.get(s, ()))
        obj = Entity(o, types.get(o, "Date"), aliases.get(o, ()))
        prov = Provenance(doc, f"{doc}#gold", None, "gold", "1")
        triples.append(Triple(subj, r, obj, prov, evidence=f"{s} {r} {o}"))
    store.write_triples(triples)
    return len(triples)


def evaluate(store, questions, aliases, *, show_failures: bool) -> tuple[int, int, int, int, float]:  # noqa: ANN001
    """Hits, questions, no-answers, reachable (a gold answer is a neighbour of a linked topic), ms."""
    from kgkit.ontology import load_ontology
    from kgkit.reason.ask import ask_store
    from kgkit.reason.graph import index_from_store
    from kgkit.types import normalize_name

    index = index_from_store(store)
    ontology = load_ontology()
    hits = none = reachable = 0
    t0 = time.perf_counter()
    for q, answers in questions:
        ok_names = set()
        for a in answers:
            ok_names |= aliases.get(normalize_name(a), {normalize_name(a)}) | {_key(a)}
        try:
            res = ask_store(store, q, index=index, ontology=ontology)
        except TypeError:  # main before issue 12 had no ontology argument
            res = ask_store(store, q, index=index)
        top = res.answer.top
        nbrs = {int(n) for e in res.answer.entities
                for n in index.adj_nbr[index.indptr[e.node]:index.indptr[e.node + 1]].tolist()}
        reachable_now = any(normalize_name(index.names[n]) in ok_names or _key(index.names[n]) in ok_names for n in nbrs)
        reachable += reachable_now
        if os.environ.get("KGQA_DUMP"):
            print(f"DUMP {int(reachable_now)} {q}")
        if top is None:
            none += 1
        if top is not None and (normalize_name(top) in ok_names or _key(top) in ok_names):
            hits += 1
        elif show_failures:
            print(f"  MISS{' (reachable)' if reachable_now else ''} {q!r}: got {top!r} want {answers} ({res.answer.no_answer_reason or ''}) "
                  f"paths={[p.path for p in res.answer.paths[:2]]} ents={[e.name for e in res.answer.entities]}")
    ms = 1000 * (time.perf_counter() - t0) / max(1, len(questions))
    return hits, len(questions), none, reachable, ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--failures", action="store_true", help="print the misses of the tuning part")
    ap.add_argument("--graphs", nargs="+", default=["spacy", "gold"])
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from kgkit.api import KnowledgeGraph

    gold = yaml.safe_load((SAMPLE / "GOLD.yaml").read_text(encoding="utf-8"))
    aliases = gold_aliases(gold)
    parts = {"tune": read_questions(SAMPLE / "questions.tsv"), "held-out": read_questions(SAMPLE / "questions_heldout.tsv")}
    print("argv:", " ".join(sys.argv), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for graph in args.graphs:
            with KnowledgeGraph(None, workdir=Path(tmp) / graph) as kg:
                if graph == "spacy":
                    kg.ingest(SAMPLE)
                else:
                    write_gold_store(kg.store, gold)
                st = kg.store.stats()
                print(f"graph {graph}: {st.entities} entities, {st.facts} facts", flush=True)
                for part, qs in parts.items():
                    h, n, none, reach, ms = evaluate(kg.store, qs, aliases, show_failures=args.failures and part == "tune")
                    print(f"| {graph} | {part} | {n} | {100 * h / n:.1f} | {none} | {100 * reach / n:.1f} | {ms:.1f} |",
                          flush=True)


if __name__ == "__main__":
    main()
