"""The hostile folder for benchmarks/hostile.py: every kind of bad input a real folder can hold.

Each case is one path (relative, bytes, because names need not be UTF-8) with what a correct ingest
does with it: ``read`` (the document is ingested; ``marker`` must survive decoding), ``skip:<kind>``
(reported with that kind, a reason and a fix), ``skip:*`` (reported, any kind), or ``ignored``
(hidden or not a supported type: left out by design, counted in the report's ``not_matched``).
"""

from __future__ import annotations

import os
import socket
import stat
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "ingest"))
from pdf_fixtures import aes_encrypted_pdf, password_pdf, text_pdf  # noqa: E402

TEXT = "Ada Lovelace was born in London. Marie Curie was born in Warsaw."
ACCENTED = "Kurt Gödel was born in Brünn. Erwin Schrödinger lived in Zürich. Paul Erdős was born in Budapest."


@dataclass
class Case:
    group: str
    path: bytes  # relative to the hostile folder
    expect: str  # read | skip:<kind> | skip:* | ignored
    marker: str | None = None  # text that must be in the decoded document


class Builder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.cases: list[Case] = []

    def file(self, group: str, rel: bytes | str, data: bytes, expect: str, marker: str | None = None) -> bytes:
        rel_b = rel if isinstance(rel, bytes) else rel.encode("utf-8")
        full = os.fsencode(self.root) + b"/" + rel_b
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(data)
        self.cases.append(Case(group, rel_b, expect, marker))
        return full

    def special(self, group: str, rel: str, make, expect: str) -> None:
        full = self.root / rel
        full.parent.mkdir(parents=True, exist_ok=True)
        make(full)
        self.cases.append(Case(group, rel.encode(), expect))


