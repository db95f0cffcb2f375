"""Link prediction and fact plausibility from a trained embedding run.

:class:`KGEPredictor` loads a run folder (model + saved id maps) and answers

* ``predict_tails(head, relation)`` / ``predict_heads(relation, tail)``: top-k entities with scores;
* ``predict_relations(head, tail)``: top-k relations with scores;
* ``score_facts([(s, p, o), ...])``: the model's score of each fact (higher = more plausible), for the
  fusion stage (flag implausible extractions) and the reasoner (rank paths).

Entities are given by their label in the run (a kgkit entity id for graph runs, e.g. ``Person:1a2b..``)
or, for graph runs, by display name when that name is unique. A fact with an entity or relation the
model never saw has no score: :func:`score_facts` returns ``nan`` for it rather than guessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from kgkit.embed.graph import load_id_maps
from kgkit.embed.training import MODEL_FILE
from kgkit.errors import ConfigError, KgkitError

if TYPE_CHECKING:  # pragma: no cover
    from pykeen.models import Model

__all__ = ["Prediction", "KGEPredictor", "UnknownLabelError", "score_facts", "load_model"]


class UnknownLabelError(KgkitError, KeyError):
    """An entity or relation is not in the model's id maps."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class Prediction:
    """One ranked answer: the label (entity id or relation), its display name and the model's score."""

    label: str
    name: str
    score: float


def load_model(run_dir: str | Path, device: str | None = "cpu") -> "Model":
    """Load the PyKEEN model saved in ``run_dir``.

    Raises:
        ConfigError: the folder has no saved model.
    """
    import torch

    path = Path(run_dir) / MODEL_FILE
    if not path.is_file():
        raise ConfigError(f"{path} not found; train a model first with `kgkit embed train`")
    return torch.load(path, map_location=device or "cpu", weights_only=False)


