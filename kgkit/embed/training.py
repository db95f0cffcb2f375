"""Train a KG embedding with PyKEEN and save a self-contained run folder.

A YAML pipeline (``pipelines/kge-*.yaml``) holds exactly the keyword arguments of :func:`train_kge`;
every key kgkit does not know is passed unchanged to :func:`pykeen.pipeline.pipeline` (``model``,
``model_kwargs``, ``loss``, ``negative_sampler``, ``optimizer``, ``training_kwargs``, ``stopper``, ...).

kgkit adds, on top of PyKEEN:

* ``device: auto`` picks CUDA when present;
* explicit evaluation batch sizes (PyKEEN's automatic search can blow memory) for both the final
  evaluation and the early stopper;
* early stopping on validation MRR (``stopper: early``) and evaluation with kgkit's
  :class:`~kgkit.embed.evaluation.FastRankEvaluator` (same metrics as PyKEEN's, much faster on CPU);
* a run folder: ``trained_model.pkl``, ``entity_to_id.json``, ``relation_to_id.json``, ``config.yaml``,
  ``metrics.json``, ``training_curve.png`` and ``calibration.json`` (score -> probability, fitted on the
  validation split; see :mod:`kgkit.embed.plausibility`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import yaml

from kgkit.embed.datasets import KGEDataset, load_dataset
from kgkit.embed.graph import save_id_maps
from kgkit.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.store.base import GraphStore

__all__ = ["TrainResult", "train_kge", "load_pipeline_config", "resolve_device", "CONFIG_FILE", "METRICS_FILE",
           "MODEL_FILE", "CURVE_FILE"]

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
MODEL_FILE = "trained_model.pkl"
CURVE_FILE = "training_curve.png"

#: keys of a kge pipeline YAML that kgkit consumes itself; everything else goes to pykeen.pipeline
KGKIT_KEYS = {"dataset", "data_dir", "split", "seed", "device", "evaluation_batch_size", "evaluate_on",
              "fast_evaluator", "min_confidence", "create_inverse_triples", "name", "description", "checkpoint"}
#: ``training_loop`` value that selects kgkit's own 1-vs-all loop (:mod:`kgkit.embed.fast_training`)
ONE_VS_ALL = "one_vs_all"


@dataclass
class TrainResult:
    """What a training run produced."""

    run_dir: Path
    metrics: dict[str, float]
    epochs: int
    seconds: float
    device: str
    losses: list[float] = field(default_factory=list)
    validation_mrr: list[tuple[int, float]] = field(default_factory=list)


def resolve_device(device: str | None) -> str:
    """``auto``/None -> ``cuda`` when available, else ``cpu``; anything else is checked and returned.

    Raises:
        ConfigError: CUDA was asked for but is not available.
    """
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available; use --device cpu or auto")
    return device


def load_pipeline_config(path: str | Path) -> dict[str, Any]:
    """Read a kge pipeline YAML (a mapping of :func:`train_kge` keyword arguments).

    Raises:
        ConfigError: the file is missing or not a mapping.
    """
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except FileNotFoundError as err:
        raise ConfigError(f"pipeline file {p} not found; see pipelines/kge-*.yaml for examples") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{p} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{p} must be a mapping of train_kge keyword arguments")
    return data


def _fast_evaluator_cls() -> type:
    """A PyKEEN ``RankBasedEvaluator`` whose ranks come from kgkit's FastRankEvaluator."""
    from pykeen.evaluation import RankBasedEvaluator

    from kgkit.embed.evaluation import FastRankEvaluator

    class FastPykeenEvaluator(RankBasedEvaluator):  # type: ignore[misc]
        def __init__(self, *, kgkit_batch_size: int = 256, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.kgkit_batch_size = kgkit_batch_size

        def evaluate(self, model: Any, mapped_triples: Any, batch_size: int | None = None, *args: Any,
                     additional_filter_triples: Any = None, device: Any = None, **kwargs: Any) -> Any:
            extra = additional_filter_triples
            extra = [] if extra is None else (extra if isinstance(extra, (list, tuple)) else [extra])
            res = FastRankEvaluator(batch_size=batch_size or self.kgkit_batch_size, filtered=self.filtered).evaluate(
                model, mapped_triples, additional_filter_triples=extra, device=str(device) if device else None)
            self.clear()
            for side in res.optimistic:
                self.ranks[side, "optimistic"].append(res.optimistic[side])
                self.ranks[side, "pessimistic"].append(res.pessimistic[side])
                self.ranks[side, "realistic"].append(res.realistic(side))
                self.num_candidates[side].append(res.num_candidates[side])
            self.num_entities = model.num_entities
            return self.finalize()

    return FastPykeenEvaluator


def _prepare(kwargs: dict[str, Any], eval_bs: int, seed: int) -> dict[str, Any]:
    kw = dict(kwargs)
    kw.setdefault("random_seed", seed)
    # per-batch progress bars flood logs and CI output; the per-epoch bar stays unless turned off
    kw["training_kwargs"] = {"use_tqdm_batch": False, **(kw.get("training_kwargs") or {})}
    kw["evaluation_kwargs"] = {"batch_size": eval_bs, **(kw.get("evaluation_kwargs") or {})}
    if kw.get("stopper") == "early":
        sk = dict(kw.get("stopper_kwargs") or {})
        sk.setdefault("metric", "inverse_harmonic_mean_rank")
        sk.setdefault("evaluation_batch_size", eval_bs)
        kw["stopper_kwargs"] = sk
    return kw


def train_kge(
    *, run_dir: str | Path, dataset: str | KGEDataset | None = None, store: "GraphStore | None" = None,
    data_dir: str | Path | None = None, split: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0,
    device: str | None = "auto", evaluation_batch_size: int = 256, evaluate_on: str = "test",
    fast_evaluator: bool = True, min_confidence: float = 0.0, create_inverse_triples: bool = False,
    name: str | None = None, description: str | None = None, checkpoint: str | Path | None = None,
    **pipeline_kwargs: Any,
) -> TrainResult:
    """Train a PyKEEN model on a dataset or on a kgkit graph and save the run folder.

    Args:
        run_dir: where the model, id maps, config, metrics and curve are written.
        dataset: a dataset name (nations, umls, kinships, fb15k237, wn18rr), a loaded :class:`KGEDataset`,
            or None to use ``store``.
        store: a kgkit graph store to train on (split deterministically by ``split`` and ``seed``).
        data_dir: the datasets folder for local datasets.
        split: train/validation/test ratios for a store's graph.
        seed: random seed (PyKEEN's ``random_seed`` and the split's hash salt).
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda[:n]``.
        evaluation_batch_size: evaluation triples per batch, for the final evaluation and early stopping.
        evaluate_on: ``test`` or ``valid``: the split of the final metrics.
        fast_evaluator: evaluate with kgkit's FastRankEvaluator (identical metrics) instead of PyKEEN's.
        min_confidence: facts of a store below this confidence are left out.
        create_inverse_triples: train with inverse relations (PyKEEN's option).
        name: the pipeline's name (recorded in config.yaml only).
        description: the pipeline's description (recorded only).
        checkpoint: with ``training_loop: one_vs_all``, a file to save after every epoch and resume from.
        **pipeline_kwargs: passed unchanged to :func:`pykeen.pipeline.pipeline`; with
            ``training_loop: one_vs_all`` kgkit's own loop runs instead (keys ``model``, ``embedding_dim``
            and the :class:`~kgkit.embed.fast_training.OneVsAllConfig` fields; see
            ``pipelines/kge-fb15k237-complex-n3.yaml``).

    Raises:
        ConfigError: neither or both of dataset/store given, or bad options.
    """
    from pykeen.pipeline import pipeline

    if (dataset is None) == (store is None):
        raise ConfigError("give exactly one of dataset= (a name) or store= (a kgkit graph) to train on")
    if evaluate_on not in ("test", "valid"):
        raise ConfigError(f"evaluate_on must be 'test' or 'valid', got {evaluate_on!r}")
    unknown = set(pipeline_kwargs) & {"training", "validation", "testing", "dataset_kwargs"}
    if unknown:
        raise ConfigError(f"{sorted(unknown)} are set by kgkit from dataset=/store=; remove them from the pipeline")
    names: dict[str, str] | None = None
    if store is not None:
        from kgkit.embed.graph import graph_dataset

        ds, names = graph_dataset(store, ratios=tuple(split), seed=seed, min_confidence=min_confidence,  # type: ignore[arg-type]
                                  create_inverse_triples=create_inverse_triples)
    elif isinstance(dataset, KGEDataset):
        ds = dataset
    else:
        ds = load_dataset(str(dataset), data_dir, create_inverse_triples=create_inverse_triples)
    dev = resolve_device(device)
    if pipeline_kwargs.get("training_loop") == ONE_VS_ALL:
        return _train_one_vs_all(run_dir, ds, names, dev, seed, evaluation_batch_size, evaluate_on, checkpoint,
                                 {"name": name, "description": description, "dataset": dataset if isinstance(dataset, str)
                                  else ("store" if store is not None else ds.name), "seed": seed,
                                  "split": list(split), "min_confidence": min_confidence},
                                 dict(pipeline_kwargs), store)
    kw = _prepare(pipeline_kwargs, evaluation_batch_size, seed)
    if fast_evaluator and "evaluator" not in kw:
        kw["evaluator"] = _fast_evaluator_cls()(kgkit_batch_size=evaluation_batch_size)
    final = ds.testing if evaluate_on == "test" else ds.validation
    extra_filter = [ds.training.mapped_triples] + ([ds.validation.mapped_triples] if evaluate_on == "test" else [])
    kw["evaluation_kwargs"].setdefault("additional_filter_triples", extra_filter)
    t0 = time.perf_counter()
    result = pipeline(training=ds.training, validation=ds.validation, testing=final, device=dev, **kw)
    seconds = time.perf_counter() - t0

    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    result.save_to_directory(run, save_training=False)
    save_id_maps(run, ds.training.entity_to_id, ds.training.relation_to_id, names)
    metrics = _flat_metrics(result.metric_results)
    losses = [float(x) for x in result.losses]
    vmrr = _stopper_curve(result)
    epochs = len(losses)
    config = {"name": name, "description": description, "dataset": dataset if isinstance(dataset, str) else ("store" if store is not None else ds.name),
              "split": list(split), "seed": seed, "device": dev, "evaluation_batch_size": evaluation_batch_size,
              "evaluate_on": evaluate_on, "fast_evaluator": fast_evaluator, "min_confidence": min_confidence,
              "create_inverse_triples": create_inverse_triples, **_plain(pipeline_kwargs)}
    (run / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False))
    (run / METRICS_FILE).write_text(json.dumps({
        "dataset": config["dataset"], "model": str(pipeline_kwargs.get("model")), "evaluated_on": evaluate_on,
        "epochs": epochs, "train_seconds": seconds, "device": dev, "metrics": metrics, "losses": losses,
        "validation_mrr": vmrr, "num_entities": ds.num_entities, "num_relations": ds.num_relations,
        "triples": {"train": ds.training.num_triples, "valid": ds.validation.num_triples, "test": ds.testing.num_triples},
        "dropped_unseen": ds.dropped,
    }, indent=2))
    _plot_curve(run / CURVE_FILE, losses, vmrr)
    _calibrate(result.model, ds, run, store)
    return TrainResult(run, metrics, epochs, seconds, dev, losses, vmrr)


