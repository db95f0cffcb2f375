"""How long a 2,000-node graph view takes to draw in headless Chromium (issue 14: under 3 s).

The script writes a synthetic graph (``--nodes`` entities of four types, ``--facts`` facts, one
evidence sentence each) into an embedded FalkorDB store, builds the view the way a user does
(``kgkit.viz.show(store, "MATCH (a:Entity)-[r]->(b:Entity) RETURN a, r, b", evidence=1)``), saves it
as a standalone page, and opens it ``--repeat`` times in Debian's Chromium (a new tab each time).

Draw time = from the start of navigation until the page's canvas holds painted pixels of the graph
(the test of ``kgkit.viz.browser.time_to_draw``: 2,000 painted pixels in a sample of every 4th one), by the page's
own clock: reading and parsing the page with its inlined JavaScript, the first layout and the first
frame. The force layout then keeps refining positions for a while; that is not counted. The CPU
time all Chromium processes (and playwright's driver) spent meanwhile is reported beside it: on a
machine shared with other jobs the wall time includes waiting for a core, the CPU time does not.
After the runs, one more load checks the nodes' colours on the canvas (``check_page``). Results go to
``benchmarks/results/viz.md``::

    PYTHONPATH=$PWD nice -n 10 python benchmarks/viz_render.py
"""

from __future__ import annotations

import argparse
import os
from typing import Any
import platform
import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from kgkit.store.embedded import FalkorDBStore
from kgkit.types import Entity, Provenance, Span, Triple
from kgkit.viz import show
from kgkit.viz.browser import check_page, headless_chromium
from kgkit.viz.figure import TYPE_COLOURS

TYPES = ("Person", "Organization", "Place", "Work")
PREDICATES = ("bornIn", "worksFor", "locatedIn", "memberOf", "author", "spouse", "educatedAt")
RESULTS = Path(__file__).parent / "results" / "viz.md"
GOAL_S = 3.0


def make_triples(n_nodes: int, n_facts: int, seed: int = 14) -> list[Triple]:
    """A connected graph: a random spanning tree over ``n_nodes`` entities plus random extra facts."""
    rng = random.Random(seed)
    ents = [Entity(f"{TYPES[i % 4]} {i}", TYPES[i % 4]) for i in range(n_nodes)]
    pairs = [(i, rng.randrange(i)) for i in range(1, n_nodes)]
    seen = set(pairs)
    while len(pairs) < n_facts:
        a, b = rng.randrange(n_nodes), rng.randrange(n_nodes)
        if a != b and (a, b) not in seen:
            seen.add((a, b))
            pairs.append((a, b))
    out = []
    for k, (a, b) in enumerate(pairs):
        text = f"{ents[a].name} {PREDICATES[k % len(PREDICATES)]} {ents[b].name}."
        prov = Provenance(f"doc{k % 500}", f"doc{k % 500}#0", Span(0, len(text)), "synthetic", "1",
                          round(rng.uniform(0.3, 1.0), 2))
        out.append(Triple(ents[a], PREDICATES[k % len(PREDICATES)], ents[b], prov, evidence=text))
    return out


def _children_cpu() -> dict[int, float]:
    import psutil

    out = {}
    for proc in psutil.Process(os.getpid()).children(recursive=True):
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        out[proc.pid] = t.user + t.system
    return out


def draw_once(browser: Any, page_path: Path, min_painted: int = 2000) -> tuple[float, float]:
    """(wall seconds from navigation start until drawn, CPU seconds of the browser processes meanwhile);
    the wall clock is the one :func:`kgkit.viz.browser.time_to_draw` reads."""
    from kgkit.viz.browser import _JS_PAINTED

    before = _children_cpu()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(page_path.resolve().as_uri(), wait_until="commit", timeout=60_000)
        page.wait_for_function(_JS_PAINTED, arg=min_painted, timeout=60_000, polling="raf")
        wall = float(page.evaluate("performance.now()")) / 1000.0
        after = _children_cpu()  # before closing: a closed tab's renderer process takes its CPU time with it
    finally:
        page.close()
    return wall, sum(v - before.get(pid, 0.0) for pid, v in after.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=2000)
    ap.add_argument("--facts", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        with FalkorDBStore(data_dir=Path(tmp) / "db") as store:
            store.write_triples(make_triples(args.nodes, args.facts))
            t = time.perf_counter()
            fig = show(store, "MATCH (a:Entity)-[r]->(b:Entity) RETURN a, r, b", max_nodes=args.nodes, evidence=1)
            build_s = time.perf_counter() - t
        t = time.perf_counter()
        page = fig.save_html(Path(tmp) / "view.html")
        html_s = time.perf_counter() - t
        size_mb = page.stat().st_size / 1e6
        with headless_chromium() as browser:
            measured = [draw_once(browser, page) for _ in range(args.repeat)]
            check = check_page(browser, page, colours=TYPE_COLOURS.values())
    load = os.getloadavg()[0]
    draws, cpus = [w for w, _ in measured], [c for _, c in measured]
    med, cpu_med = statistics.median(draws), statistics.median(cpus)
    runs = ", ".join(f"{d:.2f}" for d in draws)
    cpu_runs = ", ".join(f"{c:.2f}" for c in cpus)
    verdict = "met" if med < GOAL_S else "NOT met"
    text = f"""# Graph view: draw time of a 2,000-node view in the browser

Command: `PYTHONPATH=$PWD nice -n 10 python benchmarks/viz_render.py --nodes {args.nodes} --facts {args.facts} --repeat {args.repeat}`

Machine: 2-core x86-64 VM, 24 GiB, shared with other jobs (load average {load:.1f} at the end); Python {platform.python_version()}; Debian Chromium, headless, software rendering. Date: {date.today().isoformat()}.

A synthetic graph ({len(fig.nodes):,} nodes of four types, {len(fig.edges):,} facts, one evidence sentence each) in the embedded store,
drawn as `kg.show` draws a Cypher query (`neo4j-viz` canvas renderer, force-directed layout) and saved as a standalone page.
Draw time: from the start of navigation until the canvas holds the drawn graph (page parse with its inlined JavaScript,
first layout, first frame), by the page's clock, a new tab per run; the layout keeps refining afterwards (not counted).

| step | result |
|---|---|
| build the figure from the store (query + view + evidence) | {build_s:.2f} s |
| write the standalone page | {html_s:.2f} s, {size_mb:.1f} MB |
| draw in Chromium, wall time, median of {args.repeat} (runs) | **{med:.2f} s** ({runs}) |
| CPU time of Chromium + driver meanwhile, median (runs) | {cpu_med:.2f} s ({cpu_runs}) |
| nodes on the canvas after the runs | {check.node_pixels:,} pixels of the type colours on {check.canvases} canvas(es); {len(check.remote_requests)} network requests |

Goal of issue 14: a 2,000-node view renders in under {GOAL_S:.0f} s: {verdict} (wall-time median, on this shared machine).
The CPU time is {"under" if cpu_med < GOAL_S else "over"} {GOAL_S:.0f} s; it bounds the draw time on an idle core only if the work is serial, so it is no measurement of that.
"""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
