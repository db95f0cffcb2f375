"""Knowledge-graph embeddings with PyKEEN: datasets, graph export, training, evaluation, prediction.

Importing this package is cheap; torch and PyKEEN are imported inside the functions that need them.

* :mod:`kgkit.embed.datasets`: FB15k-237 / WN18RR from ``$KGKIT_DATA`` and PyKEEN's bundled graphs.
* :mod:`kgkit.embed.graph`: a kgkit store -> PyKEEN ``TriplesFactory`` with saved id maps and a
  deterministic split.
* :mod:`kgkit.embed.training`: :func:`train_kge` (a YAML pipeline's keys are its keyword arguments).
* :mod:`kgkit.embed.evaluation`: :class:`FastRankEvaluator` (PyKEEN's metrics, much faster on CPU).
* :mod:`kgkit.embed.predict`: :class:`KGEPredictor` and :func:`score_facts` for fusion and reasoning.
"""

from kgkit.embed.datasets import KGEDataset, download_dataset, load_dataset
from kgkit.embed.evaluation import FastRankEvaluator, RankResult
from kgkit.embed.graph import graph_dataset, load_id_maps
from kgkit.embed.predict import KGEPredictor, Prediction, score_facts
from kgkit.embed.training import TrainResult, load_pipeline_config, train_kge

__all__ = [
    "KGEDataset", "download_dataset", "load_dataset", "FastRankEvaluator", "RankResult", "graph_dataset",
    "load_id_maps", "KGEPredictor", "Prediction", "score_facts", "TrainResult", "load_pipeline_config", "train_kge",
]
