"""Readers and chunking: every supported format, every kind of bad input, exact offsets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kgkit.errors import DocumentReadError, IngestError
from kgkit.ingest.chunking import SentenceChunker, split_sentences
from kgkit.ingest.readers import read_document, scan_folder
from kgkit.types import Document

sys.path.insert(0, str(Path(__file__).parent))
from pdf_fixtures import text_pdf  # noqa: E402


def _src(path: Path, root: Path):
    return next(f for f in scan_folder(root, include=["**/*"]) if f.path == path)


def test_scan_respects_include_exclude_and_ignore_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A.")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# B")
    (tmp_path / "sub" / "c.html").write_text("<p>C</p>")
    (tmp_path / "notes.csv").write_text("x,y")
    (tmp_path / ".hidden.txt").write_text("no")
    (tmp_path / ".kgkitignore").write_text("sub/c.html\n")
    files = scan_folder(tmp_path, exclude=["a.*"])
    assert [f.doc_id.split("/", 1)[1] for f in files] == ["sub/b.md"]
    assert all(f.doc_id.startswith(tmp_path.name + "@") for f in files)


def test_scan_rejects_a_file_as_root(tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("x")
    with pytest.raises(IngestError, match="not a folder"):
        scan_folder(f)


def test_markdown_and_html_are_reduced_to_text(tmp_path: Path) -> None:
    md = tmp_path / "a.md"
    md.write_text("# Marie Curie\n\nShe was born in **Warsaw**. See [her page](http://x.org).\n\n- item one\n", encoding="utf-8")
    html = tmp_path / "b.html"
    html.write_text(
        "<html><head><title>T</title><script>var x='Paris';</script></head><body><nav>Home | About</nav>"
        "<h1>Ada Lovelace</h1><p>Ada was born in <b>London</b>.</p><footer>(c) 2020</footer></body></html>",
        encoding="utf-8",
    )
    d_md = read_document(_src(md, tmp_path))
    assert d_md.title == "Marie Curie" and "**" not in d_md.text and "http" not in d_md.text
    assert "She was born in Warsaw. See her page." in d_md.text
    d_html = read_document(_src(html, tmp_path))
    assert d_html.title == "T"
    assert "Ada was born in London." in d_html.text
    assert "var x" not in d_html.text and "Home" not in d_html.text and "(c)" not in d_html.text


def test_binary_file_is_a_read_error(tmp_path: Path) -> None:
    f = tmp_path / "img.txt"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(DocumentReadError, match="binary"):
        read_document(_src(f, tmp_path))


def test_invalid_utf8_is_decoded_with_detected_encoding(tmp_path: Path) -> None:
    f = tmp_path / "latin.txt"
    f.write_bytes("Gödel was born in Brünn, in Moravia. Zürich is a city in Switzerland.".encode("latin-1"))
    doc = read_document(_src(f, tmp_path))
    assert doc.encoding != "utf-8"
    assert "Gödel" in doc.text and "Zürich" in doc.text


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    f = tmp_path / "bom.txt"
    f.write_bytes(b"\xef\xbb\xbfHello there.")
    assert read_document(_src(f, tmp_path)).text == "Hello there."


def test_file_over_the_size_limit_names_the_option(tmp_path: Path) -> None:
    f = tmp_path / "huge.txt"
    with f.open("wb") as fh:
        fh.write(b"Paris is a city in France. " * (20 * 1024 * 1024 // 27 + 1))
    assert f.stat().st_size >= 20 * 1024 * 1024
    with pytest.raises(DocumentReadError, match="ingest.max_bytes in the pipeline") as err:
        read_document(_src(f, tmp_path))
    # What the message names exists: the default pipeline's setting and the ingest option.
    from typer.testing import CliRunner

    from kgkit.cli.main import app
    from kgkit.config import load_pipeline

    assert load_pipeline().ingest["max_bytes"] > 0 and "--max-bytes" in str(err.value)
    assert "--max-bytes" in CliRunner().invoke(app, ["ingest", "--help"], env={"COLUMNS": "200"}).output
    assert read_document(_src(f, tmp_path), max_bytes=f.stat().st_size).text.startswith("Paris")


def test_unreadable_file_is_a_read_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "secret.txt"
    f.write_text("x")
    f.chmod(0)
    src = _src(f, tmp_path)
    # root ignores file modes, so also force the failure the OS would raise for an ordinary user
    import os

    real = os.open

    def deny(path, *args, **kwargs):
        if Path(path) == f:
            raise PermissionError(13, "Permission denied")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(DocumentReadError, match="permission denied"):
        read_document(src)
    f.chmod(0o644)


def test_sentence_split_offsets_and_abbreviations() -> None:
    text = "Dr. Smith met Prof. Jones in St. Louis. They talked!\n\nNew paragraph here? Yes. e.g. this stays."
    spans = split_sentences(text)
    sents = [text[s:e] for s, e in spans]
    assert sents == ["Dr. Smith met Prof. Jones in St. Louis.", "They talked!", "New paragraph here?", "Yes. e.g. this stays."]


@pytest.mark.parametrize("max_chars,overlap", [(60, 0), (60, 1), (200, 2), (1500, 1)])
def test_chunks_cover_the_text_with_exact_offsets(max_chars: int, overlap: int) -> None:
    text = " ".join(f"Sentence number {i} mentions Paris and London." for i in range(40))
    text += " " + "x" * 150 + " tail."  # one sentence longer than small windows
    doc = Document("d", "/d", text, "h", "text/plain")
    chunks = SentenceChunker(max_chars=max_chars, overlap_sentences=overlap).chunk(doc)
    assert chunks and all(c.text == text[c.start : c.end] for c in chunks)
    assert all(len(c.text) <= max_chars for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    overlapping = 0
    for a, b in zip(chunks, chunks[1:]):
        assert b.start <= a.end + 1, "no text may fall between chunks"
        assert b.start > a.start and b.end > a.end, "windows always move forward, never repeat a subset"
        overlapping += b.start < a.end
    if overlap and max_chars >= 200:
        assert overlapping >= len(chunks) - 3, "overlap repeats the last sentence(s) wherever it fits"
    if not overlap:
        assert overlapping == 0
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_empty_document_has_no_chunks() -> None:
    assert SentenceChunker().chunk(Document("d", "/d", "  \n\n ", "h", "text/plain")) == []


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    f = tmp_path / "a.pdf"
    f.write_bytes(text_pdf("Ada Lovelace was born in London."))
    doc = read_document(_src(f, tmp_path))
    assert doc.media_type == "application/pdf"
    assert "Ada Lovelace was born in London." in doc.text


def test_damaged_pdf_is_a_read_error(tmp_path: Path) -> None:
    f = tmp_path / "bad.pdf"
    f.write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    with pytest.raises(DocumentReadError, match="PDF"):
        read_document(_src(f, tmp_path))
