"""Calibrated plausibility: the model's probability that a triple holds, for fusion and the reasoner.

A KGE score is only comparable within one model and one query. :class:`Calibration` maps it to a
probability with Platt scaling, ``P = sigmoid(a * score + b)``, fitted on *held-out* true triples
(the run's validation and test splits) against as many corruptions (one entity of each true triple
replaced by a uniformly drawn entity, of the same type where the graph has types; never a known
fact). The probability therefore reads as "true fact rather
than a random corruption of one": 0.5 is no opinion. It is saved as ``calibration.json`` in the run
folder (``kgkit embed train`` fits it; :func:`ensure_calibration` fits it for older graph runs).

* :func:`plausibility` ``(model, triples)``: calibrated probabilities (``nan`` for unknown labels).
* :func:`reasoner_hook`: the ``plausibility=`` hook :class:`kgkit.reason.reasoner.Reasoner` accepts.
* :func:`fusion_tiebreaker`: the ``tiebreaker=`` input of :func:`kgkit.fuse.fusion.fuse_graph`;
  :func:`graph_tiebreaker` builds it from fusion's ``plausibility_model`` parameter.

Example:
    >>> p = KGEPredictor("runs/graph")                       # doctest: +SKIP
    >>> plausibility(p, [("Person:ada", "bornIn", "Place:london")])  # doctest: +SKIP
    [0.93]
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

import numpy as np

from kgkit.calibration import fit_platt, sigmoid

from kgkit.embed.predict import KGEPredictor, UnknownLabelError
from kgkit.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from pykeen.models import Model

    from kgkit.embed.datasets import KGEDataset
    from kgkit.store.base import GraphStore

__all__ = ["Calibration", "CALIBRATION_FILE", "fit_calibration", "load_calibration", "save_calibration",
           "ensure_calibration", "plausibility", "reasoner_hook", "fusion_tiebreaker", "graph_tiebreaker", "graph_reasoner_hook",
           "corrupt",
           "calibrate_on_dataset"]

CALIBRATION_FILE = "calibration.json"
IdTriple = tuple[int, int, int]


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of one model's raw scores: ``P(true) = sigmoid(a * score + b)``.

    Attributes:
        a, b: the fitted slope and intercept.
        fitted_on: what the positives were (e.g. ``"validation split"``).
        positives / negatives: how many triples of each kind the fit used.
        brier: Brier score of the fit on its own data (lower is better; 0.25 is no information).
    """

    a: float
    b: float
    fitted_on: str = ""
    positives: int = 0
    negatives: int = 0
    brier: float = float("nan")

    def probability(self, scores: Iterable[float]) -> np.ndarray:
        """The calibrated probability of each raw score (``nan`` stays ``nan``)."""
        s = np.asarray(list(scores), dtype=np.float64)
        return sigmoid(self.a * s + self.b)


def _platt(scores: np.ndarray, labels: np.ndarray, *, l2: float = 1e-3, iters: int = 50) -> tuple[float, float]:
    """Logistic regression of ``labels`` on ``scores`` (:func:`kgkit.calibration.fit_platt`)."""
    return fit_platt(scores, labels, l2=l2, iters=iters)


def corrupt(positives: np.ndarray, num_entities: int, known: set[IdTriple], *, seed: int = 0,
            per_positive: int = 1, types: Sequence[str | None] | None = None) -> np.ndarray:
    """Corruptions of ``positives`` (n, 3) ids: head or tail (alternately) replaced by a uniformly drawn
    entity (of the same type as the one replaced, when ``types`` gives entity id -> type), never a
    triple in ``known``. Returns an (m, 3) array with m <= n * per_positive."""
    rng = np.random.default_rng(seed)
    pools: dict[str | None, np.ndarray] = {}
    if types is not None:
        arr = np.asarray([t or "" for t in types])
        pools = {t: np.flatnonzero(arr == t) for t in set(arr.tolist()) if t}
    out: list[IdTriple] = []
    for i, (h, r, t) in enumerate(positives.tolist()):
        for j in range(per_positive):
            replaced = t if (i + j) % 2 == 0 else h
            pool = pools.get(types[replaced]) if types is not None else None
            for _ in range(20):  # a few tries; a dense graph may leave no free corruption
                e = int(pool[rng.integers(len(pool))]) if pool is not None and len(pool) > 1 else int(rng.integers(num_entities))
                cand = (e, r, t) if (i + j) % 2 else (h, r, e)
                if cand not in known and cand[0] != cand[2]:
                    out.append(cand)
                    break
    return np.asarray(out, dtype=np.int64).reshape(-1, 3)


