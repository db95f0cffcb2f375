"""Dataset download code: local copy and real HTTP, both verified by sha256 before use."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from kgkit.datasets import DatasetFile, data_root, dataset_path, fetch_files, verify_files
from kgkit.errors import ConfigError


def _file(tmp: Path, rel: str, data: bytes, url: str = "") -> DatasetFile:
    (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp / rel).write_bytes(data)
    return DatasetFile(rel, url, hashlib.sha256(data).hexdigest())


def test_copy_from_local_folder_and_verify(tmp_path: Path) -> None:
    src = tmp_path / "src"
    f = _file(src, "kge/x/train.txt", b"a\tr\tb\r\n")
    out = fetch_files([f], tmp_path / "dst", source_dir=src)
    assert out == [tmp_path / "dst" / f.path] and out[0].read_bytes() == b"a\tr\tb\r\n"
    assert verify_files([f], tmp_path / "dst") == {f.path: True}
    (tmp_path / "dst" / f.path).write_bytes(b"tampered")
    assert verify_files([f], tmp_path / "dst") == {f.path: False}


def test_checksum_mismatch_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    src = tmp_path / "src"
    good = _file(src, "a.txt", b"one")
    bad = DatasetFile("a.txt", "", "0" * 64)
    with pytest.raises(ConfigError, match="checksum"):
        fetch_files([bad], tmp_path / "dst", source_dir=src)
    assert not (tmp_path / "dst" / "a.txt").exists() and not (tmp_path / "dst" / "a.txt.part").exists()
    assert good.sha256 != bad.sha256


def test_download_over_http(tmp_path: Path) -> None:
    served = tmp_path / "www"
    served.mkdir()
    (served / "f.txt").write_bytes(b"payload")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        f = DatasetFile("d/f.txt", f"{base}/f.txt", hashlib.sha256(b"payload").hexdigest())
        assert fetch_files([f], tmp_path / "root")[0].read_bytes() == b"payload"
        missing = DatasetFile("d/g.txt", f"{base}/nope.txt", "0" * 64)
        with pytest.raises(ConfigError, match="HTTP 404"):
            fetch_files([missing], tmp_path / "root")
    finally:
        srv.shutdown()


def test_data_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGKIT_DATA", str(tmp_path / "env"))
    assert data_root(tmp_path / "opt") == tmp_path / "opt"
    assert data_root() == tmp_path / "env"
    monkeypatch.delenv("KGKIT_DATA")
    assert data_root().name == "datasets"
    with pytest.raises(ConfigError, match="KGKIT_DATA"):
        dataset_path(tmp_path, "missing.txt")
