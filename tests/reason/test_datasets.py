from __future__ import annotations

import hashlib

import pytest

from kgkit.errors import ConfigError
from kgkit.reason.datasets import METAQA_FILES, download_metaqa, metaqa_path, verify_file


def test_local_files_are_found_and_checked(tmp_path):
    spec = METAQA_FILES["1-hop/dev"]
    p = tmp_path / "kgqa" / "metaqa" / spec.relpath
    p.parent.mkdir(parents=True)
    p.write_text("q [x]\ta\n")
    assert metaqa_path("1-hop/dev", tmp_path) == p
    with pytest.raises(ConfigError, match="does not match"):
        verify_file(p, spec.sha256)
    verify_file(p, hashlib.sha256(p.read_bytes()).hexdigest())
    with pytest.raises(ConfigError, match="not found"):
        metaqa_path("2-hop/dev", tmp_path)


def test_kb_has_no_url(tmp_path):
    with pytest.raises(ConfigError, match="no public download"):
        download_metaqa(tmp_path, ["kb"])