def _score_ids(predictor: KGEPredictor, ids: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    import torch

    if len(ids) == 0:
        return np.zeros(0)
    t = torch.as_tensor(ids, dtype=torch.long)
    return np.concatenate([predictor._score_ids(c).numpy().astype(np.float64) for c in t.split(batch_size)])


def fit_calibration(predictor: KGEPredictor, positives: np.ndarray, known: Iterable[IdTriple], *,
                    fitted_on: str = "", seed: int = 0, types: Mapping[str, str] | None = None) -> Calibration:
    """Fit :class:`Calibration` on held-out true triples ``positives`` ((n, 3) model ids) and one
    corruption of each (never a triple of ``known``; with ``types`` (entity label -> type) the
    replacement entity has the type of the one it replaces, so negatives are as hard as typed
    candidates).

    Raises:
        ConfigError: fewer than 2 positives (nothing to fit).
    """
    positives = np.asarray(positives, dtype=np.int64).reshape(-1, 3)
    if len(positives) < 2:
        raise ConfigError(f"calibration needs at least 2 held-out true triples, got {len(positives)}; "
                          "ingest more documents or lower the validation share of the split")
    known_set = {tuple(map(int, k)) for k in known} | {tuple(map(int, p)) for p in positives.tolist()}
    by_id: list[str | None] | None = None
    if types:
        by_id = [None] * len(predictor.entity_to_id)
        for label, i in predictor.entity_to_id.items():
            by_id[i] = types.get(label)
        fitted_on += " (typed corruptions)"
    negatives = corrupt(positives, len(predictor.entity_to_id), known_set, seed=seed, types=by_id)  # type: ignore[arg-type]
    scores = np.concatenate([_score_ids(predictor, positives), _score_ids(predictor, negatives)])
    labels = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    a, b = _platt(scores, labels)
    p = 1.0 / (1.0 + np.exp(-(a * scores + b)))
    return Calibration(a, b, fitted_on, len(positives), len(negatives), float(np.mean((p - labels) ** 2)))


def save_calibration(run_dir: str | Path, cal: Calibration) -> Path:
    path = Path(run_dir) / CALIBRATION_FILE
    path.write_text(json.dumps(asdict(cal), indent=2))
    return path


def load_calibration(run_dir: str | Path) -> Calibration | None:
    """The run's saved calibration, or None when it has none."""
    path = Path(run_dir) / CALIBRATION_FILE
    if not path.is_file():
        return None
    return Calibration(**json.loads(path.read_text()))


def _predictor(model: "KGEPredictor | str | Path") -> KGEPredictor:
    return model if isinstance(model, KGEPredictor) else KGEPredictor(model)


def ensure_calibration(model: "KGEPredictor | str | Path", store: "GraphStore | None" = None) -> Calibration:
    """The run's calibration; fitted (and saved) on the graph's validation split when it has none.

    The split is recomputed from the run's ``config.yaml`` (split, seed, min_confidence), so it is
    the one training held out as long as the graph has not changed since.

    Raises:
        ConfigError: no saved calibration and no graph to fit one on (or too few held-out facts).
    """
    import yaml

    p = _predictor(model)
    p.warm_up()
    cal = p.calibration or load_calibration(p.run_dir)
    if cal is not None:
        p.calibration = cal
        return cal
    if store is None:
        raise ConfigError(f"{p.run_dir} has no {CALIBRATION_FILE}; retrain with `kgkit embed train`, or fit one on "
                          "the graph with kgkit.embed.plausibility.ensure_calibration(run, store)")
    from kgkit.embed.graph import graph_dataset

    cfg_path = p.run_dir / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text()) if cfg_path.is_file() else {}
    ds, _ = graph_dataset(store, ratios=tuple(cfg.get("split") or (0.8, 0.1, 0.1)), seed=int(cfg.get("seed", 0)),
                          min_confidence=float(cfg.get("min_confidence", 0.0)))
    held = np.concatenate([_to_model_ids(p, ds.validation.triples), _to_model_ids(p, ds.testing.triples)])
    known = _to_model_ids(p, np.concatenate([ds.training.triples, ds.validation.triples, ds.testing.triples]))
    types = {e.id: e.type for e in store.iter_entities()}
    cal = fit_calibration(p, held, map(tuple, known.tolist()), fitted_on="graph validation+test split", types=types)
    save_calibration(p.run_dir, cal)
    p.calibration = cal
    return cal


def _to_model_ids(p: KGEPredictor, labeled: np.ndarray) -> np.ndarray:
    rows = []
    for s, r, o in np.asarray(labeled).reshape(-1, 3).tolist():
        if s in p.entity_to_id and o in p.entity_to_id and r in p.relation_to_id:
            rows.append((p.entity_to_id[s], p.relation_to_id[r], p.entity_to_id[o]))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def plausibility(model: "KGEPredictor | str | Path", triples: Sequence[tuple[str, str, str]], *,
                 calibration: Calibration | None = None) -> list[float]:
    """The model's calibrated probability that each ``(subject, predicate, object)`` holds.

    ``model`` is a run folder or a :class:`KGEPredictor`; labels are entity ids (or unique names) and
    relation names of the run. ``nan`` where a label is unknown to the model.

    Raises:
        ConfigError: no calibration given and the run has none saved.
    """
    p = _predictor(model)
    cal = calibration or ensure_calibration(p)
    scores = p.score_facts(triples)
    return [float(x) if not math.isnan(s) else math.nan for s, x in zip(scores, cal.probability(scores))]


