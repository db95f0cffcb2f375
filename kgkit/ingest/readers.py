"""Find input files and turn them into :class:`~kgkit.types.Document` objects.

One reader per media type; every failure becomes a :class:`~kgkit.errors.DocumentReadError` with the
reason, so an ingest run can report the file and carry on.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from kgkit.errors import DocumentReadError, IngestError
from kgkit.types import Document

__all__ = [
    "DEFAULT_INCLUDE",
    "SourceFile",
    "scan_folder",
    "read_document",
    "decode_bytes",
    "READERS",
]

DEFAULT_INCLUDE = ("**/*.txt", "**/*.md", "**/*.markdown", "**/*.html", "**/*.htm", "**/*.pdf")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
IGNORE_FILE = ".kgkitignore"


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file found by :func:`scan_folder`; ``doc_id`` is stable across runs and machines."""

    path: Path
    doc_id: str
    size: int
    mtime_ns: int


def _match(rel: str, patterns: Iterable[str]) -> bool:
    for pat in patterns:
        if fnmatch.fnmatch(rel, pat) or (pat.startswith("**/") and fnmatch.fnmatch(rel, pat[3:])):
            return True
    return False


def scan_folder(
    root: str | Path,
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = (),
) -> list[SourceFile]:
    """List the files under ``root`` matching ``include`` and not ``exclude`` (glob patterns).

    Patterns in a ``.kgkitignore`` file at the root are added to ``exclude``. Hidden files and
    folders are skipped. The document id is ``<root folder name>/<relative path>``.
    """
    root = Path(root)
    if not root.is_dir():
        raise IngestError(f"{root} is not a folder; pass the folder of documents to ingest")
    exclude = list(exclude)
    ignore = root / IGNORE_FILE
    if ignore.is_file():
        exclude += [ln.strip() for ln in ignore.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    out: list[SourceFile] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if not _match(rel, include) or _match(rel, exclude):
                continue
            try:
                st = path.stat()
            except OSError:
                continue  # vanished between listing and stat
            out.append(SourceFile(path, f"{root.resolve().name}/{rel}", st.st_size, st.st_mtime_ns))
    return out


# -- decoding ---------------------------------------------------------------------------------------

def decode_bytes(data: bytes, path: str = "<bytes>") -> tuple[str, str]:
    """Decode ``data`` to text: UTF-8 (with or without BOM), else the best guess of charset-normalizer.

    Returns ``(text, encoding)``. Raises :class:`DocumentReadError` for binary data.
    """
    if b"\x00" in data[:8192]:
        raise DocumentReadError(path, "looks like a binary file (NUL bytes); only text, Markdown, HTML and PDF are read")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise DocumentReadError(path, "cannot detect the text encoding; convert the file to UTF-8")
    return str(best), best.encoding


# -- readers ----------------------------------------------------------------------------------------

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(\*\*|__|`{1,3}|~~)")
_MD_HEAD = re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE)
_MD_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)
_MD_QUOTE = re.compile(r"^\s*>\s?", re.MULTILINE)
_MD_FRONT = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)


def _read_text(data: bytes, path: str) -> tuple[str, str, str | None]:
    text, enc = decode_bytes(data, path)
    return text, enc, None


def _read_markdown(data: bytes, path: str) -> tuple[str, str, str | None]:
    text, enc = decode_bytes(data, path)
    text = _MD_FRONT.sub("", text)
    title_m = re.search(r"^\s{0,3}#\s+(.+)$", text, re.MULTILINE)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_HEAD.sub("", text)
    text = _MD_LIST.sub("\n", text)  # each list item becomes its own paragraph
    text = _MD_QUOTE.sub("", text)
    text = _MD_MARKS.sub("", text)
    return text, enc, title_m.group(1).strip() if title_m else None


def _read_html(data: bytes, path: str) -> tuple[str, str, str | None]:
    from bs4 import BeautifulSoup

    text, enc = decode_bytes(data, path)
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript", "template", "svg", "form"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else None
    if soup.title:
        soup.title.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    blocks = []
    for el in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "th", "blockquote", "pre", "dd", "dt", "figcaption"]):
        if el.find_parent(["p", "li", "td", "th", "blockquote", "pre", "dd", "dt"]) is not None:
            continue
        t = " ".join(el.get_text("").split())  # "" keeps "<b>London</b>." as "London."
        if t:
            blocks.append(t)
    body = "\n\n".join(blocks) if blocks else " ".join(soup.get_text(" ", strip=True).split())
    return body, enc, title


def _read_pdf(data: bytes, path: str) -> tuple[str, str, str | None]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [(p.extract_text() or "").strip() for p in reader.pages]
    except (PdfReadError, ValueError, KeyError) as err:
        raise DocumentReadError(path, f"cannot parse PDF ({err}); is it encrypted or damaged?") from err
    title = None
    if reader.metadata is not None and reader.metadata.title:
        title = str(reader.metadata.title)
    return "\n\n".join(p for p in pages if p), "pdf", title


READERS: dict[str, tuple[str, Callable[[bytes, str], tuple[str, str, str | None]]]] = {
    ".txt": ("text/plain", _read_text),
    ".text": ("text/plain", _read_text),
    ".md": ("text/markdown", _read_markdown),
    ".markdown": ("text/markdown", _read_markdown),
    ".html": ("text/html", _read_html),
    ".htm": ("text/html", _read_html),
    ".pdf": ("application/pdf", _read_pdf),
}


def read_document(src: SourceFile, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read and decode one file. Raises :class:`DocumentReadError` with the reason and the fix."""
    path = str(src.path)
    reader = READERS.get(src.path.suffix.lower())
    if reader is None:
        raise DocumentReadError(path, f"no reader for '{src.path.suffix}' files; supported: {', '.join(sorted(READERS))}")
    if src.size > max_bytes:
        raise DocumentReadError(
            path, f"file is {src.size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit; raise ingest.max_bytes in the pipeline YAML (--pipeline)"
        )
    try:
        data = src.path.read_bytes()
    except PermissionError as err:
        raise DocumentReadError(path, "permission denied; make the file readable (chmod +r) or exclude it") from err
    except OSError as err:
        raise DocumentReadError(path, f"cannot read file: {err.strerror or err}") from err
    media_type, fn = reader
    text, encoding, title = fn(data, path)
    return Document(
        id=src.doc_id, path=path, text=text, content_hash=hashlib.sha256(data).hexdigest(),
        media_type=media_type, encoding=encoding, title=title,
    )


def iter_documents(files: Iterable[SourceFile], **kwargs: int) -> Iterator[Document | DocumentReadError]:
    """Read files one by one, yielding the error instead of raising for a bad file."""
    for f in files:
        try:
            yield read_document(f, **kwargs)
        except DocumentReadError as err:
            yield err
