"""Where benchmark and evaluation data sets live, and how users fetch and verify them.

Every area lists its files as :class:`DatasetFile` (path under the data root, URL, sha256) in its
own module (``kgkit.embed.datasets``, ``kgkit.fuse.datasets``, ``kgkit.reason.datasets``,
``kgkit.eval.text2kgbench``); this module holds what they share: finding the data root,
checksums, and a download (or local copy) that verifies every file before it is used.

The data root is ``--data`` when given, else ``$KGKIT_DATA``, else ``../shared/datasets`` beside
the repository. Data sets are read in place and never copied into the repository.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from kgkit.errors import ConfigError

__all__ = ["DatasetFile", "data_root", "dataset_path", "sha256_file", "verify_files", "fetch_files"]

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DatasetFile:
    path: str  # relative to the data root
    url: str
    sha256: str


def data_root(data: str | os.PathLike[str] | None = None) -> Path:
    """``data``, else ``$KGKIT_DATA``, else ``../shared/datasets`` relative to the repository root."""
    if data:
        return Path(data)
    env = os.environ.get("KGKIT_DATA")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "datasets"


def dataset_path(root: Path, rel: str, *, fetch_hint: str = "") -> Path:
    """``root / rel``, or a :class:`ConfigError` that says how to point at or download the data."""
    p = root / rel
    if not p.exists():
        hint = f", or download it with {fetch_hint}" if fetch_hint else ""
        raise ConfigError(f"{p} not found; point --data (or KGKIT_DATA) at the datasets folder{hint}")
    return p


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_files(files: Iterable[DatasetFile], root: Path) -> dict[str, bool]:
    """Which of ``files`` exist under ``root`` with the expected checksum."""
    return {f.path: (root / f.path).exists() and sha256_file(root / f.path) == f.sha256 for f in files}


def fetch_files(
    files: Iterable[DatasetFile], root: str | Path, *, source_dir: str | Path | None = None, timeout: float = 60.0
) -> list[Path]:
    """Download (or copy from ``source_dir``) every missing or corrupt file into ``root``, verified.

    A file is written under a ``.part`` name and renamed only after its sha256 matched, so a broken
    download never leaves a file that looks complete.
    """
    import httpx

    root = Path(root)
    out = []
    for f in files:
        dest = root / f.path
        if dest.exists() and sha256_file(dest) == f.sha256:
            out.append(dest)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(dest.suffix + ".part")
        if source_dir is not None:
            shutil.copyfile(Path(source_dir) / f.path, tmp)
        else:
            try:
                with httpx.stream("GET", f.url, timeout=timeout, follow_redirects=True) as r:
                    if r.status_code != 200:
                        raise ConfigError(f"download of {f.url} failed with HTTP {r.status_code}; retry later, or pass source_dir")
                    with open(tmp, "wb") as fh:
                        for chunk in r.iter_bytes():
                            fh.write(chunk)
            except httpx.HTTPError as err:
                raise ConfigError(f"download of {f.url} failed ({err}); check the network, or pass source_dir") from err
        got = sha256_file(tmp)
        if got != f.sha256:
            tmp.unlink()
            raise ConfigError(f"{f.path}: checksum {got} does not match {f.sha256}; the source changed, do not use it")
        tmp.replace(dest)
        out.append(dest)
    return out
