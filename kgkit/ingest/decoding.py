"""Bytes to text without silent damage: byte-order marks, stray bytes, NUL bytes.

Every repair that changes the text (a replaced byte, a removed NUL) is returned as a warning, so the
ingest report can say what happened to which file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kgkit.errors import DocumentReadError

__all__ = ["DecodedText", "decode_text", "clean_text"]

# UTF-32 marks first: the UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
_SNIFF = 8192  # a NUL in the first 8 KiB (without a byte-order mark) means binary
_MAX_NUL_SHARE = 0.001  # more NULs than this anywhere also means binary
_MAX_BAD_SHARE = 0.01  # at most 1% invalid UTF-8 sequences may be replaced ...
_MIN_GOOD_PER_BAD = 2  # ... and only if valid multi-byte UTF-8 is at least twice as common
_BINARY_FIX = ("only text, Markdown, HTML and PDF are read; if this is UTF-16/32 text without a byte-order mark, "
               "convert it to UTF-8 (iconv -f UTF-16 -t UTF-8), else exclude it")


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    encoding: str
    warnings: tuple[str, ...] = ()


def _replaced(text: str, data: bytes) -> int:
    """How many U+FFFD the decoder introduced (those already in ``data`` do not count)."""
    return text.count("\ufffd") - data.count(b"\xef\xbf\xbd")


def decode_text(data: bytes, path: str = "<bytes>") -> DecodedText:
    """Decode ``data``: a byte-order mark wins, then UTF-8 (also with a few stray bytes), then detection.

    Raises:
        DocumentReadError: (kind ``binary`` or ``encoding``) for binary data or an unknown encoding.
    """
    warnings: list[str] = []
    for bom, enc in _BOMS:
        if data.startswith(bom):
            body = data[len(bom):] if enc != "utf-8-sig" else data
            text = body.decode(enc, errors="replace")
            bad = _replaced(text, body)
            if bad:
                warnings.append(f"{bad} invalid {enc} sequence(s) replaced with U+FFFD")
            return clean_text(text, enc, warnings)
    nuls = data.count(0)
    if nuls:
        if b"\x00" in data[:_SNIFF] or nuls > len(data) * _MAX_NUL_SHARE:
            raise DocumentReadError(path, "looks like a binary file (NUL bytes)", kind="binary", fix=_BINARY_FIX)
        data = data.replace(b"\x00", b"")
        warnings.append(f"{nuls} NUL byte(s) removed")
    try:
        return DecodedText(data.decode("utf-8"), "utf-8", tuple(warnings))
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    bad = _replaced(text, data)
    non_ascii = len(text) - len(text.encode("ascii", "ignore")) - text.count("\ufffd")
    if bad <= max(1, len(data) * _MAX_BAD_SHARE) and non_ascii >= _MIN_GOOD_PER_BAD * bad:
        warnings.append(f"{bad} invalid UTF-8 byte sequence(s) replaced with U+FFFD; the rest is valid UTF-8")
        return DecodedText(text, "utf-8", tuple(warnings))
    best = _detect(data)
    if best is None or best.encoding is None:
        raise DocumentReadError(path, "cannot detect the text encoding", kind="encoding",
                                fix="convert the file to UTF-8 (iconv -t UTF-8) or exclude it")
    return clean_text(str(best), best.encoding, warnings)


# Tie-break for detection: on short texts several code pages decode without "chaos" (KOI8-R text
# also reads as Thai cp874); the more widely used one is the better guess.
_COMMON = ("utf_8", "cp1252", "latin_1", "iso8859_15", "cp1251", "koi8_r", "cp1250", "iso8859_2", "shift_jis", "euc_jp",
           "gb18030", "big5", "euc_kr", "cp1253", "iso8859_7", "cp1254", "iso8859_9", "cp1255", "cp1256", "cp1257")


def _detect(data: bytes) -> Any:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return None
    top = matches[0]
    ties = [m for m in matches if m.chaos == top.chaos and m.coherence == top.coherence]
    return min(ties, key=lambda m: _COMMON.index(m.encoding) if m.encoding in _COMMON else len(_COMMON))


def clean_text(text: str, encoding: str, warnings: list[str] | None = None) -> DecodedText:
    """Remove what no store can hold (NUL characters, lone surrogates), with a warning for each repair."""
    warns = list(warnings or ())
    if "\x00" in text:
        warns.append(f"{text.count(chr(0))} NUL character(s) removed")
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        fixed = text.encode("utf-8", errors="replace").decode("utf-8")
        warns.append("unpaired surrogate character(s) replaced with '?'")
        text = fixed
    return DecodedText(text, encoding, tuple(warns))
