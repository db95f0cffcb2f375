"""Benchmark datasets for KG embeddings: local FB15k-237 / WN18RR, PyKEEN's bundled small graphs.

The local files live under ``$KGKIT_DATA/kge/<name>/{train,valid,test}.txt`` (default
``../shared/datasets`` relative to the repository root). FB15k-237 ships with CRLF line ends, which
are stripped here, otherwise every tail label would end in ``\\r`` and never match the same entity as
a head. All three splits share the id maps built from the training split; like PyKEEN, evaluation
triples whose entity or relation never occurs in training are dropped (and counted in
:attr:`KGEDataset.dropped`), because an embedding model has no vector for them.

Users with internet fetch the archives with :func:`download_dataset` (sha256-checked), or point
``data_dir`` at a local copy.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kgkit.datasets import data_root, sha256_file
from kgkit.errors import ConfigError, KgkitError

if TYPE_CHECKING:  # pragma: no cover
    from pykeen.triples import TriplesFactory

__all__ = [
    "DatasetSpec",
    "DATASETS",
    "BUNDLED",
    "KGEDataset",
    "DatasetIntegrityError",
    "default_data_dir",
    "read_triples",
    "load_dataset",
    "load_local_dataset",
    "load_bundled_dataset",
    "download_dataset",
    "dataset_from_labeled",
]

SPLITS = ("train", "valid", "test")


class DatasetIntegrityError(KgkitError):
    """A downloaded or local dataset file does not match its recorded checksum."""


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """Where a dataset comes from and what its files must hash to (from the data folder's SOURCE.txt)."""

    name: str
    folder: str  # under <data_dir>/kge/
    url: str
    archive_sha256: str
    archive_prefix: str  # path inside the archive holding train/valid/test
    files_sha256: dict[str, str]
    lines: dict[str, int]


_CONVE = "https://github.com/TimDettmers/ConvE/raw/f3c0eb286025410fa5b4c04696c918264163d0ca"

DATASETS: dict[str, DatasetSpec] = {
    "fb15k237": DatasetSpec(
        name="fb15k237",
        folder="fb15k237",
        url=f"{_CONVE}/FB15k-237.tar.gz",
        archive_sha256="311df7930f842a02979eaa7a802484a6afe62303c07f915f1e6edbc30cbe05e8",
        archive_prefix="",
        files_sha256={
            "train": "6e4c2782169af21e9743f3b1d200886f5d595bf6bc504ec1351720949c5cdfae",
            "valid": "cf6309010852f6a8d47a45df830a426415d1ee6f7a3970a8376ff1fb81db4a5c",
            "test": "5711cf41623ceb4eacc50eb6108a3ca6565c7492e3caaf82a3e355cc660d1574",
        },
        lines={"train": 272115, "valid": 17535, "test": 20466},
    ),
    "wn18rr": DatasetSpec(
        name="wn18rr",
        folder="wn18rr",
        url=f"{_CONVE}/WN18RR.tar.gz",
        archive_sha256="1eb9152f804c140d163462c0d49f65e5a0b30ab5fbb375c5e3353c11a6249060",
        archive_prefix="",
        files_sha256={
            "train": "038612e783c215ee5f3ca9fbfca27b8d0739be1028fe4ee7c174aecf0b83d5df",
            "valid": "453ce7202afa58094a04d2b1560ee2b02660f1c260b32ce6651c8ccedd1028ab",
            "test": "0383bceaaa1096cf3c03ec021ed0048068e2355dbfc0239b292cefdac821cec5",
        },
        lines={"train": 86835, "valid": 3034, "test": 3134},
    ),
}
_ALIASES = {"fb15k-237": "fb15k237", "fb15k_237": "fb15k237", "wn18-rr": "wn18rr"}

#: PyKEEN's bundled datasets (shipped inside the pykeen wheel, no download).
BUNDLED = {"nations": "Nations", "umls": "UMLS", "kinships": "Kinships"}


@dataclass
class KGEDataset:
    """Train/validation/test triples factories sharing one entity and one relation id map."""

    name: str
    training: "TriplesFactory"
    validation: "TriplesFactory"
    testing: "TriplesFactory"
    dropped: dict[str, int] = field(default_factory=dict)  # eval triples dropped for unseen entities

    @property
    def num_entities(self) -> int:
        return self.training.num_entities

    @property
    def num_relations(self) -> int:
        return self.training.num_relations


def default_data_dir() -> Path:
    """``$KGKIT_DATA``, else ``../shared/datasets`` relative to the repository root."""
    return data_root()


def read_triples(path: str | Path) -> np.ndarray:
    """Read ``head<TAB>relation<TAB>tail`` lines into an (n, 3) string array; CR/LF stripped.

    Raises:
        ConfigError: a line does not have three tab-separated fields.
    """
    rows: list[tuple[str, str, str]] = []
    with open(path, encoding="utf-8", newline="") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) != 3:
                raise ConfigError(
                    f"{path}:{lineno}: expected 'head<TAB>relation<TAB>tail', got {len(parts)} field(s); "
                    "check the file is a tab-separated triples file"
                )
            rows.append((parts[0].strip(), parts[1].strip(), parts[2].strip()))
    return np.asarray(rows, dtype=str).reshape(-1, 3)


