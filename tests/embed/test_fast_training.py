"""kgkit's 1-vs-all training loop: exact scores, learning, checkpoint/resume, and the GPU script's smoke mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from kgkit.embed.datasets import load_dataset  # noqa: E402
from kgkit.embed.fast_training import (  # noqa: E402
    OneVsAllConfig,
    _query,
    _tables,
    make_model,
    train_one_vs_all,
)
from kgkit.errors import ConfigError  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def nations():
    return load_dataset("nations", create_inverse_triples=True)


@pytest.mark.parametrize("name", ["ComplEx", "DistMult"])
def test_scores_equal_pykeen(nations, name):
    model = make_model(name, nations, embedding_dim=8)
    ent, rel, is_complex = _tables(model)
    with torch.no_grad():
        ent.normal_()
        rel.normal_()
    hr = nations.training.mapped_triples[:7, :2]
    expected = model.score_t(hr)
    got = _query(ent[hr[:, 0]], rel[hr[:, 1]], is_complex) @ ent.t()
    assert torch.allclose(expected, got, atol=1e-4)


def test_learns_and_keeps_best_validation_weights(nations):
    model = make_model("ComplEx", nations, embedding_dim=16)
    res = train_one_vs_all(model, nations, OneVsAllConfig(epochs=6, batch_size=256, eval_every=3,
                                                          regularizer_weight=0.01))
    assert res.epochs == 6 and len(res.losses) == 6
    assert res.losses[-1] < res.losses[0]
    # 14 entities: a random ranking has MRR ~0.23
    assert res.best_validation_mrr > 0.4
    assert res.best_epoch in (3, 6)


def test_checkpoint_resume_equals_uninterrupted_run(nations, tmp_path):
    cfg = dict(batch_size=128, eval_every=0, regularizer_weight=0.01, seed=3)
    full = make_model("DistMult", nations, embedding_dim=8, seed=3)
    train_one_vs_all(full, nations, OneVsAllConfig(epochs=4, **cfg))

    ckpt = tmp_path / "run.ckpt"
    part = make_model("DistMult", nations, embedding_dim=8, seed=3)
    first = train_one_vs_all(part, nations, OneVsAllConfig(epochs=2, **cfg), checkpoint=ckpt)
    assert first.epochs == 2 and ckpt.exists()
    resumed_model = make_model("DistMult", nations, embedding_dim=8, seed=99)  # other init: must be overwritten
    second = train_one_vs_all(resumed_model, nations, OneVsAllConfig(epochs=4, **cfg), checkpoint=ckpt)
    assert second.resumed_from_epoch == 2 and second.epochs == 4 and len(second.losses) == 4
    for a, b in zip(full.parameters(), resumed_model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_checkpoint_of_other_setting_is_refused(nations, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    train_one_vs_all(make_model("DistMult", nations, embedding_dim=8), nations,
                     OneVsAllConfig(epochs=1, eval_every=0), checkpoint=ckpt)
    with pytest.raises(ConfigError, match="another model"):
        train_one_vs_all(make_model("DistMult", nations, embedding_dim=8), nations,
                         OneVsAllConfig(epochs=2, eval_every=0, lr=0.5), checkpoint=ckpt)


def test_time_budget_stops_early(nations):
    res = train_one_vs_all(make_model("DistMult", nations, embedding_dim=8), nations,
                           OneVsAllConfig(epochs=10_000, eval_every=0, time_budget_s=1.0))
    assert res.stopped_by_budget and res.epochs < 10_000


def test_refuses_models_without_fast_path(nations):
    with pytest.raises(ConfigError, match="fast path"):
        make_model("TransE", nations, embedding_dim=8)
    plain = load_dataset("nations")
    with pytest.raises(ConfigError, match="create_inverse_triples"):
        make_model("ComplEx", plain, embedding_dim=8)


def test_gpu_script_smoke_mode(tmp_path):
    """``benchmarks/gpu/run.sh --smoke`` runs every step of the GPU run tiny on the CPU."""
    out = tmp_path / "out"
    proc = subprocess.run(["bash", str(REPO / "benchmarks/gpu/run.sh"), "--smoke", "--out", str(out)],
                          capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "PYTHON": sys.executable})
    assert proc.returncode == 0, proc.stderr[-2000:]
    figures = json.loads((out / "kge_gpu.json").read_text())
    assert [f["dataset"] for f in figures["train"]] == ["nations", "umls"]
    assert all(0.0 < f["test"]["both.mrr"] <= 1.0 for f in figures["train"])
    assert figures["evaluators"]["abs_mrr_difference"] < 1e-6
    assert figures["loops"]["pykeen_lcwa_crossentropy"]["epoch_seconds"] > 0
    report = (out / "kge_gpu.md").read_text()
    assert "| Nations |" in report and "PyKEEN LCWA" in report
    assert (out / "nations_curve.png").stat().st_size > 1000


def test_cli_trains_one_vs_all_pipeline_and_resumes(tmp_path):
    """`kgkit embed train` with `training_loop: one_vs_all` saves a run folder that predicts, and resumes."""
    import yaml

    from kgkit.embed.predict import KGEPredictor

    cfg = yaml.safe_load((REPO / "pipelines/kge-fb15k237-complex-n3.yaml").read_text())
    cfg.update(dataset="nations", embedding_dim=16, epochs=2, batch_size=256, eval_every=1)
    pipe = tmp_path / "p.yaml"
    pipe.write_text(yaml.safe_dump(cfg))
    ckpt = tmp_path / "ckpt.pt"
    from typer.testing import CliRunner

    from kgkit.cli.main import app

    cmd = ["embed", "train", str(pipe), "--run-dir", str(tmp_path / "run"), "--device", "cpu", "--checkpoint", str(ckpt)]
    proc = CliRunner().invoke(app, cmd)
    assert proc.exit_code == 0, proc.output
    metrics = json.loads((tmp_path / "run/metrics.json").read_text())
    assert metrics["epochs"] == 2 and 0 < metrics["metrics"]["both.mrr"] <= 1
    preds = KGEPredictor(tmp_path / "run").predict_tails("brazil", "embassy", k=3)
    assert len(preds) == 3 and preds[0].score >= preds[-1].score
    assert ckpt.exists()
    proc = CliRunner().invoke(app, cmd + ["--epochs", "3"])
    assert proc.exit_code == 0, proc.output
    assert json.loads((tmp_path / "run/metrics.json").read_text())["epochs"] == 3
