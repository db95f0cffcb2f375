"""Export a kgkit graph (any :class:`~kgkit.store.base.GraphStore`) to PyKEEN triples.

Entities are labelled by their kgkit id (type + normalised name, stable across runs) and relations by
their ontology name (``bornIn``). Ids are assigned in sorted label order and saved next to the model,
so the same graph always gives the same id maps and a saved model can be reloaded against them.

The train/validation/test split is deterministic and stable under growth: each fact goes to a split by
a hash of its fact id, so adding documents never moves an existing fact to another split. A fact whose
entity or relation would otherwise be missing from training is moved to training (an embedding model
cannot rank an entity it never saw).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

import numpy as np

from kgkit.embed.datasets import KGEDataset
from kgkit.errors import ConfigError
from kgkit.types import stable_hash

if TYPE_CHECKING:  # pragma: no cover
    from pykeen.triples import TriplesFactory

    from kgkit.store.base import GraphStore

__all__ = [
    "GraphTriples",
    "graph_triples",
    "split_labeled_triples",
    "graph_dataset",
    "triples_factory_from_labeled",
    "save_id_maps",
    "load_id_maps",
    "ENTITY_MAP_FILE",
    "RELATION_MAP_FILE",
    "ENTITY_NAMES_FILE",
]

ENTITY_MAP_FILE = "entity_to_id.json"
RELATION_MAP_FILE = "relation_to_id.json"
ENTITY_NAMES_FILE = "entity_names.json"


class GraphTriples:
    """The facts of a graph as labelled triples, with the fact ids and entity display names."""

    def __init__(self, labeled: np.ndarray, fact_ids: list[str], names: dict[str, str]) -> None:
        self.labeled = labeled  # (n, 3) str: subject id, predicate, object id
        self.fact_ids = fact_ids
        self.names = names  # entity id -> display name

    def __len__(self) -> int:
        return len(self.fact_ids)


def graph_triples(store: "GraphStore", *, min_confidence: float = 0.0, include: str = "accepted") -> GraphTriples:
    """Read the facts (and entity names) of the view of ``store`` (:func:`kgkit.view.read_view`).

    By default that is what fusion accepted: a fact fusion rejected is never a training triple.
    Facts whose (fused) confidence is below ``min_confidence`` are left out; ``include="all"``
    trains on everything, rejected facts included.
    """
    from kgkit.view import read_view

    view = read_view(store, include=include, min_confidence=min_confidence)
    names = {e.id: e.name for e in view.entities.values()}
    rows: dict[str, tuple[str, str, str]] = {f.id: (f.subject_id, f.predicate, f.object_id) for f in view.facts}
    fact_ids = sorted(rows)
    labeled = np.asarray([rows[i] for i in fact_ids], dtype=str).reshape(-1, 3)
    return GraphTriples(labeled, fact_ids, names)


def _bucket(key: str) -> float:
    return int(stable_hash(key, length=12), 16) / float(16**12)


def split_labeled_triples(
    labeled: np.ndarray, keys: Iterable[str] | None = None, *, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split triples deterministically by a hash of each key (default: the triple itself).

    Triples of validation/test whose entities or relation are absent from training move to training.

    Raises:
        ConfigError: ratios are negative or do not sum to 1.
    """
    if len(ratios) != 3 or min(ratios) < 0 or abs(sum(ratios) - 1.0) > 1e-6:
        raise ConfigError(f"split ratios must be three non-negative numbers summing to 1, got {ratios}")
    keys = list(keys) if keys is not None else ["\t".join(map(str, row)) for row in labeled]
    u = np.asarray([_bucket(f"{seed}:{k}") for k in keys]) if keys else np.zeros(0)
    part = np.where(u < ratios[0], 0, np.where(u < ratios[0] + ratios[1], 1, 2))
    # Every entity and relation needs at least one training triple: move the first offending ones.
    for _ in range(3):
        train = labeled[part == 0]
        ents = set(train[:, 0]) | set(train[:, 2])
        rels = set(train[:, 1])
        missing = (part != 0) & ~(
            np.isin(labeled[:, 0], list(ents)) & np.isin(labeled[:, 2], list(ents)) & np.isin(labeled[:, 1], list(rels))
        )
        if not missing.any():
            break
        part[missing] = 0
    return labeled[part == 0], labeled[part == 1], labeled[part == 2]


