"""An extractor that learns from examples: ``kgkit extract train`` -> a model folder -> ``extractor: {name: trained}``.

Modules: :mod:`.examples` (reading examples and ontologies), :mod:`.mentions` (candidates, gazetteer),
:mod:`.literals` (numbers and dates), :mod:`.features` (pair features), :mod:`.model` (the classifier and
its folder), :mod:`.training`, :mod:`.calibration`, :mod:`.evaluation` (benchmark metrics),
:mod:`.extractor` (the pipeline stage) and :mod:`.labeling` (examples from an LLM teacher).
"""

from __future__ import annotations

from kgkit.extract.trained.evaluation import evaluate_model
from kgkit.extract.trained.examples import (
    Example,
    ExampleFileError,
    load_training_ontology,
    read_examples,
)
from kgkit.extract.trained.extractor import (
    OntologyMismatchError,
    TrainedExtractor,
    model_ontology,
)
from kgkit.extract.trained.model import ModelFolderError, TrainedModel
from kgkit.extract.trained.training import TrainConfig, train_model

__all__ = [
    "Example", "ExampleFileError", "ModelFolderError", "OntologyMismatchError", "TrainConfig", "TrainedExtractor",
    "TrainedModel", "evaluate_model", "load_training_ontology", "model_ontology", "read_examples", "train_model",
]
