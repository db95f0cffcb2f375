"""kgkit's own 1-vs-all training loop for bilinear models (ComplEx, DistMult) with reciprocal relations.

This is the recipe of Lacroix, Usunier and Obozinski (2018), "Canonical Tensor Decomposition for
Knowledge Base Completion" (github.com/facebookresearch/kbc), which reaches published-level MRR on
FB15k-237 and WN18RR with plain ComplEx: every training triple ``(h, r, t)`` gives two queries,
``(h, r) -> t`` and ``(t, r⁻¹) -> h``; each query is scored against *all* entities with one matrix
product and trained with softmax cross-entropy; the embeddings of the batch's factors get the
weighted N3 (nuclear 3-norm) penalty; the optimiser is Adagrad; embeddings start small (x1e-3).

It trains the parameters of a PyKEEN model in place (so the model saves, loads, evaluates and predicts
like any PyKEEN model) but does not go through PyKEEN's training loop:

* the whole step is one ``(B, 2d) @ (2d, n)`` product on the raw interleaved (re, im) weight table
  (no complex tensors, no per-batch label matrices as in PyKEEN's LCWA loop), with TF32 matrix units on
  GPUs that have them;
* triples stay on the device; an epoch is a shuffled index walk;
* validation MRR every ``eval_every`` epochs with :class:`~kgkit.embed.evaluation.FastRankEvaluator`
  (ranks identical to PyKEEN's); the best-validation weights are kept and restored at the end;
* ``time_budget_s`` stops before the next epoch would overrun; ``checkpoint`` saves model, optimiser,
  epoch, curve and best weights atomically after every epoch and a rerun resumes from it.

Example:
    >>> from kgkit.embed.datasets import load_dataset  # doctest: +SKIP
    >>> ds = load_dataset("nations", create_inverse_triples=True)  # doctest: +SKIP
    >>> model = make_model("ComplEx", ds, embedding_dim=64)  # doctest: +SKIP
    >>> res = train_one_vs_all(model, ds, OneVsAllConfig(epochs=20))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from kgkit.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from pykeen.models import Model

    from kgkit.embed.datasets import KGEDataset

__all__ = ["OneVsAllConfig", "OneVsAllResult", "train_one_vs_all", "make_model", "SUPPORTED_MODELS"]

SUPPORTED_MODELS = ("ComplEx", "DistMult")


@dataclass(frozen=True)
class OneVsAllConfig:
    """Settings of :func:`train_one_vs_all` (the keyword arguments of a ``fast:`` pipeline section).

    Args:
        epochs: the most epochs to run.
        batch_size: training triples per step (each gives two queries: tail and reciprocal head).
        lr: Adagrad learning rate.
        regularizer_weight: weight of the N3 penalty on the batch's factors (0 turns it off).
        init_scale: initial embeddings are standard normal times this.
        eval_every: validation MRR every this many epochs (and after the last); 0 turns it off.
        eval_batch_size: evaluation triples per batch.
        time_budget_s: stop before an epoch would end past this many seconds of training (None: no limit).
        seed: torch seed for the initial embeddings and the shuffles.
        tf32: allow TF32 matrix units on GPUs (float32 storage, about 10 bits of mantissa in products).
    """

    epochs: int = 100
    batch_size: int = 1000
    lr: float = 0.1
    regularizer_weight: float = 0.05
    init_scale: float = 1e-3
    eval_every: int = 5
    eval_batch_size: int = 512
    time_budget_s: float | None = None
    seed: int = 0
    tf32: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.regularizer_weight < 0:
            raise ConfigError(f"invalid 1-vs-all settings {self}: epochs/batch_size >= 1, lr > 0, "
                              "regularizer_weight >= 0")


@dataclass
class OneVsAllResult:
    """What :func:`train_one_vs_all` did."""

    epochs: int
    seconds: float
    losses: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    validation_mrr: list[tuple[int, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_validation_mrr: float = float("nan")
    stopped_by_budget: bool = False
    resumed_from_epoch: int = 0


def make_model(name: str, dataset: "KGEDataset", *, embedding_dim: int, seed: int = 0,
               device: str = "cpu") -> "Model":
    """A PyKEEN ComplEx or DistMult model for ``dataset`` (built with ``create_inverse_triples=True``)."""
    import torch
    from pykeen.models import ComplEx, DistMult

    if not dataset.training.create_inverse_triples:
        raise ConfigError("the 1-vs-all loop trains with reciprocal relations: load the dataset with "
                          "create_inverse_triples=True")
    classes = {"complex": ComplEx, "distmult": DistMult}
    cls = classes.get(name.lower())
    if cls is None:
        raise ConfigError(f"model {name!r} has no 1-vs-all fast path; choose one of {SUPPORTED_MODELS} "
                          "or train it with train_kge (PyKEEN's loop)")
    torch.manual_seed(seed)
    return cls(triples_factory=dataset.training, embedding_dim=embedding_dim, random_seed=seed).to(device)


def _tables(model: "Model") -> tuple["torch.Tensor", "torch.Tensor", bool]:
    """The raw (n, k) weight tables of entities and relations, and whether they hold (re, im) pairs."""
    from pykeen.models import ComplEx, DistMult

    if not isinstance(model, (ComplEx, DistMult)):
        raise ConfigError(f"{type(model).__name__} has no 1-vs-all fast path; use one of {SUPPORTED_MODELS}")
    if not getattr(model, "use_inverse_triples", False):
        raise ConfigError("the model must be built with inverse triples (create_inverse_triples=True)")
    ent: torch.Tensor = model.entity_representations[0]._embeddings.weight  # type: ignore[union-attr, assignment]
    rel: torch.Tensor = model.relation_representations[0]._embeddings.weight  # type: ignore[union-attr, assignment]
    return ent, rel, isinstance(model, ComplEx)


def _query(h: "torch.Tensor", r: "torch.Tensor", is_complex: bool) -> "torch.Tensor":
    """``h * r`` in the interleaved layout, so that ``query @ E.T`` is ``Re(<h, r, conj(t)>)``."""
    import torch

    if not is_complex:
        return h * r
    hv, rv = h.view(*h.shape[:-1], -1, 2), r.view(*r.shape[:-1], -1, 2)
    re = hv[..., 0] * rv[..., 0] - hv[..., 1] * rv[..., 1]
    im = hv[..., 0] * rv[..., 1] + hv[..., 1] * rv[..., 0]
    return torch.stack((re, im), dim=-1).flatten(-2)


def _modulus(x: "torch.Tensor", is_complex: bool) -> "torch.Tensor":
    if not is_complex:
        return x.abs()
    v = x.view(*x.shape[:-1], -1, 2)
    return (v[..., 0] ** 2 + v[..., 1] ** 2).sqrt()


def _config_key(model: "Model", dataset: "KGEDataset", cfg: OneVsAllConfig) -> str:
    ent, rel, _ = _tables(model)
    blob = json.dumps({"model": type(model).__name__, "ent": list(ent.shape), "rel": list(rel.shape),
                       "train": int(dataset.training.num_triples), "cfg": {**asdict(cfg), "time_budget_s": None,
                                                                            "epochs": None}}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # a kill mid-save leaves the previous checkpoint intact


def train_one_vs_all(
    model: "Model", dataset: "KGEDataset", config: OneVsAllConfig | None = None, *,
    checkpoint: str | Path | None = None, on_epoch: Callable[[int, float, float | None], None] | None = None,
    validate: Callable[["Model"], float] | None = None,
    should_stop: Callable[[OneVsAllResult], bool] | None = None,
) -> OneVsAllResult:
    """Train ``model`` (ComplEx or DistMult with inverse triples) in place with the 1-vs-all recipe.

    Args:
        model: a PyKEEN model from :func:`make_model` (already on its device).
        dataset: the dataset it was built for (validation is used for model selection).
        config: the settings; defaults to :class:`OneVsAllConfig`.
        checkpoint: a file to save after every epoch and resume from when it exists (and matches).
        on_epoch: called as ``on_epoch(epoch, loss, validation_mrr_or_None)`` after every epoch.
        validate: ``validate(model) -> MRR`` for model selection; default: filtered both-sides MRR on
            ``dataset.validation`` with :class:`~kgkit.embed.evaluation.FastRankEvaluator`.
        should_stop: called with the curve so far after every epoch; training ends when it returns True
            (e.g. after a budget of training time alone, validations excluded).

    Returns:
        the curve; the model holds the best-validation weights (or the last ones without validation).

    Raises:
        ConfigError: the model has no fast path, or the checkpoint belongs to another model or setting.
    """
    import torch

    from kgkit.embed.evaluation import FastRankEvaluator

    cfg = config or OneVsAllConfig()
    ent, rel, is_complex = _tables(model)
    device = ent.device
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = cfg.tf32
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
    optimizer = torch.optim.Adagrad([ent, rel], lr=cfg.lr)
    res = OneVsAllResult(epochs=0, seconds=0.0)
    best_state: dict[str, torch.Tensor] | None = None
    key = _config_key(model, dataset, cfg)
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        if state.get("key") != key:
            raise ConfigError(f"checkpoint {ckpt} was made for another model, dataset or setting; "
                              "delete it or pass another --checkpoint path")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        best_state = state.get("best")
        res = OneVsAllResult(**state["result"])
        res.resumed_from_epoch = res.epochs
    else:
        with torch.no_grad():
            torch.manual_seed(cfg.seed)
            ent.normal_().mul_(cfg.init_scale)
            rel.normal_().mul_(cfg.init_scale)

    mapped = dataset.training.mapped_triples.to(device)
    h, r, t = mapped[:, 0], mapped[:, 1], mapped[:, 2]
    # PyKEEN's relation layout with inverse triples: 2r forward, 2r + 1 reciprocal
    queries = torch.cat([torch.stack([h, 2 * r, t], 1), torch.stack([t, 2 * r + 1, h], 1)])
    n = queries.shape[0]
    evaluator = FastRankEvaluator(batch_size=cfg.eval_batch_size)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="mean")
    start_epoch = res.epochs
    started = time.perf_counter() - res.seconds
    for epoch in range(start_epoch + 1, cfg.epochs + 1):
        if cfg.time_budget_s is not None and res.epoch_seconds:
            mean = sum(res.epoch_seconds[-3:]) / len(res.epoch_seconds[-3:])
            if time.perf_counter() - started + mean > cfg.time_budget_s:
                res.stopped_by_budget = True
                break
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=gen).to(device)
        total, steps = torch.zeros((), device=device), 0
        for b in range(0, n, cfg.batch_size):
            batch = queries[order[b:b + cfg.batch_size]]
            hq, rq, tq = ent[batch[:, 0]], rel[batch[:, 1]], ent[batch[:, 2]]
            scores = _query(hq, rq, is_complex) @ ent.t()
            loss = loss_fn(scores, batch[:, 2])
            if cfg.regularizer_weight:
                n3 = sum((_modulus(f, is_complex) ** 3).sum() for f in (hq, rq, tq))
                loss = loss + cfg.regularizer_weight * n3 / batch.shape[0]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
            steps += 1
        epoch_loss = float(total) / max(steps, 1)
        if device.type == "cuda":
            torch.cuda.synchronize()
        res.epoch_seconds.append(time.perf_counter() - t0)
        res.losses.append(epoch_loss)
        res.epochs = epoch
        if not math.isfinite(epoch_loss):
            raise ConfigError(f"training diverged at epoch {epoch} (loss {epoch_loss}); lower lr or init_scale")
        vmrr = None
        if cfg.eval_every and (epoch % cfg.eval_every == 0 or epoch == cfg.epochs):
            vmrr = validate(model) if validate is not None else _validation_mrr(model, dataset, evaluator)
            res.validation_mrr.append((epoch, vmrr))
            if not (vmrr <= res.best_validation_mrr):  # also true for the first (nan) comparison
                res.best_epoch, res.best_validation_mrr = epoch, vmrr
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        res.seconds = time.perf_counter() - started
        if ckpt is not None:
            _save_checkpoint(ckpt, {"key": key, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                    "generator": gen.get_state(), "best": best_state, "result": asdict(res)})
        if on_epoch is not None:
            on_epoch(epoch, epoch_loss, vmrr)
        if should_stop is not None and should_stop(res):
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    res.seconds = time.perf_counter() - started
    return res


def _validation_mrr(model: "Model", dataset: "KGEDataset", evaluator: Any) -> float:
    out = evaluator.evaluate(model, dataset.validation.mapped_triples,
                             additional_filter_triples=[dataset.training.mapped_triples])
    return float(out.metrics["both.mrr"])
