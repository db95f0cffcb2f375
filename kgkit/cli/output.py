"""Printing query results and statistics: rich tables, JSON or CSV on stdout."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any, Sequence

from rich.table import Table

from kgkit.cli.common import console
from kgkit.types import GraphStats

__all__ = ["print_rows", "print_stats"]


def _cell(v: Any) -> str:
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, default=str)
    return "" if v is None else str(v)


def print_rows(rows: Sequence[dict[str, Any]], fmt: str = "table") -> None:
    cols: list[str] = []
    for r in rows:
        cols.extend(k for k in r if k not in cols)
    if fmt == "json":
        sys.stdout.write(json.dumps(list(rows), ensure_ascii=False, default=str, indent=2) + "\n")
    elif fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(cols)
        for r in rows:
            w.writerow([_cell(r.get(c)) for c in cols])
    else:
        t = Table(*cols, caption=f"{len(rows)} row(s)")
        for r in rows:
            t.add_row(*(_cell(r.get(c)) for c in cols))
        console.print(t)


def print_stats(s: GraphStats) -> None:
    t = Table("what", "count", title="graph statistics")
    for k in ("documents", "entities", "facts", "evidence"):
        t.add_row(k, str(getattr(s, k)))
    # not accepted, so not part of "facts" (what the view shows): counted apart
    t.add_row("rejected facts", str(s.rejected_facts))
    t.add_row("candidate facts", str(s.candidate_facts))
    for k, v in s.entity_types.items():
        t.add_row(f"  entity type {k}", str(v))
    for k, v in s.relation_types.items():
        t.add_row(f"  relation {k}", str(v))
    console.print(t)
