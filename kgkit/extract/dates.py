"""Normalise date mentions to ISO strings so that "7 November 1867" and "November 7, 1867" agree."""

from __future__ import annotations

import re

__all__ = ["normalize_date"]

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"], 1)}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY = re.compile(r"^(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([A-Za-z]+)\.?,?\s+(\d{3,4})$")
_MDY = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{3,4})$")
_MY = re.compile(r"^([A-Za-z]+)\.?,?\s+(\d{3,4})$")
_Y = re.compile(r"^(?:in\s+)?(\d{3,4})$")


def normalize_date(text: str) -> str | None:
    """Return ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` for an absolute date, else ``None``.

    >>> normalize_date("7 November 1867"), normalize_date("November 7, 1867"), normalize_date("1921")
    ('1867-11-07', '1867-11-07', '1921')
    >>> normalize_date("last year") is None
    True
    """
    t = " ".join(text.strip().strip(".,").split())
    if m := _ISO.match(t):
        return _fmt(int(m[1]), int(m[2]), int(m[3]))
    if (m := _DMY.match(t)) and m[2].lower() in _MONTHS:
        return _fmt(int(m[3]), _MONTHS[m[2].lower()], int(m[1]))
    if (m := _MDY.match(t)) and m[1].lower() in _MONTHS:
        return _fmt(int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
    if (m := _MY.match(t)) and m[1].lower() in _MONTHS:
        return f"{int(m[2]):04d}-{_MONTHS[m[1].lower()]:02d}"
    if m := _Y.match(t):
        return f"{int(m[1]):04d}"
    return None


def _fmt(y: int, mo: int, d: int) -> str | None:
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"
