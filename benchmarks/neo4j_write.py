"""Neo4j write benchmark: batched ``UNWIND`` path vs a naive per-row ``MERGE`` baseline, in one run.

Builds a synthetic graph (default 100k entities, 300k facts, one evidence node per fact), writes it
with :meth:`Neo4jStore.write_triples` (the path ``kgkit ingest --store neo4j`` uses: entities, facts
and evidence as ``UNWIND $rows`` batches in managed write transactions), and writes a sample of the
same triples the naive way: one managed transaction per triple with the same ``MERGE`` statements
for its two entities, the relationship and the evidence node. The naive path is time-boxed to a
sample (default 3,000 triples) and its rate is extrapolated; the script says so in its output.

The database is WIPED. Run it against a scratch server, e.g.::

    NEO4J_PORT=7688 NEO4J_DIR=.neo4j/bench scripts/neo4j/start.sh
    flock /tmp/kgkit-heavy.lock python benchmarks/neo4j_write.py --uri bolt://127.0.0.1:7688
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import time
from typing import Any

from kgkit.ontology import relationship_type
from kgkit.store.neo4j import NEO4J_WRITERS, Neo4jStore
from kgkit.types import Entity, Provenance, Span, Triple, normalize_name

TYPES = ("Person", "Organization", "Place", "Work")
PREDICATES = ("bornIn", "worksFor", "locatedIn", "memberOf", "author", "spouse", "educatedAt", "influencedBy")


def make_graph(n_entities: int, n_facts: int, *, seed: int = 7, n_docs: int = 5000) -> list[Triple]:
    """``n_facts`` distinct triples over ``n_entities`` entities (every entity used at least once)."""
    rng = random.Random(seed)
    ents = [Entity(f"{TYPES[i % len(TYPES)]} entity {i}", TYPES[i % len(TYPES)]) for i in range(n_entities)]
    seen: set[tuple[int, int, int]] = set()
    triples: list[Triple] = []
    i = 0
    while len(triples) < n_facts:
        # the first pass walks every entity once as subject so all n_entities exist
        s = i if i < n_entities else rng.randrange(n_entities)
        o, p = rng.randrange(n_entities), rng.randrange(len(PREDICATES))
        i += 1
        if s == o or (s, p, o) in seen:
            continue
        seen.add((s, p, o))
        doc = f"doc{len(triples) % n_docs}.txt"
        prov = Provenance(doc, f"{doc}#{len(triples) % 7}", Span(0, 40), "bench", "1", 0.5 + rng.random() / 2)
        triples.append(Triple(ents[s], PREDICATES[p], ents[o], prov, "synthetic evidence sentence"))
    return triples


def naive_write(store: Neo4jStore, triples: list[Triple], *, time_box_s: float) -> tuple[int, float]:
    """One transaction per triple; returns (triples written, seconds)."""
    from kgkit.store.base import (
        _evidence_row,  # the same evidence payload the batched path writes
    )
    from kgkit.types import Evidence

    def entity_stmt(label: str) -> str:
        return (f"MERGE (n:Entity:{label} {{id: $id}}) ON CREATE SET n.name = $name, n.type = $type, "
                "n.norm = $norm, n.aliases = [$name]")

    t0 = time.perf_counter()
    n = 0
    for t in triples:
        rel = relationship_type(t.predicate)
        ev = _evidence_row(Evidence.for_triple(t), subject=t.subject.id, obj=t.object.id, rel_type=rel)

        def work(tx: Any, t: Triple = t, rel: str = rel, ev: dict[str, Any] = ev) -> None:
            for e in (t.subject, t.object):
                tx.run(entity_stmt(e.type), id=e.id, name=e.name, type=e.type, norm=normalize_name(e.name)).consume()
            tx.run(f"MATCH (s:Entity {{id: $s}}) MATCH (o:Entity {{id: $o}}) MERGE (s)-[r:{rel} {{id: $id}}]->(o) "
                   "SET r.predicate = $p, r.confidence = $c", s=t.subject.id, o=t.object.id, id=t.id,
                   p=t.predicate, c=t.confidence).consume()
            tx.run("MERGE (e:Evidence {id: $row.id}) SET e += $row", row=ev).consume()

        with store._session() as session:
            session.execute_write(work)
        n += 1
        if time.perf_counter() - t0 > time_box_s:
            break
    return n, time.perf_counter() - t0


def time_phases(store: Neo4jStore) -> dict[str, list[tuple[float, float]]]:
    """Wrap ``store._run`` to record the (start, end) of every statement per kind (entities, facts,
    evidence). With concurrent writers the intervals overlap; :func:`wall` merges them."""
    spans: dict[str, list[tuple[float, float]]] = {"entities": [], "facts": [], "evidence": [], "other": []}
    inner = store._run

    def run(cypher: str, params: Any = None, *, write: bool = True) -> list[dict[str, Any]]:
        t0 = time.perf_counter()
        try:
            return inner(cypher, params, write=write)
        finally:
            kind = ("facts" if "MERGE (s)-[r:" in cypher else "evidence" if "MERGE (e:Evidence" in cypher
                    else "entities" if "MERGE (n:Entity" in cypher else "other")
            spans[kind].append((t0, time.perf_counter()))

    store._run = run  # type: ignore[method-assign]
    return spans


def wall(spans: list[tuple[float, float]]) -> float:
    """Length of the union of time intervals."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(spans):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def batched_write(store: Neo4jStore, triples: list[Triple], entities: int, label: str, pid: int | None) -> float:
    """Write ``triples`` into the emptied store; print and return rels/s end to end."""
    store.clear()
    inner = store._run
    spans = time_phases(store)
    try:
        t0, c0 = time.perf_counter(), server_cpu_s(pid)
        res = store.write_triples(triples)
        s_batched = time.perf_counter() - t0
        cpu = server_cpu_s(pid) - c0
    finally:
        store._run = inner  # type: ignore[method-assign]
    stats = store.stats()
    rate = res.facts / s_batched
    print(f"batched UNWIND, {label}: {res.entities:,} entities + {res.facts:,} facts + {res.evidence:,} evidence "
          f"in {s_batched:.1f}s = {rate:,.0f} rels/s end to end "
          f"({(res.entities + res.facts + res.evidence) / s_batched:,.0f} graph elements/s)")
    walls = {k: wall(v) for k, v in spans.items() if v}
    print("  wall time per kind of batch: " + ", ".join(f"{k} {v:.1f}s" for k, v in walls.items())
          + f"; relationship batches alone: {res.facts / walls['facts']:,.0f} rels/s"
          + f"; evidence batches alone: {res.evidence / walls['evidence']:,.0f} nodes/s")
    if cpu:
        n = res.entities + res.facts + res.evidence
        print(f"  server CPU {cpu:.1f}s = {cpu / n * 1e6:.0f} us per graph element ({cpu / s_batched:.2f} cores busy on average)")
    assert (stats.entities, stats.facts, stats.evidence) == (entities, res.facts, res.evidence), stats
    return rate


