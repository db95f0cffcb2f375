"""Extractors: offline spaCy (default), trained from examples, and LLM-driven: interchangeable pipeline stages.

They are looked up by name in :data:`kgkit.registry.extractors` (entry-point group ``kgkit.extractors``).
"""

from __future__ import annotations

from typing import Any

from kgkit.extract.base import ChunkExtraction, Extractor

__all__ = ["ChunkExtraction", "Extractor", "make_extractor"]


def make_extractor(name: str, **kwargs: Any) -> Extractor:
    """Build a registered extractor by name; ``kwargs`` are its constructor's keyword arguments."""
    from kgkit.registry import extractors

    ex: Extractor = extractors.make(name, **kwargs)
    return ex
