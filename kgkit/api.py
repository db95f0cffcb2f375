"""The Python API, mirroring the CLI (the embedded store lives under .kgkit/):

    >>> from kgkit import KnowledgeGraph                      # doctest: +SKIP
    >>> with KnowledgeGraph.open() as kg:  # doctest: +SKIP
    ...     kg.ingest("data/sample")
    ...     df = kg.query_df("MATCH (p:Person)-[:BORN_IN]->(c) RETURN p.name AS person, c.name AS city")
    ...     g = kg.to_networkx()
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping

from kgkit.config import PipelineConfig, load_pipeline
from kgkit.errors import ConfigError
from kgkit.extract import make_extractor
from kgkit.extract.base import Extractor
from kgkit.ingest.chunking import SentenceChunker
from kgkit.ingest.ledger import Ledger
from kgkit.ontology import Ontology, load_ontology
from kgkit.pipeline import IngestReport, RetryReport, ingest_folder, retry_failed
from kgkit.store import GraphStore, store_class
from kgkit.types import GraphStats, stable_hash

FUSION_PENDING = "fusion_pending"  # ledger state: graph written since the last finished fusion

__all__ = ["KnowledgeGraph"]

DEFAULT_WORKDIR = Path(".kgkit")


class KnowledgeGraph:
    """A graph store plus the pipeline that fills it and the ledger that remembers what was done.

    Args:
        pipeline: a :class:`PipelineConfig`, a pipeline file, or ``None`` for ``pipelines/default.yaml``.
        store: override the pipeline's store by name (``falkordb`` or ``neo4j``).
        workdir: where the ledger (and the embedded store's data, by default) live.
        store_kwargs: override store keyword arguments (e.g. ``data_dir``, ``uri``).
    """

    def __init__(
        self,
        pipeline: PipelineConfig | str | Path | None = None,
        *,
        store: str | None = None,
        workdir: str | Path = DEFAULT_WORKDIR,
        extractor_overrides: Mapping[str, Any] | None = None,
        **store_kwargs: Any,
    ) -> None:
        cfg = pipeline if isinstance(pipeline, PipelineConfig) else load_pipeline(pipeline)
        if store is not None or store_kwargs:
            cfg = cfg.with_store(store or str(cfg.store["name"]), **store_kwargs)
        self.config = cfg
        self.workdir = Path(workdir)
        if cfg.store["name"] in ("falkordb", "embedded") and "data_dir" not in store_kwargs and workdir != DEFAULT_WORKDIR:
            cfg = cfg.with_store(str(cfg.store["name"]), data_dir=str(self.workdir / "falkordb"))
            self.config = cfg
        self.extractor_overrides = dict(extractor_overrides or {})
        self._store: GraphStore | None = None
        self._ontology: Ontology | None = None
        self._extractor: Extractor | None = None
        self._ledger: Ledger | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    @classmethod
    def open(cls, pipeline: PipelineConfig | str | Path | None = None, **kwargs: Any) -> "KnowledgeGraph":
        kg = cls(pipeline, **kwargs)
        kg.store  # noqa: B018 - connects / starts the embedded server
        return kg

    def __enter__(self) -> "KnowledgeGraph":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None

    @property
    def store(self) -> GraphStore:
        if self._store is None:
            try:
                store = store_class(str(self.config.store["name"]))(**self.config.store_kwargs())
            except TypeError as err:
                raise ConfigError(f"{self.config.source}: bad store options: {err}") from err
            store.open()
            self._store = store
        return self._store

    @property
    def ontology(self) -> Ontology:
        if self._ontology is None:
            ex = self.config.extractor
            if ex.get("name") == "trained" and self.config.ontology == "default" and ex.get("model"):
                from kgkit.extract.trained.extractor import model_ontology

                self._ontology = model_ontology(str(ex["model"]))  # a trained model brings its ontology
            else:
                self._ontology = load_ontology(self.config.ontology)
        return self._ontology

    @property
    def extractor(self) -> Extractor:
        if self._extractor is None:
            kwargs = {**self.config.extractor_kwargs(), **self.extractor_overrides}
            if self.config.extractor["name"] == "llm":  # KGKIT_LLM_* override the pipeline file, options override both
                from kgkit.llm.settings import resolve_llm_settings

                kwargs = resolve_llm_settings(explicit=self.extractor_overrides, pipeline=self.config.extractor_kwargs())
            try:
                self._extractor = make_extractor(str(self.config.extractor["name"]), ontology=self.ontology, **kwargs)
            except (TypeError, ConfigError) as err:  # the extractor's own settings model says which key and why
                raise ConfigError(f"{self.config.source}: bad extractor options: {err}") from err
        return self._extractor

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self._ledger_path())
        return self._ledger

    def _ledger_path(self) -> Path:
        """One ledger per store; the store's data folder counts by its resolved path, so a workdir
        spelled relative or absolute is the same ledger."""
        def identity(resolve: bool) -> str:
            items = sorted((k, str(Path(v).resolve()) if resolve and k == "data_dir" else str(v))
                           for k, v in self.config.store.items() if k not in {"password", "batch_size"})
            return stable_hash(repr(items))

        folder = (self.workdir / "ledger").resolve()
        path = folder / f"{self.config.store['name']}-{identity(True)}.sqlite"
        legacy = folder / f"{self.config.store['name']}-{identity(False)}.sqlite"
        if not path.exists() and legacy != path and legacy.exists():
            for suffix in ("", "-wal", "-shm"):  # ledgers named before paths were resolved
                old = legacy.with_name(legacy.name + suffix)
                if old.exists():
                    old.rename(path.with_name(path.name + suffix))
        return path

    # -- pipeline -------------------------------------------------------------------------------
    def ingest(
        self, folder: str | Path, *, dry_run: bool = False, progress: bool = False, fuse: bool | None = None,
        max_bytes: int | None = None, follow_symlinks: bool | None = None,
        executor: str | Mapping[str, Any] | None = None,
    ) -> IngestReport:
        """Ingest a folder (see :func:`kgkit.pipeline.ingest_folder`), then fuse if the pipeline says so.

        ``max_bytes``, ``follow_symlinks`` and ``executor`` (``local``, ``ray`` or a mapping such as
        ``{"name": "ray", "address": "auto"}``) override the pipeline's ``ingest`` section.
        """
        ing = dict(self.config.ingest)
        if executor is not None:
            ing["executor"] = executor
        if max_bytes is not None:
            ing["max_bytes"] = max_bytes
        if follow_symlinks is not None:
            ing["follow_symlinks"] = follow_symlinks
        try:
            chunker = SentenceChunker(**self.config.chunking)
        except TypeError as err:
            raise ConfigError(f"{self.config.source}: bad chunking options: {err}") from err
        # A fusion run killed halfway is rolled back before anything new is written on top of it.
        rolled_back = [] if dry_run else self._recover_fusion()
        do_fuse = (self.config.fusion.get("enabled", False) if fuse is None else fuse) and not dry_run
        # "fusion pending" is recorded before the first write and cleared by a finished fusion, so a
        # run killed between its last write and fusion's start is fused by the next run.
        pending = do_fuse and self.ledger.get_state(FUSION_PENDING) is not None
        if do_fuse:
            self.ledger.set_state(FUSION_PENDING, time.strftime("%Y-%m-%dT%H:%M:%S"))
        report = ingest_folder(
            folder, store=self.store, extractor=self.extractor, ontology=self.ontology, ledger=self.ledger,
            chunker=chunker, dry_run=dry_run, progress=progress, **ing,
        )
        changed_graph = report.processed > 0 or report.deleted > 0
        # An unchanged folder does no work at all, fusion included, unless a fusion run was killed
        # halfway (rolled back above) or never started after the last writes (pending).
        if do_fuse and report.stopped is None and (changed_graph or rolled_back or pending):
            fr = self.fuse()
            report.fusion = {k: getattr(fr, k) for k in ("run_id", "entities_before", "entities_after", "conflicts")
                             if hasattr(fr, k)}
        elif do_fuse and not changed_graph and not pending:
            self.ledger.set_state(FUSION_PENDING, None)
        return report

    def _recover_fusion(self) -> list[str]:
        from kgkit.fuse import recover_interrupted

        return recover_interrupted(self.store)

    def fuse(self, **overrides: Any) -> Any:
        """Run the fusion stage with the pipeline's ``fusion`` parameters."""
        from kgkit.fuse import fuse_graph

        params = {k: v for k, v in self.config.fusion.items() if k != "enabled"}
        params.update(overrides)
        result = fuse_graph(self.store, self.ontology, **params)
        if not params.get("dry_run"):
            self.ledger.set_state(FUSION_PENDING, None)
        return result

    def retry_failed(self, *, limit: int | None = None) -> RetryReport:
        return retry_failed(store=self.store, extractor=self.extractor, ledger=self.ledger, limit=limit)

    # -- reading --------------------------------------------------------------------------------
    def query(self, cypher: str, params: Mapping[str, Any] | None = None, *, write: bool = False) -> list[dict[str, Any]]:
        return self.store.query(cypher, params, write=write)

    def query_df(self, cypher: str, params: Mapping[str, Any] | None = None) -> Any:
        """Run a read-only query and return a :class:`pandas.DataFrame`.

        Raw Cypher sees the raw graph, rejected facts included; :meth:`facts_df` reads the view.
        """
        import pandas as pd

        return pd.DataFrame(self.query(cypher, params))

    def stats(self) -> GraphStats:
        return self.store.stats()

    def view(self, include: str = "accepted") -> Any:
        """The :class:`kgkit.view.GraphView` every reader sees: facts fusion accepted, with their fused
        confidence (``include="all"``: everything, for auditing)."""
        from kgkit.view import read_view

        return read_view(self.store, include=include)

    def facts_df(self, include: str = "accepted") -> Any:
        """The facts of the view as a :class:`pandas.DataFrame` (one row per fact, with names,
        fused confidence and fusion status)."""
        import pandas as pd

        view = self.view(include)
        cols = ["fact_id", "subject_id", "subject", "predicate", "object_id", "object", "confidence", "status"]
        rows = [(f.id, f.subject_id, view.name(f.subject_id), f.predicate, f.object_id, view.name(f.object_id),
                 f.confidence, view.status(f)) for f in view.facts]
        return pd.DataFrame(rows, columns=cols)

    def to_networkx(self, include: str = "accepted") -> Any:
        """The view as a :class:`networkx.MultiDiGraph` (nodes: entity ids; edge keys: fact ids)."""
        from kgkit.export import to_networkx

        return to_networkx(self.store, include=include)

    def show(
        self, target: Any, params: Mapping[str, Any] | None = None, *, kind: str = "auto", hops: int = 1,
        include: str = "accepted", max_nodes: int | None = None, evidence: int = 3,
    ) -> Any:
        """An interactive view of an entity's neighbourhood, a Cypher query's result, or an answer of
        :func:`kgkit.reason.ask.ask_store`: a :class:`kgkit.viz.GraphFigure`, which a notebook
        displays and ``.save_html(path)`` writes as an offline page. Drawing needs ``kgkit[viz]``.

        >>> kg.show("Marie Curie")                                            # doctest: +SKIP
        >>> kg.show("MATCH (p:Person)-[r]->(o) WHERE p.name = $n RETURN p, r, o", {"n": "Marie Curie"})  # doctest: +SKIP

        See :func:`kgkit.viz.show` for the arguments.
        """
        from kgkit.viz import show

        return show(self.store, target, params, kind=kind, hops=hops, include=include, max_nodes=max_nodes,
                    evidence=evidence)

    def export(self, path: str | Path, fmt: str = "ttl", *, include: str = "accepted") -> int:
        """Write the view to ``path`` as ttl, nt, jsonld or csv; returns the number of facts written."""
        from kgkit.export import export_graph

        return export_graph(self.store, path, fmt, include=include)
