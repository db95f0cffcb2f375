"""Dataset loading: CRLF stripping, shared id maps, unseen-entity dropping, checksummed download."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest

from kgkit.embed.datasets import (
    DATASETS, DatasetIntegrityError, dataset_from_labeled, default_data_dir, download_dataset, load_local_dataset,
    read_triples,
)
from kgkit.errors import ConfigError


def test_read_triples_strips_crlf(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes(b"a\tr\tb\r\nb\tr\tc\r\n\r\n")
    arr = read_triples(p)
    assert arr.tolist() == [["a", "r", "b"], ["b", "r", "c"]]


def test_read_triples_rejects_bad_lines(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("a\tr\n")
    with pytest.raises(ConfigError, match="expected"):
        read_triples(p)


@pytest.mark.data
def test_fb15k237_valid_has_no_carriage_returns():
    path = default_data_dir() / "kge" / "fb15k237" / "valid.txt"
    arr = read_triples(path)
    assert arr.shape == (17535, 3)
    assert not any("\r" in x for x in arr[:, 2])
    assert all(x.startswith("/m/") for x in arr[:100, 2])


def test_splits_share_id_maps_and_drop_unseen():
    train = np.array([["a", "r", "b"], ["b", "s", "c"]])
    valid = np.array([["a", "r", "c"], ["a", "r", "zz"]])
    test = np.array([["c", "s", "a"], ["a", "q", "b"]])
    ds = dataset_from_labeled("toy", train, valid, test)
    assert ds.training.entity_to_id == ds.validation.entity_to_id == ds.testing.entity_to_id == {"a": 0, "b": 1, "c": 2}
    assert ds.training.relation_to_id == {"r": 0, "s": 1}
    assert ds.dropped == {"valid": 1, "test": 1}
    assert ds.validation.mapped_triples.tolist() == [[0, 0, 2]]
    assert ds.testing.mapped_triples.tolist() == [[2, 1, 0]]


@pytest.mark.data
def test_load_wn18rr_with_checksums():
    ds = load_local_dataset("wn18rr", verify=True)
    assert ds.training.num_triples == DATASETS["wn18rr"].lines["train"]
    assert ds.validation.num_triples + ds.dropped["valid"] == DATASETS["wn18rr"].lines["valid"]
    assert ds.num_entities == 40559 and ds.num_relations == 11


def test_missing_local_dataset_names_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="KGKIT_DATA"):
        load_local_dataset("fb15k237", tmp_path)


def test_download_rejects_wrong_checksum(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"a\tr\tb\n"
        info = tarfile.TarInfo("train.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(buf.getvalue())
    with pytest.raises(DatasetIntegrityError, match="sha256"):
        download_dataset("wn18rr", tmp_path / "out", local_archive=archive)
