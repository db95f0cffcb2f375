"""Graph stores: the :class:`GraphStore` protocol, the embedded FalkorDB default and Neo4j.

Use :func:`open_store` to get one by name; keyword arguments go to the store's constructor::

    store = open_store("falkordb", data_dir=".kgkit/falkordb")
    store = open_store("neo4j", uri="bolt://127.0.0.1:7687", user="neo4j", password="...")
"""

from __future__ import annotations

from typing import Any

from kgkit.store.base import CypherGraphStore, EntityRecord, FactRecord, GraphStore, WriteResult

__all__ = ["GraphStore", "CypherGraphStore", "EntityRecord", "FactRecord", "WriteResult", "open_store", "store_class"]


def store_class(name: str) -> type:
    """The store class registered as ``name`` (:data:`kgkit.registry.stores`, entry points ``kgkit.stores``)."""
    from kgkit.registry import stores

    cls: type = stores.get(name)
    return cls


def open_store(name: str = "falkordb", **kwargs: Any) -> GraphStore:
    """Build a store by name and open it (start/connect). Close it with ``store.close()``."""
    from kgkit.registry import stores

    store: GraphStore = stores.make(name, **kwargs)
    store.open()
    return store