def server_pid(port: int) -> int | None:
    """The pid of the process listening on ``port`` (the project-local server), if we can see it."""
    try:
        out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False).stdout
        return int(out.split("pid=")[1].split(",")[0])
    except (IndexError, ValueError, OSError):
        return None


def server_rss_mib(pid: int | None) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def server_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds the server process has used (0 if it cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uri", default=None, help="Neo4j URI (default NEO4J_URI or bolt://127.0.0.1:7687); WIPED")
    ap.add_argument("--entities", type=int, default=100_000)
    ap.add_argument("--facts", type=int, default=300_000)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--writers", type=int, default=NEO4J_WRITERS,
                    help="concurrent writers for the batched path (it is also run with 1 writer, as a baseline)")
    ap.add_argument("--naive-sample", type=int, default=3000, help="triples written the naive way")
    ap.add_argument("--naive-time-box", type=float, default=180.0, help="stop the naive path after this many seconds")
    args = ap.parse_args()

    print(f"machine: {platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}, "
          f"neo4j driver {_version('neo4j')}, neo4j-rust-ext {_version('neo4j-rust-ext')}")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    t0 = time.perf_counter()
    triples = make_graph(args.entities, args.facts)
    print(f"generated {len(triples):,} triples over {args.entities:,} entities in {time.perf_counter() - t0:.1f}s (not timed below)")

    store = Neo4jStore(args.uri, batch_size=args.batch_size, writers=args.writers)
    pid = server_pid(int((store.uri.rsplit(":", 1)[-1]).strip("/") or 7687))
    store.open()
    try:
        store.clear()
        naive_rows = triples[: args.naive_sample]
        n_naive, s_naive = naive_write(store, naive_rows, time_box_s=args.naive_time_box)
        naive_rate = n_naive / s_naive
        cut = "" if n_naive == len(naive_rows) else f" (time box hit after {n_naive} of {len(naive_rows)})"
        print(f"naive per-row MERGE: {n_naive:,} triples in {s_naive:.1f}s = {naive_rate:,.0f} rels/s{cut}; "
              f"extrapolated to {len(triples):,}: {len(triples) / naive_rate / 60:.0f} min")
        rates = {}
        for w in sorted({1, args.writers}):
            store.writers = w
            rates[w] = batched_write(store, triples, args.entities, f"{w} writer{'s' if w > 1 else ''} (batch {args.batch_size})", pid)
        batched_rate = rates[args.writers]
        if len(rates) > 1:
            print(f"RATIO {args.writers} writers / 1 writer: {rates[args.writers] / rates[1]:.2f}x")
        stats = store.stats()
        print(f"store after batched write: {stats.entities:,} entities, {stats.facts:,} facts, {stats.evidence:,} evidence")

        again = triples[:50_000]
        t0 = time.perf_counter()
        store.write_triples(again)
        s_re = time.perf_counter() - t0
        after = store.stats()
        assert (after.entities, after.facts, after.evidence) == (stats.entities, stats.facts, stats.evidence)
        print(f"idempotent re-write of {len(again):,} existing triples: {s_re:.1f}s = {len(again) / s_re:,.0f} rels/s, counts unchanged")
        t0 = time.perf_counter()
        ret = store.retract_document("doc1.txt")
        print(f"retract one document ({ret.evidence_removed} evidence, {ret.facts_removed} facts) from the "
              f"{stats.facts:,}-fact graph: {time.perf_counter() - t0:.2f}s")
        print(f"RATIO batched ({args.writers} writers) / naive: {batched_rate / naive_rate:.0f}x (load average now {os.getloadavg()[0]:.2f})")
        rss = server_rss_mib(pid)
        if rss is not None:
            print(f"server RSS after the run: {rss:,.0f} MiB")
    finally:
        store.close()


if __name__ == "__main__":
    main()
