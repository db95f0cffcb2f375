"""End-to-end fusion on a synthetic graph in the embedded store: fuse time, undo time, exact restore.

    OMP_NUM_THREADS=2 flock /tmp/kgkit-heavy.lock python benchmarks/fusion_graph.py --people 5000
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=5000)
    ap.add_argument("--embeddings", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fuse"))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from conftest import graph_state, triple  # the test helpers build triples with provenance

    from fusion_blocking import make_names
    from kgkit.fuse import fuse_graph, undo
    from kgkit.ontology import load_ontology
    from kgkit.store.embedded import FalkorDBStore
    from kgkit.types import Entity

    rng = random.Random(5)
    names, dup = make_names(args.people, seed=2)
    places = [f"Town{i}" for i in range(500)]
    variant_of = {b: a for a, b in dup}
    home: dict[int, str] = {}
    triples = []
    for i, name in enumerate(names):
        # A variant shares its original's birthplace, so a wrong merge shows up as a birthplace conflict.
        home[i] = home[variant_of[i]] if i in variant_of else rng.choice(places)
        triples.append(triple((name, "Person"), "bornIn", (home[i], "Place"), f"doc{i % 997}.md"))
        if rng.random() < 0.5:
            triples.append(triple((name, "Person"), "worksFor", (f"Org{rng.randrange(300)}", "Organization"), f"doc{i % 991}.md"))
    ont = load_ontology()
    with tempfile.TemporaryDirectory() as tmp, FalkorDBStore(data_dir=tmp) as store:
        t = time.perf_counter()
        store.write_triples(triples)
        print(f"graph: {len(names)} people, {len(triples)} facts written in {time.perf_counter() - t:.1f}s")
        t = time.perf_counter()
        before = graph_state(store)
        t_state = time.perf_counter() - t
        t = time.perf_counter()
        rep = fuse_graph(store, ont, use_embeddings=args.embeddings)
        t_fuse = time.perf_counter() - t
        cluster = {m: e.id for e in store.iter_entities() for m in [e.id, *(e.properties.get("merged_ids") or ())]}
        pid = [Entity(n, "Person").id for n in names]
        merged_ok = sum(1 for a, b in dup if cluster.get(pid[a], pid[a]) == cluster.get(pid[b], pid[b]))
        print(f"fuse: {rep.entities_before} -> {rep.entities_after} entities, {rep.candidate_pairs} candidate pairs, "
              f"{rep.clusters} clusters, {rep.conflicts} conflicts (= wrong merges of people with different "
              f"birthplaces) in {t_fuse:.1f}s; {merged_ok}/{len(dup)} planted variants now in the same entity as their original")
        t = time.perf_counter()
        u = undo(store)
        t_undo = time.perf_counter() - t
        same = graph_state(store) == before
        print(f"undo: restored {u.restored} in {t_undo:.1f}s; state identical to before: {same} "
              f"(state snapshot took {t_state:.1f}s)")


if __name__ == "__main__":
    main()
