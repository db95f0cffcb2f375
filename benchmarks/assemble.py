"""Assemble BENCHMARKS.md from the per-area result files in benchmarks/results/*.md.

Each area's benchmark scripts write their figures (with command, machine and date) to
``benchmarks/results/<area>.md``; this script puts them together in pipeline order, one level
down, so BENCHMARKS.md is never edited by hand.

Usage:
    python benchmarks/assemble.py
"""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["ingest", "hostile", "store_open", "neo4j", "llm", "extraction_trained", "e2e", "fusion", "truth", "kge",
         "kge_gpu", "kge_cpu", "kge_predict", "kge_small", "kgqa", "kgqa_zero_shot"]

HEADER = """# kgkit benchmarks

Every figure here was produced by a script under `benchmarks/` on the machine named in its section
(this project's machines: 2-core x86-64 VMs with 24 GiB; the GPU figures come from one H200 lent to one
session for 15 minutes, see "KG embeddings on the GPU"). Each section gives the exact command; re-run it to check a figure. Ratios
against a baseline measured in the same run are the figures to compare across machines.

This file is assembled from `benchmarks/results/*.md` by `python benchmarks/assemble.py`.

"""


def demote(text: str) -> str:
    return re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", text, flags=re.MULTILINE)


def main() -> None:
    parts = [HEADER]
    files = {p.stem: p for p in (HERE / "results").glob("*.md")}
    for name in ORDER + sorted(set(files) - set(ORDER)):
        if name in files:
            parts.append(demote(files[name].read_text(encoding="utf-8")).rstrip() + "\n\n")
    (HERE.parent / "BENCHMARKS.md").write_text("".join(parts), encoding="utf-8")


if __name__ == "__main__":
    main()
