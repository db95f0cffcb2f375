"""Find input files and turn them into :class:`~kgkit.types.Document` objects.

One reader per media type; every failure becomes a :class:`~kgkit.errors.DocumentReadError` with the
reason, so an ingest run can report the file and carry on.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

from kgkit.errors import DocumentReadError
from kgkit.ingest.decoding import DecodedText, clean_text, decode_text
from kgkit.ingest.paths import path_to_text
from kgkit.ingest.scanning import DEFAULT_INCLUDE, IGNORE_FILE, SourceFile, scan_folder
from kgkit.types import Document

__all__ = [
    "DEFAULT_INCLUDE",
    "IGNORE_FILE",
    "SourceFile",
    "ReadResult",
    "scan_folder",
    "read_document",
    "read_source",
    "decode_bytes",
    "ParsedText",
    "Reader",
    "reader_table",
    "TEXT_READER",
    "MARKDOWN_READER",
    "HTML_READER",
    "PDF_READER",
]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_READ_BLOCK = 1 << 20


def decode_bytes(data: bytes, path: str = "<bytes>") -> tuple[str, str]:
    """Decode ``data`` to text (see :func:`kgkit.ingest.decoding.decode_text`); returns ``(text, encoding)``."""
    d = decode_text(data, path)
    return d.text, d.encoding


# -- readers ----------------------------------------------------------------------------------------

# Bounded and line-local where possible, so no pattern can backtrack across a whole hostile file.
_MD_LINK = re.compile(r"!?\[([^\[\]\n]{0,500})\]\([^()\n]{0,2000}\)")
_MD_MARKS = re.compile(r"(\*\*|__|`{1,3}|~~)")
_MD_HEAD = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]*", re.MULTILINE)
_MD_TITLE = re.compile(r"^[ \t]{0,3}#[ \t]+(.+)$", re.MULTILINE)
_MD_LIST = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+", re.MULTILINE)
_MD_QUOTE = re.compile(r"^[ \t]*>[ \t]?", re.MULTILINE)
_MD_FRONT = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
# <br> becomes a line break before parsing: replacing 200k <br> tags in the parsed tree costs a
# list scan each (quadratic), a regex pass over the text is linear.
_HTML_BR = re.compile(r"<br\b[^<>]{0,200}>", re.IGNORECASE)
_HTML_DROP = ["script", "style", "nav", "header", "footer", "noscript", "template", "svg", "form"]
_HTML_BLOCKS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "th", "blockquote", "pre", "dd", "dt",
                          "figcaption"})


@dataclass(frozen=True, slots=True)
class ParsedText:
    """What a reader makes of a file's bytes: text (cleaned afterwards), its encoding, a title, repairs made."""

    text: str
    encoding: str
    title: str | None
    warnings: tuple[str, ...] = ()


def _read_text(data: bytes, path: str) -> ParsedText:
    d = decode_text(data, path)
    return ParsedText(d.text, d.encoding, None, d.warnings)


