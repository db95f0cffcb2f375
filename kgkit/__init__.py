"""kgkit: turn folders of documents into a knowledge graph and reason over it."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["KnowledgeGraph", "__version__"]


def __getattr__(name: str) -> Any:  # lazy: `import kgkit` stays cheap
    if name == "KnowledgeGraph":
        from kgkit.api import KnowledgeGraph

        return KnowledgeGraph
    raise AttributeError(name)