def triples_factory_from_labeled(
    labeled: np.ndarray, entity_to_id: Mapping[str, int], relation_to_id: Mapping[str, int],
    *, create_inverse_triples: bool = False,
) -> "TriplesFactory":
    """A PyKEEN ``TriplesFactory`` over ``labeled`` with the given (saved) id maps."""
    from pykeen.triples import TriplesFactory

    return TriplesFactory.from_labeled_triples(
        labeled.reshape(-1, 3), entity_to_id=dict(entity_to_id), relation_to_id=dict(relation_to_id),
        create_inverse_triples=create_inverse_triples,
    )


def graph_dataset(
    store: "GraphStore", *, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0,
    min_confidence: float = 0.0, create_inverse_triples: bool = False, include: str = "accepted",
) -> tuple[KGEDataset, dict[str, str]]:
    """Turn a store's graph into a train/validation/test :class:`KGEDataset` plus entity display names.

    Entity ids cover every entity with a fact (sorted), relation ids every predicate (sorted), so
    validation and test never lose a triple for an unknown id. The facts are those of the view
    (``include``, see :func:`graph_triples`).

    Raises:
        ConfigError: the graph has no facts to train on.
    """
    gt = graph_triples(store, min_confidence=min_confidence, include=include)
    if len(gt) == 0:
        raise ConfigError("the graph has no facts to embed; run `kgkit ingest DIR` first (or lower min_confidence)")
    lab = gt.labeled
    entity_to_id = {e: i for i, e in enumerate(sorted(set(lab[:, 0]) | set(lab[:, 2])))}
    relation_to_id = {r: i for i, r in enumerate(sorted(set(lab[:, 1])))}
    tr, va, te = split_labeled_triples(lab, gt.fact_ids, ratios=ratios, seed=seed)
    tfs = [triples_factory_from_labeled(x, entity_to_id, relation_to_id, create_inverse_triples=create_inverse_triples)
           for x in (tr, va, te)]
    names = {e: gt.names.get(e, e) for e in entity_to_id}
    return KGEDataset("graph", tfs[0], tfs[1], tfs[2], {"valid": 0, "test": 0}), names


def save_id_maps(run_dir: str | Path, entity_to_id: Mapping[str, int], relation_to_id: Mapping[str, int],
                 names: Mapping[str, str] | None = None) -> None:
    """Write the id maps (and optional entity display names) as JSON into ``run_dir``."""
    d = Path(run_dir)
    d.mkdir(parents=True, exist_ok=True)
    (d / ENTITY_MAP_FILE).write_text(json.dumps({str(k): int(v) for k, v in entity_to_id.items()}, indent=0))
    (d / RELATION_MAP_FILE).write_text(json.dumps({str(k): int(v) for k, v in relation_to_id.items()}, indent=0))
    if names is not None:
        (d / ENTITY_NAMES_FILE).write_text(json.dumps(dict(names), indent=0, ensure_ascii=False))


def load_id_maps(run_dir: str | Path) -> tuple[dict[str, int], dict[str, int], dict[str, str]]:
    """Read the id maps and entity names written by :func:`save_id_maps`.

    Raises:
        ConfigError: the folder is not a kgkit embedding run.
    """
    d = Path(run_dir)
    try:
        e2i = json.loads((d / ENTITY_MAP_FILE).read_text())
        r2i = json.loads((d / RELATION_MAP_FILE).read_text())
    except FileNotFoundError as err:
        raise ConfigError(f"{d} is not a kgkit embedding run (no {err.filename}); train one with `kgkit embed train`") from err
    names_path = d / ENTITY_NAMES_FILE
    names = json.loads(names_path.read_text()) if names_path.is_file() else {}
    return e2i, r2i, names
