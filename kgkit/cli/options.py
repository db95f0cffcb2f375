"""Helpers for list options: every list option takes repeated flags *and* comma-separated values."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

__all__ = ["split_values", "split_paths"]

def split_values(values: Iterable[str] | None) -> list[str]:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (empty parts dropped, order kept, duplicates removed).

    >>> split_values(["DBLP-ACM,Abt-Buy", "Abt-Buy", " Amazon-Google "])
    ['DBLP-ACM', 'Abt-Buy', 'Amazon-Google']
    """
    out = [p.strip() for v in values or [] for p in str(v).split(",")]
    return list(dict.fromkeys(p for p in out if p))


def split_paths(values: Iterable[Path | str] | None) -> list[Path]:
    """Paths given as repeated options or comma-separated, in order, without duplicates."""
    return [Path(p) for p in split_values(str(v) for v in values or [])]