def _train_one_vs_all(run_dir: str | Path, ds: KGEDataset, names: dict[str, str] | None, dev: str, seed: int,
                      eval_bs: int, evaluate_on: str, checkpoint: str | Path | None, meta: dict[str, Any],
                      kwargs: dict[str, Any], store: "GraphStore | None" = None) -> TrainResult:
    """``training_loop: one_vs_all``: kgkit's 1-vs-all loop, saved as the same run folder as PyKEEN's."""
    import torch

    from kgkit.embed.evaluation import FastRankEvaluator
    from kgkit.embed.fast_training import OneVsAllConfig, make_model, train_one_vs_all

    kwargs.pop("training_loop")
    model_name = str(kwargs.pop("model", "ComplEx"))
    dim = int(kwargs.pop("embedding_dim", 200))
    try:
        cfg = OneVsAllConfig(seed=seed, eval_batch_size=eval_bs, **kwargs)
    except TypeError as err:
        raise ConfigError(f"unknown key for training_loop: one_vs_all ({err}); allowed: model, embedding_dim and "
                          f"{sorted(OneVsAllConfig.__dataclass_fields__)}") from err
    if not ds.training.create_inverse_triples:
        raise ConfigError("training_loop: one_vs_all needs create_inverse_triples: true in the pipeline")
    model = make_model(model_name, ds, embedding_dim=dim, seed=seed, device=dev)
    res = train_one_vs_all(model, ds, cfg, checkpoint=checkpoint)
    final = ds.testing if evaluate_on == "test" else ds.validation
    extra = [ds.training.mapped_triples] + ([ds.validation.mapped_triples] if evaluate_on == "test" else [])
    ranked = FastRankEvaluator(batch_size=eval_bs).evaluate(model, final.mapped_triples, additional_filter_triples=extra)
    metrics = {k: float(v) for k, v in ranked.metrics.items()}
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    torch.save(model, run / MODEL_FILE)  # the same file PyKEEN's save_to_directory writes
    save_id_maps(run, ds.training.entity_to_id, ds.training.relation_to_id, names)
    config = {**meta, "device": dev, "evaluate_on": evaluate_on, "training_loop": ONE_VS_ALL, "model": model_name,
              "embedding_dim": dim, "create_inverse_triples": True, **_plain(kwargs)}
    (run / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False))
    (run / METRICS_FILE).write_text(json.dumps({
        "dataset": meta["dataset"], "model": model_name, "evaluated_on": evaluate_on, "epochs": res.epochs,
        "train_seconds": res.seconds, "device": dev, "metrics": metrics, "losses": res.losses,
        "validation_mrr": res.validation_mrr, "best_epoch": res.best_epoch, "num_entities": ds.num_entities,
        "num_relations": ds.num_relations, "dropped_unseen": ds.dropped,
        "triples": {"train": ds.training.num_triples, "valid": ds.validation.num_triples, "test": ds.testing.num_triples},
    }, indent=2))
    _plot_curve(run / CURVE_FILE, res.losses, res.validation_mrr)
    _calibrate(model, ds, run, store)
    return TrainResult(run, metrics, res.epochs, res.seconds, dev, res.losses, res.validation_mrr)


