"""Extractors: offline spaCy (default), trained from examples, and LLM-driven: interchangeable pipeline stages."""

from __future__ import annotations

import importlib
from typing import Any

from kgkit.errors import ConfigError
from kgkit.extract.base import ChunkExtraction, Extractor

__all__ = ["ChunkExtraction", "Extractor", "EXTRACTORS", "make_extractor"]

EXTRACTORS: dict[str, str] = {
    "spacy": "kgkit.extract.spacy_extractor:SpacyExtractor",
    "llm": "kgkit.extract.llm_extractor:LLMExtractor",
    "trained": "kgkit.extract.trained.extractor:TrainedExtractor",
}


def make_extractor(name: str, **kwargs: Any) -> Extractor:
    """Build an extractor by name; ``kwargs`` are its constructor's keyword arguments."""
    try:
        module, _, cls = EXTRACTORS[name].partition(":")
    except KeyError:
        raise ConfigError(f"unknown extractor {name!r}; choose one of: {', '.join(sorted(EXTRACTORS))}") from None
    return getattr(importlib.import_module(module), cls)(**kwargs)