class KGEPredictor:
    """Predictions from one trained run. Construction does no I/O; :meth:`warm_up` (or first use) loads.

    Example:
        >>> p = KGEPredictor("runs/umls-rotate")  # doctest: +SKIP
        >>> p.predict_tails("virus", "causes", k=3)  # doctest: +SKIP
        [Prediction(label='disease_or_syndrome', name='disease_or_syndrome', score=-3.2), ...]
    """

    def __init__(self, run_dir: str | Path, *, device: str | None = "cpu") -> None:
        self.run_dir = Path(run_dir)
        self.device = device
        self._model: Model | None = None
        self.entity_to_id: dict[str, int] = {}
        self.relation_to_id: dict[str, int] = {}
        self.names: dict[str, str] = {}
        self._by_name: dict[str, list[str]] = {}
        #: the run's :class:`kgkit.embed.plausibility.Calibration`, set on first use of plausibility()
        self.calibration: Any = None

    @classmethod
    def from_model(cls, model: "Model", entity_to_id: dict[str, int], relation_to_id: dict[str, int],
                   names: dict[str, str] | None = None) -> "KGEPredictor":
        """Wrap an in-memory model and its id maps (no run folder)."""
        p = cls(".")
        p._set(model, entity_to_id, relation_to_id, names or {})
        return p

    def _set(self, model: "Model", e2i: dict[str, int], r2i: dict[str, int], names: dict[str, str]) -> None:
        self._model = model
        model.eval()
        self.entity_to_id, self.relation_to_id, self.names = e2i, r2i, names
        self._id_to_entity = {i: e for e, i in e2i.items()}
        self._id_to_relation = {i: r for r, i in r2i.items()}
        self._by_name = {}
        for label, name in names.items():
            self._by_name.setdefault(name.casefold(), []).append(label)

    def warm_up(self) -> None:
        """Load the model and id maps from the run folder (idempotent)."""
        if self._model is None:
            e2i, r2i, names = load_id_maps(self.run_dir)
            self._set(load_model(self.run_dir, self.device), e2i, r2i, names)

    @property
    def model(self) -> "Model":
        self.warm_up()
        assert self._model is not None
        return self._model

    # -- labels -------------------------------------------------------------------------------------
    def entity_index(self, entity: str) -> int:
        """The model id of an entity label (or unique display name).

        Raises:
            UnknownLabelError: the entity is not in the model (or its name is ambiguous).
        """
        self.warm_up()
        if entity in self.entity_to_id:
            return self.entity_to_id[entity]
        hits = self._by_name.get(entity.casefold(), [])
        if len(hits) == 1:
            return self.entity_to_id[hits[0]]
        if len(hits) > 1:
            raise UnknownLabelError(f"entity name {entity!r} is ambiguous ({', '.join(sorted(hits)[:5])}); use its id")
        raise UnknownLabelError(f"entity {entity!r} is not in the model; retrain after ingesting it, or check the spelling")

    def relation_index(self, relation: str) -> int:
        """The model id of a relation label.

        Raises:
            UnknownLabelError: the relation is not in the model.
        """
        self.warm_up()
        if relation in self.relation_to_id:
            return self.relation_to_id[relation]
        raise UnknownLabelError(
            f"relation {relation!r} is not in the model; known: {', '.join(sorted(self.relation_to_id)[:10])}"
        )

    def _entity_preds(self, scores: Any, k: int, exclude: Sequence[int] = ()) -> list[Prediction]:
        import torch

        scores = scores.clone()
        for i in exclude:
            scores[i] = float("-inf")
        top = torch.topk(scores, min(k, scores.numel()))
        out = []
        for s, i in zip(top.values.tolist(), top.indices.tolist()):
            label = self._id_to_entity[int(i)]
            out.append(Prediction(label, self.names.get(label, label), float(s)))
        return out

    # -- predictions --------------------------------------------------------------------------------
    def predict_tails(self, head: str, relation: str, k: int = 10) -> list[Prediction]:
        """The ``k`` best-scored tails of ``(head, relation, ?)``."""
        import torch

        batch = torch.tensor([[self.entity_index(head), self.relation_index(relation), 0]])
        with torch.inference_mode():
            scores = self.model.predict(hrt_batch=batch.to(self.model.device), target="tail")[0].cpu()
        return self._entity_preds(scores, k)

    def predict_heads(self, relation: str, tail: str, k: int = 10) -> list[Prediction]:
        """The ``k`` best-scored heads of ``(?, relation, tail)``."""
        import torch

        batch = torch.tensor([[0, self.relation_index(relation), self.entity_index(tail)]])
        with torch.inference_mode():
            scores = self.model.predict(hrt_batch=batch.to(self.model.device), target="head")[0].cpu()
        return self._entity_preds(scores, k)

    def predict_relations(self, head: str, tail: str, k: int = 10) -> list[Prediction]:
        """The ``k`` best-scored relations of ``(head, ?, tail)``."""
        import torch

        h, t = self.entity_index(head), self.entity_index(tail)
        n = len(self.relation_to_id)
        batch = torch.tensor([[h, r, t] for r in range(n)])
        scores = self._score_ids(batch)
        top = torch.topk(scores, min(k, n))
        return [Prediction(self._id_to_relation[int(i)], self._id_to_relation[int(i)], float(s))
                for s, i in zip(top.values.tolist(), top.indices.tolist())]

    def _score_ids(self, batch: Any) -> Any:
        import torch

        with torch.inference_mode():
            return self.model.predict_hrt(batch.to(self.model.device)).flatten().cpu()

    def score_facts(self, facts: Sequence[tuple[str, str, str]], *, batch_size: int = 4096) -> list[float]:
        """The model's score of each ``(subject, predicate, object)``; ``nan`` where a label is unknown."""
        import torch

        ids: list[tuple[int, int, int]] = []
        pos: list[int] = []
        for i, (s, p, o) in enumerate(facts):
            try:
                ids.append((self.entity_index(s), self.relation_index(p), self.entity_index(o)))
            except UnknownLabelError:
                continue
            pos.append(i)
        out = [math.nan] * len(facts)
        if ids:
            t = torch.tensor(ids, dtype=torch.long)
            scores: list[float] = []
            for chunk in t.split(batch_size):
                scores.extend(self._score_ids(chunk).tolist())
            for i, score in zip(pos, scores):
                out[i] = score
        return out

    def plausibility(self, facts: Sequence[tuple[str, str, str]]) -> list[float]:
        """A model-independent plausibility in [0, 1] of each fact; ``nan`` where a label is unknown.

        It is the share of candidate objects that the model scores strictly below the fact's object
        for ``(subject, predicate, ?)`` (ties count half): 1.0 means the object is the model's top
        answer, 0.5 is chance. Unlike raw scores it is comparable across models and relations, so the
        fusion stage can use one threshold to flag implausible extractions.
        """
        import torch

        out = [math.nan] * len(facts)
        rows: list[tuple[int, int, int, int]] = []
        for i, (s, p, o) in enumerate(facts):
            try:
                rows.append((i, self.entity_index(s), self.relation_index(p), self.entity_index(o)))
            except UnknownLabelError:
                continue
        n = len(self.entity_to_id)
        for start in range(0, len(rows), 256):
            chunk = rows[start : start + 256]
            batch = torch.tensor([[h, r, t] for _, h, r, t in chunk])
            with torch.inference_mode():
                scores = self.model.predict(hrt_batch=batch.to(self.model.device), target="tail").cpu()
            true = scores[torch.arange(len(chunk)), batch[:, 2]].unsqueeze(1)
            below = (scores < true).sum(1).double() + 0.5 * ((scores == true).sum(1).double() - 1)
            for (i, *_), b in zip(chunk, (below / max(n - 1, 1)).tolist()):
                out[i] = float(b)
        return out


def score_facts(run_or_predictor: "str | Path | KGEPredictor", facts: Sequence[tuple[str, str, str]]) -> list[float]:
    """Plausibility scores of ``facts`` under a trained run (higher = more plausible; ``nan`` = unknown).

    ``run_or_predictor`` is a run folder or a :class:`KGEPredictor` (reuse one to avoid reloading).
    """
    pred = run_or_predictor if isinstance(run_or_predictor, KGEPredictor) else KGEPredictor(run_or_predictor)
    return pred.score_facts(facts)
