"""Locating, checking and fetching the MetaQA files used by ``kgkit eval kgqa``.

Files are read in place from a data root (``--data``, else ``$KGKIT_DATA``, else
``../shared/datasets`` next to the repository). Checksums come from the dataset's SOURCE.txt. The
question files can be fetched from the public GitHub copy recorded there; the deduplicated KB was
rebuilt offline (see SOURCE.txt) and has no download URL: pass its local path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kgkit.datasets import data_root, sha256_file
from kgkit.errors import ConfigError

__all__ = ["METAQA_FILES", "MetaQAFile", "data_root", "metaqa_path", "verify_file", "download_metaqa"]

_KEALLM = "https://raw.githubusercontent.com/vaijsc/keallm/cf68f911e2484809bf5b0da413ba3d9768a747b7/data/MetaQA"


@dataclass(frozen=True)
class MetaQAFile:
    relpath: str  # under <data root>/kgqa/metaqa
    sha256: str
    url: str | None  # None: no public copy; pass a local path


METAQA_FILES: dict[str, MetaQAFile] = {
    "kb": MetaQAFile("kb.txt", "d9058821fc8c7252013de14486c6f2ee9b19f4a30d476d0361e5e476c00185eb", None),
    "1-hop/dev": MetaQAFile("1-hop/vanilla/qa_dev.txt", "3c68fa73a14d9b9616e49f08e2d8b65e024af417708306874fe4d398634620d3", f"{_KEALLM}/1-hop/dev.txt"),
    "2-hop/dev": MetaQAFile("2-hop/vanilla/qa_dev.txt", "a713ae6b4a7cdccfdda57ac99092f4114a1f8b0c4ba51b4466a15496a4ff6fbd", f"{_KEALLM}/2-hop/dev.txt"),
    "3-hop/dev": MetaQAFile("3-hop/vanilla/qa_dev.txt", "c638b99f97db93112f7a9ceec47675066cc9efc93b7ecd43e22c54ab531741d9", f"{_KEALLM}/3-hop/dev.txt"),
    "1-hop/test": MetaQAFile("1-hop/vanilla/qa_test.txt", "c57e9c2c4c05e5eec4503460042c09bfa3e80ea1a5ecaf361c92dd81d6c7bece", f"{_KEALLM}/1-hop/test.txt"),
    "2-hop/test": MetaQAFile("2-hop/vanilla/qa_test.txt", "b1c4f1ad77f34a27e0e5a13c08b436c6f4c9a49dccd8d43639a569ee5cd906a1", f"{_KEALLM}/2-hop/test.txt"),
    "3-hop/test": MetaQAFile("3-hop/vanilla/qa_test.txt", "f4c2a801f864e80e809655a20b4b8c9904f4a2885a7f23850b2fabd8d38a6540", f"{_KEALLM}/3-hop/test.txt"),
}


def metaqa_path(name: str, data: str | Path | None = None) -> Path:
    """Path of a MetaQA file by name (``kb``, ``1-hop/dev``, ...) under the data root.

    Raises:
        ConfigError: unknown name, or the file is not there.
    """
    if name not in METAQA_FILES:
        raise ConfigError(f"unknown MetaQA file {name!r}; choose one of: {', '.join(METAQA_FILES)}")
    p = data_root(data) / "kgqa" / "metaqa" / METAQA_FILES[name].relpath
    if not p.is_file():
        raise ConfigError(f"{p} not found; pass --data with the datasets folder or set KGKIT_DATA")
    return p


def verify_file(path: str | Path, sha256: str) -> None:
    """Raise :class:`ConfigError` unless ``path`` has checksum ``sha256``."""
    got = sha256_file(Path(path))
    if got != sha256:
        raise ConfigError(f"{path}: sha256 {got} does not match the expected {sha256}; "
                          "the file is corrupt or a different version: download it again")


def download_metaqa(dest: str | Path, names: list[str] | None = None, *, timeout: float = 60.0) -> list[Path]:
    """Fetch MetaQA question files into ``dest/kgqa/metaqa`` and check their checksums.

    Files already present with the right checksum are kept. The KB has no public URL.

    Raises:
        ConfigError: a file has no URL, the download failed, or its checksum is wrong.
    """
    import httpx

    out: list[Path] = []
    for name in names or [n for n, f in METAQA_FILES.items() if f.url]:
        spec = METAQA_FILES.get(name)
        if spec is None:
            raise ConfigError(f"unknown MetaQA file {name!r}; choose one of: {', '.join(METAQA_FILES)}")
        target = Path(dest) / "kgqa" / "metaqa" / spec.relpath
        if target.is_file():
            try:
                verify_file(target, spec.sha256)
                out.append(target)
                continue
            except ConfigError:
                pass
        if spec.url is None:
            raise ConfigError(f"MetaQA {name} has no public download; copy it to {target} (see SOURCE.txt)")
        try:
            resp = httpx.get(spec.url, timeout=timeout, follow_redirects=True)
            resp.raise_for_status()
        except httpx.HTTPError as err:
            raise ConfigError(f"downloading {spec.url} failed ({err}); retry, or copy the file to {target}") from err
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(resp.content)
        verify_file(tmp, spec.sha256)
        tmp.replace(target)
        out.append(target)
    return out
