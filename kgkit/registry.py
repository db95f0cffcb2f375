"""Stages plug in by name: one registry per axis, extendable from outside kgkit through entry points.

Six axes, each a :class:`Registry` below and a Python entry-point group::

    readers          kgkit.readers          a :class:`kgkit.ingest.readers.Reader` (suffixes + parse function)
    extractors       kgkit.extractors       an :class:`~kgkit.extract.base.Extractor` class
    stores           kgkit.stores           a :class:`~kgkit.store.base.GraphStore` class
    fusion_policies  kgkit.fusion_policies  a truth-discovery policy class (:mod:`kgkit.fuse.policies`)
    path_scorers     kgkit.path_scorers     a factory ``(*, device, ontology) -> PathScorer``
    exporters        kgkit.exporters        a function ``(view, path) -> facts written``

An outside package adds a component without editing kgkit, in its ``pyproject.toml``::

    [project.entry-points."kgkit.extractors"]
    my-extractor = "my_package.extract:MyExtractor"

and a pipeline names it (``extractor: {name: my-extractor}``). In-process code may call
``extractors.register("name", obj)`` instead.

Nothing is imported before it is asked for: kgkit's own components are ``"module:attribute"``
strings, and an entry point is loaded only when its name is looked up (or when the caller lists the
components themselves, e.g. the reader table). Entry points are read from
:func:`importlib.metadata.entry_points` at lookup time, never from a snapshot taken at import, so a
package installed (or put on ``sys.path``) after kgkit was imported is found. kgkit's own names win
over an entry point of the same name.

Why not ``class_resolver`` or ``catalogue`` directly: ``class_resolver``'s resolvers hold imported
classes (building one would import every store and extractor module, e.g. the Neo4j driver) and its
``register_entrypoint`` loads every plugin at once; ``catalogue`` reads entry points once, when it
is imported (~50 ms, and later installs are never seen). Both would slow ``kgkit --help`` or miss
plugins; the ~100 lines here keep the same interface (``get``, ``make``, ``register``, ``names``).
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable, Generic, Iterator, Mapping, TypeVar

from kgkit.errors import ConfigError

__all__ = ["Registry", "readers", "extractors", "stores", "fusion_policies", "path_scorers", "exporters", "REGISTRIES"]

T = TypeVar("T")


def _import(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Names -> components of one axis: kgkit's own (lazy ``"module:attr"``), registered in-process,
    and entry points of ``group``.

    >>> r = Registry("greeter", "kgkit.test_greeters", {"hello": "builtins:str"})
    >>> r.get("hello") is str, r.names()
    (True, ['hello'])
    >>> r.get("hallo")
    Traceback (most recent call last):
    ...
    kgkit.errors.ConfigError: unknown greeter 'hallo' (did you mean 'hello'?); registered: hello. Add one with register('hallo', ...) or an entry point in the 'kgkit.test_greeters' group
    """

    def __init__(self, what: str, group: str, builtins: Mapping[str, str], *, aliases: Mapping[str, str] | None = None) -> None:
        self.what = what
        self.group = group
        self._builtins = dict(builtins)
        self._aliases = dict(aliases or {})
        self._loaded: dict[str, T] = {}
        self._registered: dict[str, T] = {}
        self._plugins: dict[str, EntryPoint] | None = None

    # -- adding -----------------------------------------------------------------------------------
    def register(self, name: str, obj: T | None = None, *, replace: bool = False) -> Any:
        """Register ``obj`` under ``name`` (usable as a decorator when ``obj`` is omitted)."""
        def add(o: T) -> T:
            if not replace and (name in self._builtins or name in self._registered):
                raise ConfigError(f"{self.what} {name!r} is already registered; pick another name or pass replace=True")
            self._registered[name] = o
            self._loaded.pop(name, None)
            return o

        return add if obj is None else add(obj)

    def unregister(self, name: str) -> None:
        self._registered.pop(name, None)
        self._loaded.pop(name, None)

    # -- looking up -------------------------------------------------------------------------------
    def _entry_points(self, fresh: bool = False) -> dict[str, EntryPoint]:
        # Scanning the installed packages costs ~20 ms: done once, and again when a name is missing.
        if fresh or self._plugins is None:
            self._plugins = {ep.name: ep for ep in entry_points(group=self.group)}
        return self._plugins

    def refresh(self) -> None:
        """Forget the entry points seen so far (and what was loaded from them): the next lookup rescans."""
        self._plugins = None
        self._loaded = {k: v for k, v in self._loaded.items() if k in self._builtins or k in self._registered}

    def names(self) -> list[str]:
        """Every name: kgkit's own first, then registered ones, then entry points (none is imported)."""
        extra = sorted(set(self._registered) - set(self._builtins))
        plugins = sorted(set(self._entry_points()) - set(self._builtins) - set(self._registered))
        return [*self._builtins, *extra, *plugins]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return (self._aliases.get(name, name) in self._builtins or name in self._registered
                or name in self._entry_points() or name in self._entry_points(fresh=True))

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> T:
        """The component called ``name``; raises :class:`ConfigError` listing the registered names."""
        name = self._aliases.get(name, name)
        if name in self._loaded:
            return self._loaded[name]
        if name in self._registered:
            obj = self._registered[name]
        elif name in self._builtins:
            obj = _import(self._builtins[name])
        else:
            ep = self._entry_points().get(name) or self._entry_points(fresh=True).get(name)
            if ep is None:
                raise self.unknown(name)
            try:
                obj = ep.load()
            except (ImportError, AttributeError) as err:
                raise ConfigError(f"{self.what} {name!r} (entry point {ep.value!r} of group {self.group!r}) "
                                  f"cannot be loaded: {err}; install or fix the package that declares it") from err
        self._loaded[name] = obj
        return obj

    def make(self, name: str, /, **kwargs: Any) -> Any:
        """``get(name)(**kwargs)``; a wrong keyword becomes a :class:`ConfigError` naming the component."""
        factory: Callable[..., Any] = self.get(name)  # type: ignore[assignment]
        try:
            return factory(**kwargs)
        except TypeError as err:
            raise ConfigError(f"bad parameters for {self.what} {name!r}: {err}") from err

    def unknown(self, name: str) -> ConfigError:
        names = self.names()
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return ConfigError(f"unknown {self.what} {name!r}{hint}; registered: {', '.join(names)}. Add one with "
                           f"register({name!r}, ...) or an entry point in the {self.group!r} group")