def dataset_from_labeled(
    name: str, train: np.ndarray, valid: np.ndarray, test: np.ndarray, *, create_inverse_triples: bool = False
) -> KGEDataset:
    """Build a :class:`KGEDataset` whose three splits share the training split's id maps.

    Ids are assigned in sorted label order, so the same files always give the same ids.
    """
    from pykeen.triples import TriplesFactory

    entity_to_id = {str(e): i for i, e in enumerate(sorted(set(train[:, 0]) | set(train[:, 2])))}
    relation_to_id = {str(r): i for i, r in enumerate(sorted(set(train[:, 1])))}
    kw = dict(entity_to_id=entity_to_id, relation_to_id=relation_to_id, create_inverse_triples=create_inverse_triples)
    tr = TriplesFactory.from_labeled_triples(train, **kw)  # type: ignore[arg-type]
    dropped: dict[str, int] = {}
    out = []
    for split, arr in (("valid", valid), ("test", test)):
        keep = (
            np.isin(arr[:, 0], list(entity_to_id))
            & np.isin(arr[:, 2], list(entity_to_id))
            & np.isin(arr[:, 1], list(relation_to_id))
        ) if len(arr) else np.zeros(0, dtype=bool)
        dropped[split] = int((~keep).sum())
        out.append(TriplesFactory.from_labeled_triples(arr[keep].reshape(-1, 3), **kw))  # type: ignore[arg-type]
    return KGEDataset(name, tr, out[0], out[1], dropped)


def load_local_dataset(
    name: str, data_dir: str | Path | None = None, *, verify: bool = False, create_inverse_triples: bool = False
) -> KGEDataset:
    """Load FB15k-237 or WN18RR from ``<data_dir>/kge/<name>/``.

    Args:
        name: ``fb15k237`` or ``wn18rr`` (``FB15k-237`` is accepted too).
        data_dir: the datasets root; defaults to :func:`default_data_dir`.
        verify: check each file's sha256 against the recorded one first.
        create_inverse_triples: passed to PyKEEN (for models trained with inverse relations).

    Raises:
        ConfigError: unknown name or missing files (the message says how to get them).
        DatasetIntegrityError: ``verify`` is on and a checksum does not match.
    """
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in DATASETS:
        raise ConfigError(f"unknown local dataset {name!r}; choose one of {sorted(DATASETS)} or {sorted(BUNDLED)}")
    spec = DATASETS[key]
    folder = Path(data_dir or default_data_dir()) / "kge" / spec.folder
    arrays = {}
    for split in SPLITS:
        path = folder / f"{split}.txt"
        if not path.is_file():
            raise ConfigError(
                f"{path} not found; set KGKIT_DATA or --data to the datasets folder, "
                f"or fetch it with `kgkit embed download {key} --dest DIR`"
            )
        if verify and sha256_file(path) != spec.files_sha256[split]:
            raise DatasetIntegrityError(f"{path} does not match its sha256 {spec.files_sha256[split]}; re-download it")
        arrays[split] = read_triples(path)
    return dataset_from_labeled(key, arrays["train"], arrays["valid"], arrays["test"],
                                create_inverse_triples=create_inverse_triples)


def load_bundled_dataset(name: str, *, create_inverse_triples: bool = False) -> KGEDataset:
    """Load one of PyKEEN's bundled datasets (Nations, UMLS, Kinships)."""
    import pykeen.datasets as pd

    key = name.lower()
    if key not in BUNDLED:
        raise ConfigError(f"unknown bundled dataset {name!r}; choose one of {sorted(BUNDLED)}")
    ds = getattr(pd, BUNDLED[key])(create_inverse_triples=create_inverse_triples)
    return KGEDataset(key, ds.training, ds.validation, ds.testing, {"valid": 0, "test": 0})


def load_dataset(name: str, data_dir: str | Path | None = None, **kwargs: bool) -> KGEDataset:
    """Load a dataset by name: a bundled one (nations, umls, kinships) or a local one (fb15k237, wn18rr)."""
    if name.lower() in BUNDLED:
        return load_bundled_dataset(name, create_inverse_triples=bool(kwargs.get("create_inverse_triples", False)))
    return load_local_dataset(name, data_dir, **kwargs)


def download_dataset(name: str, dest: str | Path, *, local_archive: str | Path | None = None) -> Path:
    """Fetch (or take from ``local_archive``) a dataset archive, check its sha256, extract the splits.

    Files land in ``<dest>/kge/<name>/{train,valid,test}.txt`` so that ``dest`` works as ``data_dir``.

    Raises:
        DatasetIntegrityError: the archive or an extracted file has the wrong checksum.
        KgkitError: the download failed.
    """
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in DATASETS:
        raise ConfigError(f"no download for {name!r}; choose one of {sorted(DATASETS)}")
    spec = DATASETS[key]
    if local_archive is not None:
        blob = Path(local_archive).read_bytes()
    else:
        import httpx

        try:
            resp = httpx.get(spec.url, follow_redirects=True, timeout=120)
            resp.raise_for_status()
        except httpx.HTTPError as err:
            raise KgkitError(
                f"downloading {spec.url} failed ({err}); download it by hand and pass --archive PATH"
            ) from err
        blob = resp.content
    if hashlib.sha256(blob).hexdigest() != spec.archive_sha256:
        raise DatasetIntegrityError(f"{name} archive sha256 is not {spec.archive_sha256}; the file is corrupt or different")
    out = Path(dest) / "kge" / spec.folder
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        for split in SPLITS:
            member = members.get(f"{split}.txt")
            if member is None:
                raise DatasetIntegrityError(f"{name} archive has no {split}.txt")
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            if hashlib.sha256(data).hexdigest() != spec.files_sha256[split]:
                raise DatasetIntegrityError(f"{split}.txt in the {name} archive has an unexpected sha256")
            (out / f"{split}.txt").write_bytes(data)
    return out
