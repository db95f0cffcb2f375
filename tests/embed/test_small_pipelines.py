"""The tuned small-graph pipelines (pipelines/kge-small-*.yaml) load and train: they cannot rot silently."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest

from kgkit.embed.training import CONFIG_FILE, METRICS_FILE, MODEL_FILE, load_pipeline_config, train_kge

logging.getLogger("pykeen").setLevel(logging.ERROR)

PIPELINES = sorted((Path(__file__).resolve().parents[2] / "pipelines").glob("kge-small-*.yaml"))


def test_small_pipelines_exist():
    names = {p.stem for p in PIPELINES}
    assert "kge-small-complex" in names, names


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.stem)
def test_small_pipeline_trains_on_nations(path, tmp_path):
    cfg = load_pipeline_config(path)
    assert cfg.get("model"), f"{path.name} names no model"
    assert cfg.get("description"), f"{path.name} has no description"
    # two epochs, no early stopping, on the smallest bundled graph: checks that every key is accepted
    cfg.update(dataset="nations", evaluate_on="valid", device="cpu")
    cfg.pop("stopper", None)
    cfg.pop("stopper_kwargs", None)
    cfg["training_kwargs"] = {**cfg["training_kwargs"], "num_epochs": 2, "use_tqdm": False}
    res = train_kge(run_dir=tmp_path / "run", **cfg)
    assert res.epochs == 2
    for name in (MODEL_FILE, CONFIG_FILE, METRICS_FILE):
        assert (res.run_dir / name).is_file(), name
    mrr = res.metrics["both.mrr"]
    assert math.isfinite(mrr) and 0.0 < mrr <= 1.0
    saved = json.loads((res.run_dir / METRICS_FILE).read_text())
    assert saved["model"] == cfg["model"] and saved["evaluated_on"] == "valid"
    assert all(math.isfinite(x) for x in res.losses)
