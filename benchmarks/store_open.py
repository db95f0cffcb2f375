"""Embedded store open time at 10k and 100k facts: snapshot + AOF (now) vs replaying the AOF (before).

For each size the script builds a FalkorDB store through ``FalkorDBStore.write_triples`` (synthetic
facts, one evidence node each, written in ingest-sized batches) with the server's automatic AOF
rewrite switched off, so the whole graph sits in the append-only file as Cypher commands, which is
what a store written by kgkit before this change looked like. It then stops the server without
compacting and copies the folder. Measured:

* ``before``: open time of the copy as it is: the server replays every write (the old behaviour;
  kgkit used to give up after 30 s).
* ``after``: the same store closed by kgkit (which compacts the AOF into a snapshot on close), then
  opened ``--repeat`` times; the median is reported. This is what every open after a kgkit ingest
  costs now.

Open time = from ``FalkorDBStore.open()`` (server start, loading, schema check) until the store answers
a lookup by id; the full ``stats()`` that follows (a scan of the whole graph) is reported apart.
Results go to ``benchmarks/results/store_open.md``::

    PYTHONPATH=$PWD nice -n 5 python benchmarks/store_open.py --sizes 10000 100000

``--baseline DIR`` (a folder holding an earlier ``kgkit`` package, e.g. from ``git archive REV kgkit``)
also opens each store alternately with that code and with this checkout, each open in a fresh
process, so that both are timed under the same load on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from kgkit.store.embedded import FalkorDBStore
from kgkit.types import Entity, Provenance, Span, Triple

TYPES = ("Person", "Organization", "Place", "Work")
PREDICATES = ("bornIn", "worksFor", "locatedIn", "memberOf", "author", "spouse", "educatedAt", "influencedBy")
RESULTS = Path(__file__).parent / "results" / "store_open.md"


def make_triples(n_facts: int, *, seed: int = 7) -> list[Triple]:
    """``n_facts`` distinct triples over ``n_facts // 3`` entities, spread over 1,000 documents."""
    rng = random.Random(seed)
    n_entities = max(n_facts // 3, 10)
    ents = [Entity(f"{TYPES[i % 4]} entity {i}", TYPES[i % 4]) for i in range(n_entities)]
    seen: set[tuple[int, int, int]] = set()
    out: list[Triple] = []
    while len(out) < n_facts:
        s, o, p = rng.randrange(n_entities), rng.randrange(n_entities), rng.randrange(len(PREDICATES))
        if s == o or (s, p, o) in seen:
            continue
        seen.add((s, p, o))
        doc = f"doc{len(out) % 1000}.txt"
        prov = Provenance(doc, f"{doc}#{len(out) % 7}", Span(0, 40), "bench", "1", 0.5 + rng.random() / 2)
        out.append(Triple(ents[s], PREDICATES[p], ents[o], prov, "a synthetic evidence sentence of some length"))
    return out


def build(data_dir: Path, n_facts: int, old_copy: Path | None, batch: int = 2000) -> tuple[float, int, str]:
    """Write the store with automatic rewrites off; copy it uncompacted to ``old_copy``, then compact.

    Returns (write seconds, bytes of AOF a store written before this change would replay, an entity id).
    """
    triples = make_triples(n_facts)
    store = FalkorDBStore(data_dir=data_dir)
    store.open()
    assert store.server is not None
    store.server._client().config_set("auto-aof-rewrite-percentage", 0)
    t0 = time.perf_counter()
    for i in range(0, len(triples), batch):
        store.write_triples(triples[i:i + batch])
    seconds = time.perf_counter() - t0
    aof = store.server.incr_bytes()
    facts = store.stats().facts
    assert facts == n_facts, f"wrote {facts} facts, expected {n_facts}"
    if old_copy is not None:  # every write is fsynced and the server is idle: the folder is consistent
        shutil.copytree(data_dir, old_copy, ignore=shutil.ignore_patterns("*.pid", ".lock"))
    store.close()  # compacts: what kgkit does after every ingest now
    return seconds, aof, triples[0].subject.id


def server_load_seconds(data_dir: Path) -> float | None:
    """The server's own loading time of its last start, from its log ("DB loaded from ...: X seconds")."""
    log = data_dir / "server.log"
    if not log.exists():
        return None
    hits = re.findall(r"DB loaded from append only file: ([0-9.]+) seconds", log.read_text(errors="replace"))
    return float(hits[-1]) if hits else None


def open_time(data_dir: Path, probe_id: str, *, compact_on_close: bool) -> tuple[float, float, float | None]:
    """(seconds until the store answers a lookup, seconds of a following full ``stats()``, seconds of
    those the server spent loading its files by its own log)."""
    store = FalkorDBStore(data_dir=data_dir, start_timeout=3600)
    t0 = time.perf_counter()
    store.open()
    rows = store.query("MATCH (e:Entity {id: $id}) RETURN e.name AS name", {"id": probe_id})
    seconds = time.perf_counter() - t0
    assert rows, "the store lost its first entity"
    t1 = time.perf_counter()
    store.stats()
    stats_s = time.perf_counter() - t1
    assert store.server is not None
    if compact_on_close:
        store.close()
    else:
        store._db.connection.close()
        store._db = store._graph = None
        store.server.stop(compact=False)
    return seconds, stats_s, server_load_seconds(data_dir)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before-max-facts", type=int, default=10_000,
                    help="measure the old (replay) open time only up to this size; it grows ~13 s/MB of AOF")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="a folder holding an earlier kgkit package (e.g. `git archive REV kgkit | tar -x -C DIR`): "
                         "open each store with it and with this checkout in turn, each in a fresh process")
    ap.add_argument("--baseline-note", default="an earlier commit", help="how the baseline was made, for the results")
    ap.add_argument("--open-once", nargs=2, metavar=("DATA_DIR", "ENTITY_ID"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.open_once:  # a child of --baseline: one open, seconds on stdout
        import falkordb  # noqa: F401  (imported by open(): not part of what is timed)
        import redis  # noqa: F401

        print(open_time(Path(args.open_once[0]), args.open_once[1], compact_on_close=True)[0])
        return
    rows = []
    paired: list[tuple[int, list[float], list[float]]] = []
    with tempfile.TemporaryDirectory(prefix="kgkit-store-open-") as tmp:
        for n in args.sizes:
            data, old = Path(tmp) / f"s{n}", Path(tmp) / f"s{n}-old"
            measure_before = n <= args.before_max_facts
            build_s, aof_bytes, probe = build(data, n, old if measure_before else None)
            print(f"{n} facts: built in {build_s:.1f}s, AOF {aof_bytes / 1e6:.1f} MB", flush=True)
            before = None
            if measure_before:
                before = open_time(old, probe, compact_on_close=False)[0]
                shutil.rmtree(old)
                print(f"  before (replay): {before:.2f}s", flush=True)
            runs = [open_time(data, probe, compact_on_close=True) for _ in range(args.repeat)]
            after = [r[0] for r in runs]
            base = sum(f.stat().st_size for f in (data / "appendonlydir").glob("*.base.rdb"))
            print(f"  after compaction: {[round(a, 2) for a in after]} s, snapshot {base / 1e6:.1f} MB", flush=True)
            loads = [r[2] for r in runs if r[2] is not None]
            rows.append((n, build_s, aof_bytes, before, statistics.median(after), base,
                         statistics.median(r[1] for r in runs), after, statistics.median(loads) if loads else None))
            if args.baseline is not None:
                paired.append((n, *compare(args.baseline, data, probe, args.repeat)))
                print(f"  fresh processes, baseline vs this: {paired[-1][1]} vs {paired[-1][2]} s", flush=True)
    write_results(rows, args, paired)


def compare(baseline: Path, data: Path, probe: str, repeat: int) -> tuple[list[float], list[float]]:
    """Open times of ``data`` with the ``baseline`` kgkit and with this one, alternating, each in a fresh process."""
    def once(pythonpath: Path) -> float:
        out = subprocess.run([sys.executable, __file__, "--open-once", str(data), probe], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(pythonpath)}, check=True).stdout
        return float(out.split()[-1])

    old: list[float] = []
    new: list[float] = []
    for _ in range(repeat):
        old.append(once(baseline.resolve()))
        new.append(once(Path(__file__).resolve().parents[1]))
    return old, new


Row = tuple[int, float, int, float | None, float, int, float, list[float], float | None]


def write_results(rows: list[Row], args: argparse.Namespace, paired: list[tuple[int, list[float], list[float]]]) -> None:
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[1]
    lines = [
        "# Embedded store: open time by size",
        "",
        f"Command: `PYTHONPATH=$PWD nice -n 5 python benchmarks/store_open.py --sizes {' '.join(map(str, args.sizes))}"
        f" --repeat {args.repeat}{' --baseline DIR' if args.baseline else ''}`  ",
        f"Machine: 2-core x86-64 VM, 24 GiB ({cpu} CPUs visible, shared with other jobs: load average {load:.1f} at "
        f"the end); Python {platform.python_version()}. "
        f"Date: {date.today().isoformat()}.",
        "",
        "Synthetic facts written through `FalkorDBStore.write_triples` in batches of 2,000 (one evidence node per",
        "fact, a third as many entities as facts). *Before*: the store as kgkit left it before (the whole graph in",
        "the append-only file, replayed on open; measured up to --before-max-facts). *After*: the same store",
        f"closed by kgkit (which compacts the AOF into a snapshot on close), median of {args.repeat} opens.",
        "Open = `open()` (server start, load, schema check) until the store answers a lookup by id; the full",
        "`stats()` (counts by type, a scan of the whole graph) that followed is shown apart. *Server load*: the",
        "part of open the server spent reading its files, by its own log (median).",
        "",
        "| facts | write time | AOF replayed before | open before | snapshot | open after (runs) | server load | then stats() |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, build_s, aof, before, after, base, stats_s, runs, load_s in rows:
        b = f"{before:.2f} s" if before is not None else "not measured"
        each = ", ".join(f"{r:.2f}" for r in runs)
        ld = f"{load_s:.2f} s" if load_s is not None else "?"
        lines.append(f"| {n:,} | {build_s:.1f} s | {aof / 1e6:.1f} MB | {b} | {base / 1e6:.1f} MB | "
                     f"{after:.2f} s ({each}) | {ld} | {stats_s:.2f} s |")
    if len(rows) >= 2:
        big, small = rows[-1], rows[0]
        ratio = big[4] / small[4]
        lines += [
            "",
            f"Ratio of open after, {big[0]:,} vs {small[0]:,} facts: {ratio:.2f}x. Goals of issue 17: open of the "
            f"{big[0]:,}-fact store <= 5 s: {'met' if big[4] <= 5 else 'NOT met'}; <= 2x the {small[0]:,}-fact "
            f"open: {'met' if ratio <= 2 else 'NOT met'}.",
        ]
        if big[8] is not None and small[8] is not None:
            lines += [
                "",
                f"Why: the server's own loading (it decodes every node and edge into memory) takes {small[8]:.2f} s at "
                f"{small[0]:,} facts and {big[8]:.2f} s at {big[0]:,} ({big[8] / small[8]:.1f}x); the rest of open "
                f"({small[4] - small[8]:.2f} s and {big[4] - big[8]:.2f} s: process start, connection, schema listing, "
                "the lookup) is near constant. Open time is therefore about proportional to the graph once the fixed "
                "part is small, and a ratio of 2x for 10x the facts is out of reach for a store that loads the whole "
                "graph at start; the fixed part is smaller on a quiet machine, which makes the ratio larger, not smaller.",
            ]
    if paired:
        med = {n: (statistics.median(o), statistics.median(c)) for n, o, c in paired}
        lines += [
            "",
            f"Same stores, opened alternately by the baseline kgkit (`--baseline`: {args.baseline_note}) and by this",
            "checkout, each open in a fresh process (same load on the machine for both; medians):",
            "",
            "| facts | baseline (runs) | this checkout (runs) |",
            "|---:|---:|---:|",
        ]
        for n, o, c in paired:
            lines.append(f"| {n:,} | {med[n][0]:.2f} s ({', '.join(f'{x:.2f}' for x in o)}) | "
                         f"{med[n][1]:.2f} s ({', '.join(f'{x:.2f}' for x in c)}) |")
        if len(paired) >= 2:
            (a, _, _), (b, _, _) = paired[0], paired[-1]
            lines += ["", f"Ratio {b:,} vs {a:,} facts: baseline {med[b][0] / med[a][0]:.2f}x, this checkout "
                          f"{med[b][1] / med[a][1]:.2f}x."]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
