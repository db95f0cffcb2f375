"""Graph stores: the :class:`GraphStore` protocol, the embedded FalkorDB default and Neo4j.

Use :func:`open_store` to get one by name; keyword arguments go to the store's constructor::

    store = open_store("falkordb", data_dir=".kgkit/falkordb")
    store = open_store("neo4j", uri="bolt://127.0.0.1:7687", user="neo4j", password="...")
"""

from __future__ import annotations

import importlib
from typing import Any

from kgkit.errors import ConfigError
from kgkit.store.base import CypherGraphStore, EntityRecord, FactRecord, GraphStore, WriteResult

__all__ = ["GraphStore", "CypherGraphStore", "EntityRecord", "FactRecord", "WriteResult", "STORES", "open_store", "store_class"]

# name -> "module:Class"; imported lazily so that e.g. the neo4j driver is only loaded when used.
STORES: dict[str, str] = {
    "falkordb": "kgkit.store.embedded:FalkorDBStore",
    "embedded": "kgkit.store.embedded:FalkorDBStore",
    "neo4j": "kgkit.store.neo4j:Neo4jStore",
}


def store_class(name: str) -> type:
    try:
        target = STORES[name]
    except KeyError:
        raise ConfigError(f"unknown store {name!r}; choose one of: {', '.join(sorted(STORES))}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def open_store(name: str = "falkordb", **kwargs: Any) -> GraphStore:
    """Build a store by name and open it (start/connect). Close it with ``store.close()``."""
    store = store_class(name)(**kwargs)
    store.open()
    return store
