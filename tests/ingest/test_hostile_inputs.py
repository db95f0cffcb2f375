"""Hostile files at the reader and folder-walk level: each is reported with a reason and a fix, never a crash or a hang."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from kgkit.errors import DocumentReadError
from kgkit.ingest import readers
from kgkit.ingest.chunking import SentenceChunker
from kgkit.ingest.decoding import decode_text
from kgkit.ingest.ledger import Ledger
from kgkit.ingest.paths import path_to_text, text_to_path
from kgkit.ingest.readers import SourceFile, read_document, read_source
from kgkit.ingest.scanning import scan

sys.path.insert(0, str(Path(__file__).parent))
from pdf_fixtures import aes_encrypted_pdf, password_pdf  # noqa: E402


def _only(root: Path) -> SourceFile:
    files = scan(root).files
    assert len(files) == 1, files
    return files[0]


def _kinds(root: Path, **kw) -> dict[str, str]:
    return {Path(s.path).name: s.kind for s in scan(root, **kw).skipped}


# -- names and paths ----------------------------------------------------------------------------

def test_non_utf8_file_name_is_read_and_stored_as_reversible_text(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9 \\ men\xfc.txt"
    with open(raw, "wb") as fh:
        fh.write(b"Ada Lovelace was born in London.")
    src = _only(tmp_path)
    assert "\\xe9" in src.doc_id and "\\\\" in src.doc_id
    src.doc_id.encode("utf-8")  # storable in SQLite, Redis, Neo4j
    doc = read_document(src)
    assert doc.text == "Ada Lovelace was born in London."
    assert os.fsencode(text_to_path(doc.path)) == raw, "the stored path gives back the exact file name"
    with Ledger(tmp_path / "l.sqlite") as ledger:  # used to raise UnicodeEncodeError
        ledger.mark(src.doc_id, root=path_to_text(tmp_path), path=doc.path, status="done")
        assert ledger.get(src.doc_id).path == doc.path


def test_extensions_match_case_insensitively(tmp_path: Path) -> None:
    for name in ("a.TXT", "b.Md", "c.HTML", "d.txt", "e.png"):
        (tmp_path / name).write_text("x")
    found = scan(tmp_path)
    assert sorted(f.path.name for f in found.files) == ["a.TXT", "b.Md", "c.HTML", "d.txt"]
    assert found.not_matched == 1
    assert read_document(next(f for f in found.files if f.path.name == "b.Md")).media_type == "text/markdown"


# -- things that are not regular files ----------------------------------------------------------

def test_fifo_named_txt_is_reported_and_never_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    assert _kinds(tmp_path) == {"pipe.txt": "not_regular_file"}
    # even handed to the reader directly (e.g. swapped in after the walk), it must not block
    outcome: list[BaseException] = []
    t = threading.Thread(target=lambda: _catch(outcome, SourceFile(fifo, "x/pipe.txt", 0, 0)), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "reading a FIFO blocked"
    assert isinstance(outcome[0], DocumentReadError) and outcome[0].kind == "not_regular_file"


def _catch(out: list[BaseException], src: SourceFile) -> None:
    try:
        read_document(src)
    except DocumentReadError as err:
        out.append(err)


def test_symlink_to_dev_zero_is_never_read(tmp_path: Path) -> None:
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    assert _kinds(tmp_path) == {"zero.txt": "symlink_outside"}
    # following links outside the folder is allowed on request, but a device still is not read
    assert _kinds(tmp_path, follow_symlinks=True) == {"zero.txt": "not_regular_file"}
    with pytest.raises(DocumentReadError) as err:
        read_document(SourceFile(tmp_path / "zero.txt", "x/zero.txt", 0, 0))
    assert err.value.kind == "not_regular_file"


def test_symlink_outside_the_folder_is_reported_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("root:x:0:0")
    root = tmp_path / "docs"
    root.mkdir()
    (root / "passwd.txt").symlink_to(outside / "secret.txt")
    (root / "more").symlink_to(outside)
    (root / "inner.txt").write_text("Ada.")
    (root / "alias.txt").symlink_to(root / "inner.txt")  # inside the folder: fine
    found = scan(root)
    assert {s.kind for s in found.skipped} == {"symlink_outside"}
    assert {Path(s.path).name for s in found.skipped} == {"passwd.txt", "more"}
    assert all("follow_symlinks" in s.fix for s in found.skipped)
    assert sorted(f.path.name for f in found.files) == ["alias.txt", "inner.txt"]
    followed = scan(root, follow_symlinks=True)
    assert sorted(str(f.path.relative_to(root)) for f in followed.files) == ["alias.txt", "inner.txt", "more/secret.txt", "passwd.txt"]


def test_symlink_loops_are_reported(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("A.")
    (tmp_path / "sub" / "up").symlink_to(tmp_path)  # loop through an ancestor
    (tmp_path / "self.txt").symlink_to(tmp_path / "self.txt")  # ELOOP
    kinds = _kinds(tmp_path)
    assert kinds == {"up": "symlink_loop", "self.txt": "symlink_loop"}
    assert [f.path.name for f in scan(tmp_path).files] == ["a.txt"]
    # a loop that leaves the folder and comes back is caught when following links
    inner = tmp_path / "sub" / "inner"
    inner.mkdir()
    (inner / "back").symlink_to(tmp_path / "sub")
    found = scan(inner, follow_symlinks=True)
    assert any(s.kind == "symlink_loop" for s in found.skipped)


def test_unreadable_folder_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.txt").write_text("A.")
    (tmp_path / "b.txt").write_text("B.")
    real = os.scandir

    def deny(path):  # root ignores modes; do what the OS does for an ordinary user
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", deny)
    found = scan(tmp_path)
    assert [f.path.name for f in found.files] == ["b.txt"]
    assert [(Path(s.path).name, s.kind) for s in found.skipped] == [("locked", "unreadable_folder")]
    assert "chmod" in found.skipped[0].fix


# -- content ------------------------------------------------------------------------------------

def test_read_stops_after_max_bytes_plus_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "grows.txt"
    f.write_bytes(b"Paris is in France. " * 50_000)  # 1 MB
    src = _only(tmp_path)
    real_stat, real_read = os.stat, os.read
    read_total = [0]

    def small_stat(path, *a, **kw):  # the file "grew" after the walk: stat says it is small
        st = real_stat(path, *a, **kw)
        if Path(path) == f:
            return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, 10,
                                   st.st_atime, st.st_mtime, st.st_ctime))
        return st

    def counting_read(fd, n):
        data = real_read(fd, n)
        read_total[0] += len(data)
        return data

    monkeypatch.setattr(os, "stat", small_stat)
    monkeypatch.setattr(os, "read", counting_read)
    with pytest.raises(DocumentReadError) as err:
        read_document(src, max_bytes=4096)
    assert err.value.kind == "too_large" and "max_bytes" in str(err.value)
    assert read_total[0] == 4097


def test_nul_byte_after_8_kib_is_removed_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"Marie Curie was born in Warsaw. " * 400 + b"\x00" + b"She moved to Paris.")
    res = read_source(_only(tmp_path))
    assert "\x00" not in res.document.text and res.document.text.endswith("She moved to Paris.")
    assert any("NUL" in w for w in res.warnings)


def test_many_nul_bytes_mean_binary(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"text " * 3000 + b"\x00\x01" * 500)
    with pytest.raises(DocumentReadError) as err:
        read_document(_only(tmp_path))
    assert err.value.kind == "binary"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_with_bom_are_text(codec: str) -> None:
    text = "Kurt Gödel was born in Brünn. Ω ≠ ∞."
    data = text.encode(codec)
    if not codec.endswith(("16", "32")):  # explicit-endian codecs write no mark; add it
        data = "\ufeff".encode(codec) + data
    d = decode_text(data)
    assert d.text == text and not d.warnings


def test_one_stray_byte_in_utf8_is_not_mojibake() -> None:
    good = "Kurt Gödel was born in Brünn; Erwin Schrödinger in Wien; Paul Erdős in Budapest. " * 20
    data = good.encode("utf-8")
    data = data[:500] + b"\xff" + data[500:]
    d = decode_text(data)
    assert d.encoding == "utf-8"
    assert "Gödel" in d.text and "Schrödinger" in d.text and "Erdős" in d.text
    assert d.text.count("\ufffd") == 1
    assert d.warnings and "replaced" in d.warnings[0]


def test_latin1_is_still_detected_not_replaced() -> None:
    data = ("Kurt Gödel wurde in Brünn geboren und lebte später in Zürich. " * 5).encode("latin-1")
    d = decode_text(data)
    assert "\ufffd" not in d.text and "Gödel" in d.text


def test_aes_encrypted_pdf_is_a_clear_skip(tmp_path: Path) -> None:
    (tmp_path / "aes.pdf").write_bytes(aes_encrypted_pdf())
    with pytest.raises(DocumentReadError) as err:
        read_document(_only(tmp_path))
    assert err.value.kind == "encrypted_pdf" and "encrypted PDF, skipped" in str(err.value)


def test_password_protected_pdf_is_a_clear_skip(tmp_path: Path) -> None:
    (tmp_path / "locked.pdf").write_bytes(password_pdf())
    with pytest.raises(DocumentReadError) as err:
        read_document(_only(tmp_path))
    assert err.value.kind == "encrypted_pdf"


# -- linear time on pathological markup ----------------------------------------------------------

def _line_events(fn) -> int:
    """Python lines executed by ``fn()``: a machine-independent operation count."""
    count = [0]

    def tracer(frame, event, arg):
        if event == "line":
            count[0] += 1
        return tracer

    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(None)
    return count[0]


def _html_and_chunks(tmp_path: Path, n: int) -> None:
    d = tmp_path / f"h{n}"
    d.mkdir()
    (d / "br.html").write_text("<html><body><p>Line one." + "<br>x" * n + "</p></body></html>")
    doc = read_document(_only(d))
    assert doc.text.count("x") == n
    SentenceChunker().chunk(doc)


def test_html_with_many_br_is_linear(tmp_path: Path) -> None:
    _html_and_chunks(tmp_path, 10)  # imports and first-call caches are not part of the count
    small = _line_events(lambda: _html_and_chunks(tmp_path, 1000))
    large = _line_events(lambda: _html_and_chunks(tmp_path, 4000))
    # 4x the input: linear work grows ~4x, the old per-<br> tree replacement grew ~16x
    assert large / small < 6, (small, large)


def test_deeply_nested_html_is_linear(tmp_path: Path) -> None:
    def nested(n: int) -> None:
        d = tmp_path / f"n{n}"
        d.mkdir()
        # blocks under ever deeper non-block parents: a parent search per block would be quadratic
        (d / "deep.html").write_text("<div>" + "<span><h2>a</h2>" * n + "</span>" * n + "</div>")
        assert read_document(_only(d)).text.count("a") == n

    nested(10)
    small = _line_events(lambda: nested(500))
    large = _line_events(lambda: nested(2000))
    assert large / small < 6, (small, large)


def test_markdown_without_closing_brackets_or_with_blank_runs_finishes(tmp_path: Path) -> None:
    # quadratic regexes would take minutes on these; bounded ones take milliseconds
    (tmp_path / "a.md").write_text("[" * 100_000 + "\n" * 100_000 + "  \n" * 50_000 + "> " + "x" * 10 + "\n")
    doc = read_document(_only(tmp_path))
    assert doc.text.strip().endswith("x" * 10)
    assert readers._MD_LINK.sub(r"\1", "see [her page](http://x.org) now") == "see her page now"


def test_short_cyrillic_legacy_text_is_not_read_as_thai() -> None:
    text = "Лев Толстой родился в Ясной Поляне. " * 5
    for codec in ("koi8-r", "cp1251"):
        d = decode_text(text.encode(codec))
        assert d.text == text, (codec, d.encoding)