def _calibrate(model: Any, ds: KGEDataset, run: Path, store: "GraphStore | None") -> None:
    """Save ``calibration.json`` (Platt scaling on the held-out splits) for plausibility()."""
    from kgkit.embed.plausibility import calibrate_on_dataset

    types = {e.id: e.type for e in store.iter_entities()} if store is not None else None
    calibrate_on_dataset(model, ds, run, types=types)


def _plain(obj: Any) -> Any:
    """Config values as YAML-safe plain data (classes/instances become their names)."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return getattr(obj, "__name__", type(obj).__name__)


def _flat_metrics(mr: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    names = {"mrr": "inverse_harmonic_mean_rank", "hits@1": "hits_at_1", "hits@3": "hits_at_3",
             "hits@10": "hits_at_10", "mean_rank": "arithmetic_mean_rank"}
    for side in ("head", "tail", "both"):
        for short, long in names.items():
            out[f"{side}.{short}"] = float(mr.get_metric(f"{side}.realistic.{long}"))
    return out


def _stopper_curve(result: Any) -> list[tuple[int, float]]:
    stopper = getattr(result, "stopper", None)
    results = list(getattr(stopper, "results", []) or [])
    freq = int(getattr(stopper, "frequency", 0) or 0)
    return [((i + 1) * freq, float(v)) for i, v in enumerate(results)] if freq else []


def _plot_curve(path: Path, losses: list[float], vmrr: list[tuple[int, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(1, len(losses) + 1), losses, color="tab:blue", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss", color="tab:blue")
    if vmrr:
        ax2 = ax.twinx()
        ax2.plot([e for e, _ in vmrr], [m for _, m in vmrr], "o-", color="tab:orange", label="validation MRR")
        ax2.set_ylabel("validation MRR", color="tab:orange")
    ax.set_title("training curve")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