def _in(module: str, **names: str) -> dict[str, str]:
    """Built-in targets that live in one module: ``name -> "module:attribute"``."""
    return {name: f"{module}:{attr}" for name, attr in names.items()}


readers: Registry[Any] = Registry("reader", "kgkit.readers", _in(
    "kgkit.ingest.readers", text="TEXT_READER", markdown="MARKDOWN_READER", html="HTML_READER", pdf="PDF_READER"))
extractors: Registry[Any] = Registry("extractor", "kgkit.extractors", {
    "spacy": "kgkit.extract.spacy_extractor:SpacyExtractor", "llm": "kgkit.extract.llm_extractor:LLMExtractor",
    "trained": "kgkit.extract.trained.extractor:TrainedExtractor"})
stores: Registry[Any] = Registry("store", "kgkit.stores", {
    "falkordb": "kgkit.store.embedded:FalkorDBStore", "neo4j": "kgkit.store.neo4j:Neo4jStore"},
    aliases={"embedded": "falkordb"})
fusion_policies: Registry[Any] = Registry("conflict policy", "kgkit.fusion_policies", _in(
    "kgkit.fuse.policies", accucopy="AccuCopyPolicy", majority="MajorityVote", accu="AccuPolicy",
    truthfinder="TruthFinder"), aliases={"default": "accucopy"})
path_scorers: Registry[Any] = Registry("path scorer", "kgkit.path_scorers", _in(
    "kgkit.reason.scoring", **{"zero-shot": "zero_shot_scorer", "lexical": "lexical_scorer",
                               "embedding": "embedding_scorer"}))
exporters: Registry[Any] = Registry("export format", "kgkit.exporters", _in(
    "kgkit.export", ttl="write_turtle", nt="write_ntriples", jsonld="write_jsonld", csv="write_csv"))

#: axis name -> registry (what ``kgkit plugins`` lists).
REGISTRIES: dict[str, Registry[Any]] = {"readers": readers, "extractors": extractors, "stores": stores,
                                        "fusion_policies": fusion_policies, "path_scorers": path_scorers,
                                        "exporters": exporters}