def reasoner_hook(model: "KGEPredictor | str | Path", *, calibration: Calibration | None = None,
                  neutral: float = 0.5) -> Callable[[str, str, str], float]:
    """A ``plausibility=`` hook for :class:`~kgkit.reason.reasoner.Reasoner`.

    For a one-hop answer path (``rel`` or ``rel^-1``) it returns the calibrated probability of the
    fact linking the topic and the answer; for longer paths and labels the model does not know it
    returns ``neutral`` (no opinion). Node keys must be the model's entity labels (store ids).
    """
    p = _predictor(model)
    cal = calibration or ensure_calibration(p)
    cache: dict[tuple[str, str, str], float] = {}

    def hook(topic: str, path: str, answer: str) -> float:
        if "/" in path:
            return neutral
        rel, inverse = (path[:-3], True) if path.endswith("^-1") else (path, False)
        triple = (answer, rel, topic) if inverse else (topic, rel, answer)
        if triple not in cache:
            try:
                (v,) = plausibility(p, [triple], calibration=cal)
            except UnknownLabelError:
                v = math.nan
            cache[triple] = neutral if math.isnan(v) else v
        return cache[triple]

    return hook


def fusion_tiebreaker(model: "KGEPredictor | str | Path", *,
                      calibration: Calibration | None = None) -> Callable[[Sequence[tuple[str, str, str]]], list[float]]:
    """A ``tiebreaker=`` for :func:`kgkit.fuse.fusion.fuse_graph`: calibrated probabilities of triples."""
    p = _predictor(model)
    cal = calibration or ensure_calibration(p)
    return lambda triples: plausibility(p, triples, calibration=cal)


def _graph_model(run_dir: str | Path, store: "GraphStore", setting: str) -> tuple[KGEPredictor, Calibration]:
    """The model trained on the graph in ``run_dir`` and its calibration (fitted on the graph when the
    run has none), loaded now so that a bad path fails before anything runs."""
    from kgkit.embed.training import MODEL_FILE

    if not (Path(run_dir) / MODEL_FILE).is_file():
        raise ConfigError(
            f"{setting}: no trained model in {run_dir} ({MODEL_FILE} not found); train one on the "
            f"graph first with `kgkit embed train pipelines/kge-graph-complex.yaml --run-dir {run_dir}`, "
            f"or leave {setting} out")
    p = KGEPredictor(run_dir)
    return p, ensure_calibration(p, store)


def graph_tiebreaker(run_dir: str | Path, store: "GraphStore") -> Callable[[Sequence[tuple[str, str, str]]], list[float]]:
    """The ``tiebreaker=`` of fusion's ``plausibility_model`` (``kgkit fuse --plausibility-model RUN``):
    :func:`fusion_tiebreaker` of the run trained on the graph in ``run_dir``.

    Raises:
        ConfigError: ``run_dir`` holds no trained model (the message says how to train one).
    """
    p, cal = _graph_model(run_dir, store, "fusion.plausibility_model")
    return fusion_tiebreaker(p, calibration=cal)


def graph_reasoner_hook(run_dir: str | Path, store: "GraphStore") -> Callable[[str, str, str], float]:
    """The reasoner's ``plausibility=`` hook from the run trained on the graph in ``run_dir``
    (``kgkit ask --plausibility-model RUN``): :func:`reasoner_hook` with the graph's calibration.

    Raises:
        ConfigError: ``run_dir`` holds no trained model (the message says how to train one).
    """
    p, cal = _graph_model(run_dir, store, "--plausibility-model")
    return reasoner_hook(p, calibration=cal)


def calibrate_on_dataset(model: "Model", dataset: "KGEDataset", run_dir: str | Path | None = None, *,
                         types: Mapping[str, str] | None = None) -> Calibration | None:
    """Fit the calibration of a freshly trained ``model`` on ``dataset``'s held-out triples (validation
    and test: neither was trained on) and save it into ``run_dir``; None when they are fewer than 2
    (a tiny graph). ``types`` (entity label -> type) makes the corruptions typed."""
    import torch

    positives = torch.cat([dataset.validation.mapped_triples, dataset.testing.mapped_triples]).numpy()
    if len(positives) < 2:
        return None
    p = KGEPredictor.from_model(model, dict(dataset.training.entity_to_id), dict(dataset.training.relation_to_id))
    known = torch.cat([dataset.training.mapped_triples, dataset.validation.mapped_triples,
                       dataset.testing.mapped_triples]).tolist()
    cal = fit_calibration(p, positives, map(tuple, known), fitted_on="validation+test split", types=types)
    if run_dir is not None:
        save_calibration(run_dir, cal)
    return cal
