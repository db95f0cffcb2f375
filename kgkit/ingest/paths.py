"""Paths as text that every store and the ledger can hold, and back.

POSIX file names are bytes; Python shows the bytes that are not valid UTF-8 as lone surrogates
(``surrogateescape``), which SQLite, Redis and Neo4j refuse. :func:`path_to_text` writes such bytes as
``\\xNN`` and a literal backslash as ``\\\\``, so the text is valid UTF-8 and :func:`text_to_path`
gives back the exact original bytes.

    >>> import os
    >>> p = os.fsdecode(b"caf\\xe9\\\\menu.txt")
    >>> path_to_text(p)
    'caf\\\\xe9\\\\\\\\menu.txt'
    >>> os.fsencode(text_to_path(path_to_text(p)))
    b'caf\\xe9\\\\menu.txt'
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from kgkit.types import stable_hash

__all__ = ["path_to_text", "text_to_path", "root_id"]

_ESCAPE = re.compile(r"[\\\udc80-\udcff]")
_UNESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2})")


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    return "\\\\" if ch == "\\" else f"\\x{ord(ch) - 0xDC00:02x}"


def path_to_text(path: str | os.PathLike[str]) -> str:
    """A valid-UTF-8, reversible spelling of ``path`` (see the module docstring)."""
    return _ESCAPE.sub(_escape, os.fsdecode(path))


def text_to_path(text: str) -> Path:
    """The path :func:`path_to_text` spelled as ``text``."""
    if "\\" not in text:
        return Path(text)
    out = bytearray()
    pos = 0
    for m in _UNESCAPE.finditer(text):
        out += text[pos : m.start()].encode("utf-8")
        tok = m.group(1)
        out += b"\\" if tok == "\\" else bytes([int(tok[1:], 16)])
        pos = m.end()
    out += text[pos:].encode("utf-8")
    return Path(os.fsdecode(bytes(out)))


def root_id(resolved_root: str | os.PathLike[str]) -> str:
    """A short id of an ingest root's resolved absolute path; part of every document id under it."""
    return stable_hash(path_to_text(resolved_root), length=8)
