"""CLI start-up cost: ``python -X importtime -c "import kgkit.cli.main"``, the minimum over N runs.

The minimum is the figure to compare (a shared machine only ever adds time). ``--git-ref REF``
also measures the kgkit of another commit (checked out into a temporary worktree) in the same run,
alternating the two so both see the same load.

Usage:
    python benchmarks/cli_import.py --runs 15 --git-ref 28d266d --out benchmarks/results/cli_import.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| kgkit\.cli\.main$")


def measure_once(src: Path) -> tuple[float, set[str]]:
    """Cumulative import time of kgkit.cli.main in ms, and the modules it imported."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import kgkit.cli.main"], env=env,
                          capture_output=True, text=True, check=True, cwd=src)
    ms = next(int(m.group(1)) for line in proc.stderr.splitlines() if (m := _LINE.search(line.strip()))) / 1000
    mods = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return ms, mods


_LOAD = ("import time; t = time.perf_counter(); from kgkit.config import load_pipeline; "
         "load_pipeline('default'); print((time.perf_counter() - t) * 1000)")


def measure_pipeline_load(src: Path) -> float:
    """Milliseconds to import kgkit.config and load (validate) pipelines/default.yaml, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run([sys.executable, "-c", _LOAD], env=env, capture_output=True, text=True, check=True, cwd=src)
    return float(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--git-ref", default=None, help="also measure this commit, alternating with the work tree")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    trees: dict[str, Path] = {"this tree": ROOT}
    tmp = None
    if args.git_ref:
        tmp = tempfile.mkdtemp(prefix="kgkit-ref-")
        subprocess.run(["git", "worktree", "add", "--detach", tmp, args.git_ref], cwd=ROOT, check=True, capture_output=True)
        trees = {args.git_ref: Path(tmp), **trees}
    times: dict[str, list[float]] = {k: [] for k in trees}
    loads: dict[str, list[float]] = {k: [] for k in trees}
    mods: dict[str, set[str]] = {}
    try:
        for _ in range(args.runs):
            for label, src in trees.items():
                ms, mods[label] = measure_once(src)
                times[label].append(ms)
                loads[label].append(measure_pipeline_load(src))
    finally:
        if tmp:
            subprocess.run(["git", "worktree", "remove", "--force", tmp], cwd=ROOT, check=False, capture_output=True)
    heavy = ("torch", "spacy", "pydantic", "class_resolver", "catalogue", "yaml", "openai", "neo4j", "rdflib")
    lines = ["## CLI start-up (import of kgkit.cli.main)", "",
             f"Command: `python benchmarks/cli_import.py --runs {args.runs}"
             + (f" --git-ref {args.git_ref}" if args.git_ref else "") + "`; "
             f"machine: 2-core x86-64 VM, 24 GiB, shared with other sessions (hence the minimum); "
             f"date {dt.date.today().isoformat()}.", "",
             "| kgkit | `import kgkit.cli.main` min ms | median ms | heavy modules it imports "
             "| load pipelines/default.yaml min ms | median ms |", "|---|---:|---:|---|---:|---:|"]
    for label, ts in times.items():
        ts, ls = sorted(ts), sorted(loads[label])
        found = sorted(h for h in heavy if h in mods[label]) or ["none"]
        lines.append(f"| {label} | {ts[0]:.0f} | {ts[len(ts) // 2]:.0f} | {', '.join(found)} "
                     f"| {ls[0]:.0f} | {ls[len(ls) // 2]:.0f} |")
    lines += ["", "Loading a pipeline validates it with pydantic models and checks every name it gives against the "
              "registries (kgkit's own names need no entry-point scan). The difference in the last columns is "
              "pydantic's import, paid once per command that reads a pipeline (spaCy imports pydantic too, so "
              "`kgkit ingest` with the spaCy extractor paid it before); `kgkit --help` imports neither."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
