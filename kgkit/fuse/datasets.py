"""Where the fusion evaluation data sets come from, and how to fetch and verify them.

Files are read from ``$KGKIT_DATA`` (default ``../shared/datasets`` next to the repository). Users
without that folder can download them with :func:`fetch` (plain HTTPS from the pinned GitHub commits
below) and every file is checked against its sha256 (computed from the copies used for
BENCHMARKS.md). ``fetch(..., source_dir=...)`` copies from a local folder instead.
"""

from __future__ import annotations

from pathlib import Path

from kgkit.datasets import DatasetFile, data_root, fetch_files, verify_files
from kgkit.errors import ConfigError

__all__ = ["DatasetFile", "FILES", "data_root", "dataset_path", "verify", "fetch"]

_DITTO = "https://raw.githubusercontent.com/megagonlabs/ditto/52985564a93fb11308439516d3e17a033d43ec8f/data/er_magellan"
_TRUSTFUSE = ("https://raw.githubusercontent.com/Orange-OpenSource/trustfuse/0f570e79ecd534cca4bd793f36ec218d024599bd"
              "/data/input_trustfuse/book")


FILES: dict[str, DatasetFile] = {f.path: f for f in [
    DatasetFile("fusion/truth/book/conflicting_data/book.txt", f"{_TRUSTFUSE}/conflicting_data/book.txt",
                "2f48f89f1fb5c467e8bc53aa5c1611830dfa3527145ebe8e33d2242499c0282e"),
    DatasetFile("fusion/truth/book/ground_truth/book.txt", f"{_TRUSTFUSE}/ground_truth/book.txt",
                "ca658b3d358c329e0577e4cbf1c995bc0791f349e6170ac0b00b0f0ba77cd4dc"),
    DatasetFile("fusion/er/DBLP-ACM/train.txt", f"{_DITTO}/Structured/DBLP-ACM/train.txt",
                "4f757d2d5dae4f7d7d118b796c683a232b4e11bf000e2012b64f8af95a981a4e"),
    DatasetFile("fusion/er/DBLP-ACM/valid.txt", f"{_DITTO}/Structured/DBLP-ACM/valid.txt",
                "b13444a2bf1a503ed558e782f42b247cf56e16e67be2e58d92d7435161299e2e"),
    DatasetFile("fusion/er/DBLP-ACM/test.txt", f"{_DITTO}/Structured/DBLP-ACM/test.txt",
                "ded891e469b1d08e21269038c984dc761ae2fd5b142b00c46c30fce45adc6e68"),
    DatasetFile("fusion/er/Abt-Buy/train.txt", f"{_DITTO}/Textual/Abt-Buy/train.txt",
                "c1370966c08c246e9cf844b7cd2cf580b2559e9831f1eb3cca560fd53c1bcbb2"),
    DatasetFile("fusion/er/Abt-Buy/valid.txt", f"{_DITTO}/Textual/Abt-Buy/valid.txt",
                "14b2c80673434b852febacd1a741c89e2ca0aba1658f4420efe4cbb46f4ef607"),
    DatasetFile("fusion/er/Amazon-Google/train.txt", f"{_DITTO}/Structured/Amazon-Google/train.txt",
                "84ef5f7747296990a3775d2c8774949e720df643106b1b447682265f41929b26"),
    DatasetFile("fusion/er/Amazon-Google/valid.txt", f"{_DITTO}/Structured/Amazon-Google/valid.txt",
                "baa53c43706e979441aaf653698bb477294b6fa16328fd272fcdc56ca040c094"),
]}


def dataset_path(root: Path, rel: str) -> Path:
    p = root / rel
    if not p.exists():
        raise ConfigError(
            f"{p} not found; point --data (or KGKIT_DATA) at the datasets folder, or download it with "
            f"`python -c \"from kgkit.fuse.datasets import fetch; fetch('{root}')\"`"
        )
    return p


def verify(root: Path) -> dict[str, bool]:
    """Which known files under ``root`` exist with the expected checksum."""
    return verify_files(FILES.values(), root)


def fetch(root: str | Path, *, source_dir: str | Path | None = None, timeout: float = 60.0) -> list[Path]:
    """Download (or copy from ``source_dir``) every missing file into ``root`` and verify it."""
    return fetch_files(FILES.values(), root, source_dir=source_dir, timeout=timeout)
