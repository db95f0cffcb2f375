"""Literal values (numbers, dates, quoted strings): keys to compare them, and the format each relation uses.

Training data writes a relation's values in one house style ("2776.0" for runway lengths, "1908-05-02"
or "01 January 1868" for dates, quoted strings for names). :func:`value_format` learns that style per
relation from the gold objects, and :func:`format_value` writes a mention found in text ("3,684",
"May 2, 1908", "1868") in it, so extracted values equal the stored ones.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from kgkit.extract.dates import normalize_date

__all__ = ["FORMATS", "date_value", "format_value", "number_value", "value_format", "value_keys"]

_NUM = re.compile(r"^[-−–]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^[-−–]?\d+(?:\.\d+)?$")
_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December"]
_ORDINAL = re.compile(r"(\d)(st|nd|rd|th)\b")
FORMATS = ("iso", "dmy", "float", "int", "unit:<unit>", "quoted", "plain")


def number_value(text: str) -> float | None:
    """``"3,684"`` -> 3684.0; ``"−6"`` -> -6.0; anything that is not a plain number -> ``None``."""
    t = text.strip().strip('"')
    if not _NUM.match(t):
        return None
    try:
        return float(t.replace(",", "").replace("−", "-").replace("–", "-"))
    except ValueError:
        return None


def date_value(text: str) -> str | None:
    """ISO date of a date written any common way (``"July 7th, 1944"``, ``"01 January 1868"``), else ``None``."""
    t = _ORDINAL.sub(r"\1", text.strip().strip('"'))
    if re.fullmatch(r"\d+(\.\d+)?", t) and not re.fullmatch(r"1\d{3}|20\d{2}", t):
        return None  # a bare number is a date only when it looks like a year
    return normalize_date(t)


def value_keys(text: str) -> set[str]:
    """Comparison keys of a literal: its number, its date (and year when the day is 01 January)."""
    keys: set[str] = set()
    n = number_value(text)
    if n is not None:
        keys.add(f"num:{n:g}")
    d = date_value(text)
    if d is not None:
        keys.add(f"date:{d}")
        if d.endswith("-01-01"):
            keys.add(f"date:{d[:4]}")  # "01 January 1868" is how Wikidata writes "1868"
    return keys


_UNIT = re.compile(r"^[-−]?\d+(?:\.\d+)? \(([^()]+)\)$")


def _format_of(value: str) -> str:
    v = value.strip()
    if m := _UNIT.match(v):
        return f"unit:{m[1]}"  # DBpedia writes measures as "155.0 (kelvins)"
    if v.startswith('"') and v.endswith('"') and len(v) > 1:
        return "quoted"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        return "iso"
    if re.fullmatch(r"\d{2} [A-Z][a-z]+ \d{3,4}", v):
        return "dmy"
    if re.fullmatch(r"[-−]?\d+\.\d+", v):
        return "float"
    if re.fullmatch(r"[-−]?\d+", v):
        return "int"
    return "plain"


def value_format(values: Iterable[str]) -> str:
    """The most common format of a relation's gold objects."""
    counts = Counter(_format_of(v) for v in values)
    return counts.most_common(1)[0][0] if counts else "plain"


def format_value(surface: str, fmt: str) -> str:
    """Write a literal seen in text in a relation's format (unchanged when it does not apply)."""
    s = surface.strip()
    if fmt == "quoted":
        return s if s.startswith('"') else f'"{s}"'
    if fmt in ("iso", "dmy"):
        d = date_value(s)
        if d is None:
            return s
        if fmt == "iso":
            return d
        y, m, dd = (d.split("-") + ["01", "01"])[:3]
        return f"{int(dd):02d} {_MONTH_NAMES[int(m) - 1]} {y}"
    if fmt.startswith("unit:"):
        n = number_value(s)
        return s if n is None else f"{format_value(s, 'float')} ({fmt[5:]})"
    if fmt in ("float", "int"):
        n = number_value(s)
        if n is None:
            return s
        if fmt == "float":
            return f"{n:.1f}" if n == int(n) else f"{n:g}" if abs(n) < 1e15 else str(n)
        return str(int(n)) if n == int(n) else f"{n:g}"
    return s