def _read_markdown(data: bytes, path: str) -> ParsedText:
    d = decode_text(data, path)
    text = _MD_FRONT.sub("", d.text)
    title_m = _MD_TITLE.search(text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_HEAD.sub("", text)
    text = _MD_LIST.sub("\n", text)  # each list item becomes its own paragraph
    text = _MD_QUOTE.sub("", text)
    text = _MD_MARKS.sub("", text)
    return ParsedText(text, d.encoding, title_m.group(1).strip() if title_m else None, d.warnings)


def _html_blocks(soup: object) -> list[str]:
    """Text of the outermost block elements, in document order, in one pass over the tree.

    A block inside another block is part of the outer one's text, so it is not repeated.
    """
    from bs4 import Tag

    blocks: list[str] = []
    stack: list[Tag] = [soup]  # type: ignore[list-item]
    while stack:
        node = stack.pop()
        if node.name in _HTML_BLOCKS:
            t = " ".join(node.get_text("").split())  # "" keeps "<b>London</b>." as "London."
            if t:
                blocks.append(t)
            continue
        stack.extend(c for c in reversed(node.contents) if isinstance(c, Tag))
    return blocks


def _read_html(data: bytes, path: str) -> ParsedText:
    from bs4 import BeautifulSoup

    from bs4.exceptions import ParserRejectedMarkup

    d = decode_text(data, path)
    try:
        soup = BeautifulSoup(_HTML_BR.sub("\n", d.text), "html.parser")
        for tag in soup(_HTML_DROP):
            tag.decompose()
        title = soup.title.get_text(strip=True) if soup.title else None
        if soup.title:
            soup.title.decompose()
        blocks = _html_blocks(soup)
        body = "\n\n".join(blocks) if blocks else " ".join(soup.get_text(" ", strip=True).split())
    except (ParserRejectedMarkup, RecursionError, AssertionError) as err:
        raise DocumentReadError(path, f"cannot parse HTML ({type(err).__name__}: {err})", kind="bad_html",
                                fix="check the file in a browser or an HTML validator, or exclude it") from err
    return ParsedText(body, d.encoding, title, d.warnings)


def _pdf_error(path: str, err: BaseException) -> DocumentReadError:
    return DocumentReadError(path, f"cannot parse PDF ({type(err).__name__}: {err})", kind="bad_pdf",
                             fix="check that it opens in a PDF viewer; re-save or print it to a new PDF, or exclude it")


def _read_pdf(data: bytes, path: str) -> ParsedText:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

    encrypted = DocumentReadError(path, "encrypted PDF, skipped", kind="encrypted_pdf",
                                  fix="save an unencrypted copy (e.g. qpdf --decrypt in.pdf out.pdf) or exclude it")
    # pypdf raises many kinds of errors on damaged files; these are the ones a bad file can cause,
    # and all of them mean "this file", never "stop the run".
    damaged = (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
               ZeroDivisionError, OverflowError, AssertionError, struct.error, zlib.error)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise encrypted
        pages = [(p.extract_text() or "").strip() for p in reader.pages]
        meta = reader.metadata
        title = str(meta.title) if meta is not None and meta.title else None
    except (DependencyError, FileNotDecryptedError) as err:
        # AES needs the optional `cryptography` package; without a password no package helps.
        raise encrypted from err
    except damaged as err:
        raise _pdf_error(path, err) from err
    return ParsedText("\n\n".join(p for p in pages if p), "pdf", title)


@dataclass(frozen=True, slots=True)
class Reader:
    """One file type: the suffixes it reads by default, the media type, and ``parse(data, path)``.

    ``parse`` raises :class:`DocumentReadError` (with the reason and the fix) for a file it cannot read.
    Register one under a name in :data:`kgkit.registry.readers` (entry-point group ``kgkit.readers``).
    """

    media_type: str
    suffixes: tuple[str, ...]
    parse: Callable[[bytes, str], ParsedText]


TEXT_READER = Reader("text/plain", (".txt", ".text"), _read_text)
MARKDOWN_READER = Reader("text/markdown", (".md", ".markdown"), _read_markdown)
HTML_READER = Reader("text/html", (".html", ".htm"), _read_html)
PDF_READER = Reader("application/pdf", (".pdf",), _read_pdf)


def reader_table(by_suffix: Mapping[str, str] | None = None) -> dict[str, Reader]:
    """Suffix -> reader: every registered reader's own suffixes (kgkit's first, then plugins' for suffixes
    nobody claimed), then ``by_suffix`` (a pipeline's ``ingest.readers``: suffix -> reader name) on top.

    Raises:
        ConfigError: a name in ``by_suffix`` is not a registered reader.
    """
    from kgkit.registry import readers

    table: dict[str, Reader] = {}
    for name in readers.names():
        r: Reader = readers.get(name)
        for suffix in r.suffixes:
            table.setdefault(suffix.lower(), r)
    for suffix, name in (by_suffix or {}).items():
        table[_suffix(suffix)] = readers.get(name)
    return table


def _suffix(s: str) -> str:
    s = s.strip().lower()
    return s if s.startswith(".") else f".{s}"


def _too_large(path: str, size: str, max_bytes: int) -> DocumentReadError:
    return DocumentReadError(path, f"file is {size}, over the {max_bytes / 1e6:.1f} MB limit", kind="too_large",
                             fix="raise ingest.max_bytes in the pipeline (or --max-bytes), or exclude it")


def _read_bytes(src: SourceFile, path: str, max_bytes: int) -> bytes:
    """At most ``max_bytes`` of a regular file; never opens a device, FIFO or socket, never blocks."""
    try:
        st = os.stat(src.path)
        if not stat.S_ISREG(st.st_mode):
            raise DocumentReadError(path, "not a regular file (device, FIFO or socket); never read", kind="not_regular_file",
                                    fix="exclude it, or replace it with a regular file")
        if st.st_size > max_bytes:
            raise _too_large(path, f"{st.st_size / 1e6:.1f} MB", max_bytes)
        # O_NONBLOCK: if the path was swapped for a FIFO since the stat, open returns at once.
        fd = os.open(src.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise DocumentReadError(path, "not a regular file; never read", kind="not_regular_file",
                                        fix="exclude it, or replace it with a regular file")
            parts: list[bytes] = []
            left = max_bytes + 1  # one byte more than allowed tells "too large" from "exactly at the limit"
            while left > 0:
                block = os.read(fd, min(left, _READ_BLOCK))
                if not block:
                    break
                parts.append(block)
                left -= len(block)
        finally:
            os.close(fd)
    except PermissionError as err:
        raise DocumentReadError(path, "permission denied", kind="permission_denied",
                                fix="make the file readable (chmod +r) or exclude it") from err
    except OSError as err:
        raise DocumentReadError(path, f"cannot read file ({err.strerror or err})", kind="unreadable",
                                fix="check the file and its folder, or exclude it") from err
    data = b"".join(parts)
    if len(data) > max_bytes:
        raise _too_large(path, f"over {max_bytes / 1e6:.1f} MB (it grew while being read)", max_bytes)
    return data


@dataclass(frozen=True, slots=True)
class ReadResult:
    """A document and the repairs made while reading it (replaced bytes, removed NULs, ...)."""

    document: Document
    warnings: tuple[str, ...] = ()


def read_source(src: SourceFile, *, max_bytes: int = DEFAULT_MAX_BYTES,
                readers: Mapping[str, Reader] | None = None) -> ReadResult:
    """Read, decode and reduce one file to text. Raises :class:`DocumentReadError` with the reason and the fix.

    ``readers`` is a :func:`reader_table` (default: every registered reader's suffixes).
    """
    path = src.text_path
    table = reader_table() if readers is None else readers
    reader = table.get(src.path.suffix.lower())
    if reader is None:
        raise DocumentReadError(path, f"no reader for '{path_to_text(src.path.suffix)}' files", kind="no_reader",
                                fix=f"supported: {', '.join(sorted(table))}; exclude the others or register a reader")
    data = _read_bytes(src, path, max_bytes)
    media_type = reader.media_type
    parsed = reader.parse(data, path)
    cleaned: DecodedText = clean_text(parsed.text, parsed.encoding, list(parsed.warnings))
    title = clean_text(parsed.title, "").text if parsed.title else None
    doc = Document(id=src.doc_id, path=path, text=cleaned.text, content_hash=hashlib.sha256(data).hexdigest(),
                   media_type=media_type, encoding=parsed.encoding, title=title)
    return ReadResult(doc, cleaned.warnings)


def read_document(src: SourceFile, *, max_bytes: int = DEFAULT_MAX_BYTES,
                  readers: Mapping[str, Reader] | None = None) -> Document:
    """Read and decode one file (see :func:`read_source`, which also returns the repairs made)."""
    return read_source(src, max_bytes=max_bytes, readers=readers).document


def iter_documents(files: Iterable[SourceFile], **kwargs: Any) -> Iterator[Document | DocumentReadError]:
    """Read files one by one, yielding the error instead of raising for a bad file."""
    for f in files:
        try:
            yield read_document(f, **kwargs)
        except DocumentReadError as err:
            yield err