def build(root: Path, huge_bytes: int) -> list[Case]:  # noqa: C901 - one flat list of cases reads best
    b = Builder(root)
    f = b.file
    for i in range(20):
        f("control", f"plain/doc{i:02}.txt", f"Person{i} Smith was born in Paris. {TEXT}".encode(), "read", f"Person{i}")
    for ext, data in ((".TXT", TEXT.encode()), (".Md", b"# T\n\n" + TEXT.encode()), (".HTM", f"<p>{TEXT}</p>".encode()),
                      (".Html", f"<p>{TEXT}</p>".encode()), (".MARKDOWN", TEXT.encode()), (".PDF", text_pdf(TEXT)),
                      (".tXt", TEXT.encode()), (".mD", TEXT.encode())):
        f("extension case", f"case/file{ext}", data, "read", "Lovelace")
    for i, name in enumerate([b"caf\xe9.txt", b"\xff\xfe.txt", b"\x80\x81\x82.md", b"mixed \xc3\xa9 \xe9.txt", b"back\\slash\xe9.txt",
                              b"sjis-\x83\x65\x83\x58\x83\x67.txt", b"latin1-\xe0\xe8\xec.html", b"bad\xc3.md", b"\xed\xa0\x80surrogate.txt",
                              b"tail\xc0.txt"]):
        f("non-UTF-8 name", b"names/" + name, f"Person{i} Brown was born in Rome.".encode(), "read", f"Person{i} Brown")
    weird = ["with space.txt", "quote'\"s.txt", "$(touch pwned).txt", "emoji 😀.txt", "rtl \u202eevil.txt", "new\nline.txt",
             "tab\tname.txt", "-leading-dash.txt", "[red]markup[/red].txt", "a" * 240 + ".txt", "x....txt", "%s%n%x.md",
             "日本語のファイル.md", "back\\slash.txt"]
    for i, name in enumerate(weird):
        f("weird name", f"weird/{name}", f"Person{i} Green was born in Oslo.".encode(), "read", f"Person{i} Green")
    enc = [("utf-16", "utf-16"), ("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be"), ("utf-32", "utf-32"),
           ("utf-32-le", "utf-32-le"), ("utf-32-be", "utf-32-be"), ("utf-8-sig", "utf-8-sig")]
    for name, codec in enc:
        data = ACCENTED.encode(codec)
        if codec.endswith(("-le", "-be")):
            data = "\ufeff".encode(codec) + data
        f("BOM encodings", f"enc/{name}.txt", data, "read", "Schrödinger")
        f("BOM encodings", f"enc/{name}.md", data, "read", "Gödel")
    for name, codec in (("latin-1", "latin-1"), ("cp1252", "cp1252"), ("iso8859-15", "iso8859-15")):
        f("legacy encodings", f"enc/{name}.txt", (ACCENTED.replace("ő", "o") * 3).encode(codec), "read", "Schrödinger")
    tolstoy = ("Лев Николаевич Толстой родился в Ясной Поляне Тульской губернии, а умер на станции Астапово. "
               "Он написал романы Война и мир и Анна Каренина. ")
    for name, text, codec in (("koi8-r", tolstoy, "koi8-r"), ("cp1251", tolstoy, "cp1251"),
                              ("shift_jis", "東京は日本の首都です。" * 10, "shift_jis")):
        f("legacy encodings", f"enc/{name}.txt", text.encode(codec), "read", text[:4])
    good = (ACCENTED * 10).encode()
    for i, pos in enumerate((0, 100, 500, len(good) - 1)):
        f("stray byte in UTF-8", f"stray/one{i}.txt", good[:pos] + b"\xff" + good[pos:], "read", "Schrödinger")
    f("stray byte in UTF-8", "stray/five.txt", b"\x80".join(good[i:i + 200] for i in range(0, 1000, 200)) + good[1000:], "read", "Erdős")
    f("stray byte in UTF-8", "stray/cesu.txt", good + b"\xed\xa0\x80" + good, "read", "Gödel")
    body = (TEXT + " ").encode() * 300  # ~19 KB
    f("NUL bytes", "nul/after-8k.txt", body + b"\x00" + body, "read", "Warsaw")
    f("NUL bytes", "nul/at-end.txt", body + b"\x00", "read", "Warsaw")
    f("NUL bytes", "nul/after-8k.md", body + b"\x00\x00" + body, "read", "Warsaw")
    f("NUL bytes", "nul/after-8k.html", b"<p>" + body + b"\x00" + body + b"</p>", "read", "Warsaw")
    f("NUL bytes", "nul/at-start.txt", b"\x00" + body, "skip:binary")
    f("NUL bytes", "nul/many.txt", body + b"\x00" * 500 + body, "skip:binary")
    f("NUL bytes", "nul/utf16-no-bom.txt", TEXT.encode("utf-16-le"), "skip:binary")
    f("NUL bytes", "nul/utf16-lone-surrogate.txt", b"\xff\xfe" + "ok ".encode("utf-16-le") + b"\x00\xd8" + TEXT.encode("utf-16-le"), "read", "Lovelace")
    for ext in (".txt", ".md", ".html"):
        f("binary", f"binary/png{ext}", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2000), "skip:binary")
        f("binary", f"binary/random{ext}", b"\x00" + os.urandom(4000), "skip:binary")
    f("binary", "binary/zip.txt", b"PK\x03\x04" + zlib.compress(os.urandom(3000)) + b"\x00" * 10, "skip:binary")
    f("binary", "binary/elf.md", open(sys.executable, "rb").read(20000), "skip:binary")
    f("binary", "binary/not-a-pdf.pdf", os.urandom(3000), "skip:bad_pdf")
    for ext in (".txt", ".md", ".html"):
        f("empty", f"empty/empty{ext}", b"", "skip:empty")
        f("empty", f"empty/blank{ext}", b" \n\t\n  ", "skip:empty")
    f("empty", "empty/empty.pdf", b"", "skip:bad_pdf")
    f("empty", "empty/tags-only.html", b"<html><head><script>x=1</script></head><body></body></html>", "skip:empty")
    f("PDF", "pdf/good.pdf", text_pdf(TEXT), "read", "Lovelace")
    f("PDF", "pdf/aes.pdf", aes_encrypted_pdf(), "skip:encrypted_pdf")
    f("PDF", "pdf/aes2.pdf", aes_encrypted_pdf(), "skip:encrypted_pdf")
    f("PDF", "pdf/password.pdf", password_pdf(), "skip:encrypted_pdf")
    f("PDF", "pdf/truncated.pdf", text_pdf(TEXT)[:200], "skip:*")
    f("PDF", "pdf/bad-xref.pdf", text_pdf(TEXT).replace(b"xref", b"xrfe"), "skip:*")
    f("PDF", "pdf/header-only.pdf", b"%PDF-1.4\n", "skip:bad_pdf")
    f("pathological markup", "markup/br-200k.html", b"<html><body>" + b"<br>" * 200_000 + b"</body></html>", "skip:empty")
    f("pathological markup", "markup/br-20k-words.html", b"<p>Start." + b"<br>w" * 20_000 + b"</p>", "read", "Start.")
    f("pathological markup", "markup/deep-div.html", b"<div>" * 5000 + TEXT.encode() + b"</div>" * 5000, "read", "Lovelace")
    f("pathological markup", "markup/deep-blocks.html", b"<div>" + b"<span><h2>a</h2>" * 3000 + b"</span>" * 3000 + b"</div>", "read", "a\n\na")
    f("pathological markup", "markup/unclosed-p.html", b"<p>x " * 20_000, "read", "x")
    f("pathological markup", "markup/huge-attr.html", b'<p title="' + b"a" * 1_000_000 + b'">' + TEXT.encode() + b"</p>", "read", "Lovelace")
    f("pathological markup", "markup/brackets.md", b"[" * 200_000 + b"\n" + TEXT.encode(), "read", "Lovelace")
    f("pathological markup", "markup/blank-runs.md", b"\n" * 200_000 + b"  \n" * 50_000 + TEXT.encode(), "read", "Lovelace")
    f("pathological markup", "markup/long-line.txt", b"word " * 10_000, "read", "word word")
    f("pathological markup", "markup/cr-only.txt", TEXT.replace(". ", ".\r").encode() * 50, "read", "Warsaw")
    f("pathological markup", "markup/control-chars.txt", bytes(range(1, 32)).replace(b"\x00", b"") + TEXT.encode(), "read", "Lovelace")
    f("size", "size/over-limit.txt", b"Paris is a city in France. " * (huge_bytes // 27 + 1), "skip:too_large")
    sparse = f("size", "size/sparse-5gb.txt", b"", "skip:too_large")
    os.truncate(sparse, 5 * 1024**3)
    d = "deep/" + "/".join(f"d{i}" for i in range(60))
    f("deep nesting", f"{d}/bottom.txt", TEXT.encode(), "read", "Lovelace")
    for i in range(3):
        f("deep nesting", "deep/" + "/".join(["n" * 200] * (10 + i)) + f"/wide{i}.txt", TEXT.encode(), "read", "Lovelace")
    for ext in (".txt", ".md", ".html"):
        b.special("non-regular file", f"special/fifo{ext}", lambda p: os.mkfifo(p), "skip:not_regular_file")
    b.special("non-regular file", "special/socket.txt", _make_socket, "skip:not_regular_file")
    outside = root.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text("root:x:0:0:secret")
    links = [("symlink", "links/zero.txt", "/dev/zero", "skip:symlink_outside"),
             ("symlink", "links/urandom.md", "/dev/urandom", "skip:symlink_outside"),
             ("symlink", "links/passwd.txt", "/etc/passwd", "skip:symlink_outside"),
             ("symlink", "links/secret.txt", str(outside / "secret.txt"), "skip:symlink_outside"),
             ("symlink", "links/outside-dir", str(outside), "skip:symlink_outside"),
             ("symlink", "links/broken.txt", str(root / "nowhere.txt"), "skip:broken_symlink"),
             ("symlink", "links/self.txt", str(root / "links" / "self.txt"), "skip:symlink_loop"),
             ("symlink", "links/up", str(root), "skip:symlink_loop"),
             ("symlink", "links/sibling-dir", str(root / "plain"), "skip:symlink_inside"),
             ("symlink", "links/inside.txt", str(root / "plain" / "doc00.txt"), "read")]
    for group, rel, target, expect in links:
        b.special(group, rel, lambda p, t=target: os.symlink(t, p), expect)
    for i in range(3):
        full = b.file("permissions", f"perm/unreadable{i}.txt", TEXT.encode(), "skip:permission_denied")
        os.chmod(full, 0)
    for i in range(3):
        b.file("permissions", f"perm/locked/inner{i}.txt", TEXT.encode(), "skip:unreadable_folder")
    b.file("permissions", "perm/no-exec/inner.txt", TEXT.encode(), "skip:*")
    for rel in (".hidden.txt", "plain/.secret.md", ".git/config.txt", "weird/....txt"):
        f("by design", rel, TEXT.encode(), "ignored")
    for rel in ("other/image.png", "other/doc.docx", "other/data.csv"):
        f("by design", rel, b"\x89PNG\x00" if rel.endswith("png") else b"a,b", "ignored")
    os.chmod(root / "perm" / "locked", 0)
    os.chmod(root / "perm" / "no-exec", stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return b.cases


def _make_socket(path: Path) -> None:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()  # the socket file stays


def same_name_folders(root: Path) -> tuple[Path, Path]:
    a, b = root / "a" / "docs", root / "b" / "docs"
    for folder, text in ((a, "Marie Curie was born in Warsaw."), (b, "Ada Lovelace was born in London.")):
        folder.mkdir(parents=True)
        (folder / "notes.txt").write_text(text, encoding="utf-8")
    return a, b

