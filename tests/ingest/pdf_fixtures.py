"""Hand-built PDFs for reader tests (no PDF writer or crypto package needed)."""

from __future__ import annotations

import io
import re


def build_pdf(objs: list[bytes], trailer_extra: bytes = b"") -> bytes:
    out, offsets = bytearray(b"%PDF-1.6\n"), []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, trailer_extra, xref)
    return bytes(out)


def text_pdf(text: str) -> bytes:
    """A one-page PDF with ``text`` in Helvetica."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def aes_encrypted_pdf() -> bytes:
    """A PDF encrypted with AES-128 (V4/R4, AESV2) and an empty user password.

    The /O and /U entries of revision 4 are computed exactly as for RC4-128 (revision 3), which
    pypdf can write without a crypto package; the crypt filter then says AESV2.
    """
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(100, 100)
    w.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    w.write(buf)
    raw = buf.getvalue()
    o = re.search(rb"/O <([0-9a-f]+)>", raw).group(1)
    u = re.search(rb"/U <([0-9a-f]+)>", raw).group(1)
    p = re.search(rb"/P (-?\d+)", raw).group(1)
    file_id = re.search(rb"/ID \[ <([0-9a-f]+)>", raw).group(1)
    stream = bytes(range(32))  # "encrypted" content; never decrypted without AES support
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Filter /Standard /V 4 /R 4 /Length 128 /P " + p + b" /O <" + o + b"> /U <" + u + b"> "
        b"/CF << /StdCF << /AuthEvent /DocOpen /CFM /AESV2 /Length 16 >> >> /StmF /StdCF /StrF /StdCF >>",
        b"<< /Title <" + bytes(range(16)).hex().encode() + bytes(range(16)).hex().encode() + b"> >>",
    ]
    return build_pdf(objs, b"/Encrypt 5 0 R /Info 6 0 R /ID [<" + file_id + b"> <" + file_id + b">] ")


def password_pdf() -> bytes:
    """An RC4-encrypted PDF that needs a user password."""
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(100, 100)
    w.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()
