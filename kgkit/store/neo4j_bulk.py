"""First load of a Neo4j database through ``neo4j-admin database import full``: CSV files, not Cypher.

For an empty database the offline importer writes the store files directly, much faster than any
transactional write. :func:`dump_graph` reads a store (the embedded one, after an ingest) node for
node and relationship for relationship; :func:`graph_rows_from_triples` builds the same graph from
triples (what ``write_triples`` would write); :func:`write_import_csv` writes either as CSV files
with typed headers (``:ID``, ``:LABEL``, ``:START_ID``, ``:END_ID``, ``:TYPE``, ``name:string``,
``aliases:string[]``, ``confidence:double``, ...); :func:`run_admin_import` runs the importer of
the project's Maven-built server (``org.neo4j.cli.AdminTool``); :func:`bulk_load` does it all for
the project-local server (check it is empty, stop it, import, start it, create kgkit's constraints
and indexes). Later writes go through the ordinary incremental ``UNWIND`` path.

The importer needs the database offline, and Neo4j Community cannot stop one database while the
server runs, so the server is stopped for the import. It runs on the server's own machine: for a
remote server or Aura, write the CSV files here and load them there (``neo4j-admin database import
full`` with the arguments :func:`admin_import_args` prints, or Aura's import service).
"""

from __future__ import annotations

import csv
import io
import math
import operator
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from kgkit.errors import ConfigError, StoreError, StoreUnavailableError
from kgkit.ontology import relationship_type, validate_identifier
from kgkit.store.base import CypherGraphStore, _entity_rows, _evidence_row
from kgkit.types import Document, Entity, Evidence, Triple

__all__ = ["BulkLoadReport", "GraphRows", "ImportFiles", "LocalNeo4j", "NodeRow", "RelRow", "admin_import_args",
           "bulk_load", "dump_graph", "graph_rows_from_triples", "importer_phases", "run_admin_import",
           "write_import_csv"]

ARRAY_DELIMITER = "\x1f"  # ASCII unit separator: never in kgkit's text (checked), unlike ';'
ADMIN_MAIN_CLASS = "org.neo4j.cli.AdminTool"

# Reads of a whole store, node by node (any label: documents, entities, evidence, fusion log) and
# relationship by relationship; internal ids only serve to connect the two.
_DUMP_NODES = "MATCH (n) RETURN id(n) AS k, labels(n) AS labels, properties(n) AS props"
_DUMP_RELS = "MATCH (a)-[r]->(b) RETURN id(a) AS s, id(b) AS o, type(r) AS t, properties(r) AS props"
_COUNT_NODES = "MATCH (n) RETURN count(n) AS n"


@dataclass(frozen=True, slots=True)
class NodeRow:
    key: str  # the importer's :ID, unique over all nodes; not stored
    labels: tuple[str, ...]
    props: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RelRow:
    start: str
    end: str
    type: str
    props: Mapping[str, Any]


@dataclass
class GraphRows:
    """A whole graph as rows; ``nodes`` and ``rels`` may be generators (read once)."""

    nodes: Iterable[NodeRow]
    rels: Iterable[RelRow]


@dataclass
class ImportFiles:
    folder: Path
    nodes: list[Path] = field(default_factory=list)
    relationships: list[Path] = field(default_factory=list)
    node_count: int = 0
    relationship_count: int = 0
    # The files with a line break inside a cell; None: not known, so the importer parses every file
    # as possibly multi-line (much slower, so write_import_csv records it).
    multiline: list[Path] | None = None


@dataclass
class BulkLoadReport:
    nodes: int = 0
    relationships: int = 0
    csv_seconds: float = 0.0
    import_seconds: float = 0.0
    schema_seconds: float = 0.0
    seconds: float = 0.0  # end to end, server stop/start included
    csv_bytes: int = 0
    csv_folder: str = ""
    server_seconds: float = 0.0  # stopping the server before the import and starting it after
    import_phases: dict[str, float] = field(default_factory=dict)  # the importer's own stages


# -- sources ----------------------------------------------------------------------------------------
def dump_graph(store: CypherGraphStore) -> GraphRows:
    """Every node and relationship of ``store``, with all labels and properties, as rows."""
    nodes = (NodeRow(str(r["k"]), tuple(sorted(r["labels"])), r["props"] or {})
             for r in store._run(_DUMP_NODES, write=False))
    rels = (RelRow(str(r["s"]), str(r["o"]), r["t"], r["props"] or {}) for r in store._run(_DUMP_RELS, write=False))
    return GraphRows(nodes, rels)


def graph_rows_from_triples(documents: Sequence[Document], triples: Sequence[Triple],
                            mentions: Sequence[tuple[Entity, Evidence]] = ()) -> GraphRows:
    """The graph ``upsert_documents(documents)`` and ``write_triples(triples, mentions)`` would write.

    Node keys are prefixed by kind (``d:``, ``e:``, ``v:``) so that ids of different kinds never clash.
    """
    rel_of = {p: relationship_type(p) for p in {t.predicate for t in triples}}
    entities = [t.subject for t in triples] + [t.object for t in triples] + [e for e, _ in mentions]
    by_label = _entity_rows(entities)
    facts: dict[str, dict[str, Any]] = {}
    evidence: dict[str, dict[str, Any]] = {}
    for t in triples:
        rel, fid = rel_of[t.predicate], t.id
        prev = facts.get(fid)
        conf = max(t.confidence, prev["props"]["confidence"]) if prev else t.confidence
        facts[fid] = {"s": t.subject.id, "o": t.object.id, "t": rel,
                      "props": {"id": fid, "predicate": t.predicate, "confidence": conf}}
        ev = Evidence.for_triple(t, fact_id=fid)
        evidence[ev.id] = _evidence_row(ev, subject=t.subject.id, obj=t.object.id, rel_type=rel)
    for _ent, ev in mentions:
        evidence[ev.id] = _evidence_row(ev)

    def nodes() -> Iterator[NodeRow]:
        for d in documents:
            yield NodeRow(f"d:{d.id}", ("Document",), {"id": d.id, "path": d.path, "content_hash": d.content_hash,
                                                       "title": d.title or "", "media_type": d.media_type})
        for label, rows in by_label.items():
            for row in rows:
                yield NodeRow(f"e:{row['id']}", tuple(sorted(("Entity", label))), row)
        for row in evidence.values():
            yield NodeRow(f"v:{row['id']}", ("Evidence",), row)

    rels = (RelRow(f"e:{f['s']}", f"e:{f['o']}", f["t"], f["props"]) for f in facts.values())
    return GraphRows(nodes(), rels)


# -- CSV --------------------------------------------------------------------------------------------
def _neo4j_type(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StoreError(f"{where}: {value} cannot be imported as a number; fix or drop that property")
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        kinds = {_neo4j_type(v, where) for v in value}
        if len(kinds) > 1 or kinds & {"string[]", "long[]", "double[]", "boolean[]"}:
            raise StoreError(f"{where}: a list mixing {sorted(kinds)} cannot be a Neo4j property; make its items one type")
        return f"{kinds.pop() if kinds else 'string'}[]"
    raise StoreError(f"{where}: a {type(value).__name__} value cannot be a Neo4j property")


def _cell(value: Any, typ: str, where: str) -> str:
    if typ.endswith("[]"):
        items = [_cell(v, typ[:-2], where) for v in value]
        if any(ARRAY_DELIMITER in i for i in items):
            raise StoreError(f"{where}: a list item contains the control character U+001F; remove it before importing")
        return ARRAY_DELIMITER.join(items)
    if typ == "boolean":
        return "true" if value else "false"
    if typ == "double":
        return repr(float(value))
    return str(value)


_SAFE_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _signature(props: Mapping[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    sig = []
    for k, v in props.items():
        if v is None:
            continue
        if not _SAFE_PROPERTY.match(k):
            raise StoreError(f"{where}: property name {k!r} cannot be a CSV header; rename it")
        sig.append((k, _neo4j_type(v, f"{where}.{k}")))
    return tuple(sorted(sig))


# How a cell becomes text, decided once per row shape (see _Shape). The csv module writes a str as it
# is, an int with str() and a float with repr(): what _cell gives for those exact types, so they need
# no conversion. Subclasses (an IntEnum, a str Enum) take the generic path, _cell.
_AS_IS, _BOOL, _FLOAT, _STR_LIST, _GENERIC = range(5)
_EXACT_KIND = {str: _AS_IS, int: _AS_IS, float: _FLOAT, bool: _BOOL}
_LIST_TYPES = (list, tuple)


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the rows with the same keys and exact value types share: their file's header and the
    conversions of their cells, worked out from the first such row."""

    sig: tuple[tuple[str, str], ...]
    get: Callable[[Mapping[str, Any]], Any]
    fixes: tuple[tuple[int, int, str, str], ...]  # (column, kind, Neo4j type, property name)


def _shape_key(props: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(props), tuple(map(type, props.values()))


def _make_shape(props: Mapping[str, Any], where: str) -> _Shape:
    sig = _signature(props, where)  # names and values checked as the generic path checks them
    keys = [k for k, _ in sig]
    get: Callable[[Mapping[str, Any]], Any]
    if len(keys) == 1:
        only = keys[0]
        get = lambda p: (p[only],)  # noqa: E731 - itemgetter of one key returns no tuple
    else:
        get = operator.itemgetter(*keys)
    fixes = []
    for i, (k, typ) in enumerate(sig):
        v = props[k]
        kind = _EXACT_KIND.get(type(v), _GENERIC)
        if typ == "string[]":
            kind = _STR_LIST
        if kind != _AS_IS:
            fixes.append((i, kind, typ, k))
    return _Shape(sig, get, tuple(fixes))


class _OtherShape(Exception):
    """A row's lists hold items of another type than those of the first row of its shape."""


def _cells(shape: _Shape, props: Mapping[str, Any], what: str, ident: str) -> list[Any]:
    """A row's cells in header order: the text ``_cell`` gives, or a value the csv module writes so.
    ``what`` and ``ident`` name the row in error messages (joined only then: this runs per row)."""
    vals = list(shape.get(props))
    for i, kind, typ, k in shape.fixes:
        v = vals[i]
        if kind == _FLOAT:
            if not math.isfinite(v):
                raise StoreError(f"{what} {ident}.{k}: {v} cannot be imported as a number; fix or drop that property")
        elif kind == _BOOL:
            vals[i] = "true" if v else "false"
        elif kind == _STR_LIST:
            try:
                joined = ARRAY_DELIMITER.join(v)
            except TypeError as err:  # not all strings: not this shape's header
                raise _OtherShape from err
            if joined.count(ARRAY_DELIMITER) != max(0, len(v) - 1):
                raise StoreError(f"{what} {ident}.{k}: a list item contains the control character U+001F; "
                                 "remove it before importing")
            vals[i] = joined
        else:
            where = f"{what} {ident}.{k}"
            if type(v) in _LIST_TYPES and _neo4j_type(v, where) != typ:
                raise _OtherShape
            vals[i] = _cell(v, typ, where)
    return vals


@dataclass
class _CsvFile:
    path: Path
    handle: TextIO
    rows: list[list[Any]] = field(default_factory=list)  # not yet written
    multiline: bool = False  # a cell holds a line break


class _CsvGroups:
    """One CSV file per (labels or type, property signature): every file has one typed header.

    A row's shape (keys and exact value types) is looked up, so its signature and conversions are
    worked out once per shape, not per row. Rows are buffered and written with ``writerows`` into a
    string first, which also tells, at C speed, whether any cell holds a line break.
    """

    FLUSH_ROWS = 4096

    def __init__(self, folder: Path, prefix: str, fixed: Sequence[str]) -> None:
        self.folder, self.prefix, self.fixed = folder, prefix, list(fixed)
        self.files: dict[Any, _CsvFile] = {}  # (group, signature) -> file
        self.shapes: dict[Any, tuple[_Shape, _CsvFile]] = {}  # (group, shape key) -> shape, file
        self.paths: list[Path] = []
        self._text = io.StringIO()
        self._writer = csv.writer(self._text, quoting=csv.QUOTE_ALL, lineterminator="\n")

    def add(self, group: Any, props: Mapping[str, Any], head: list[Any], what: str, ident: str) -> None:
        """Append the row ``head`` + the cells of ``props`` to the file of its group and signature;
        ``what`` and ``ident`` name the row in error messages."""
        key = (group, _shape_key(props))
        found = self.shapes.get(key)
        if found is None:
            shape = _make_shape(props, f"{what} {ident}")
            found = self.shapes[key] = (shape, self._file(group, shape.sig))
        shape, out = found
        try:
            head.extend(_cells(shape, props, what, ident))
        except _OtherShape:  # rare: lists whose item type differs between rows of one shape
            where = f"{what} {ident}"
            sig = _signature(props, where)
            head.extend(_cell(props[k], t, f"{where}.{k}") for k, t in sig)
            out = self._file(group, sig)
        out.rows.append(head)
        if len(out.rows) >= self.FLUSH_ROWS:
            self._flush(out)

    def _file(self, group: Any, sig: tuple[tuple[str, str], ...]) -> _CsvFile:
        key = (group, sig)
        if key not in self.files:
            path = self.folder / f"{self.prefix}-{len(self.paths):04d}.csv"
            out = self.files[key] = _CsvFile(path, path.open("w", encoding="utf-8", newline=""))
            out.rows.append(self.fixed + [f"{k}:{t}" for k, t in sig])
            self._flush(out)
            self.paths.append(path)
        return self.files[key]

    def _flush(self, out: _CsvFile) -> None:
        self._text.seek(0)
        self._text.truncate()
        self._writer.writerows(out.rows)
        text = self._text.getvalue()
        if not out.multiline and (text.count("\n") != len(out.rows) or "\r" in text):
            out.multiline = True
        out.handle.write(text)
        out.rows.clear()

    @property
    def multiline(self) -> list[Path]:
        return [f.path for f in self.files.values() if f.multiline]

    def close(self) -> None:
        for out in self.files.values():
            try:
                if out.rows:
                    self._flush(out)
            finally:
                out.handle.close()


def write_import_csv(graph: GraphRows, folder: str | Path) -> ImportFiles:
    """Write ``graph`` as importer CSV files under ``folder`` (created; must be empty)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise ConfigError(f"{out} is not empty; pass an empty or new folder for the import CSV files")
    files = ImportFiles(out)
    label_text: dict[tuple[str, ...], str] = {}
    nodes = _CsvGroups(out, "nodes", [":ID", ":LABEL"])
    try:
        for n in graph.nodes:
            labels = label_text.get(n.labels)
            if labels is None:
                for label in n.labels:
                    validate_identifier(label, "node label")
                labels = label_text[n.labels] = ARRAY_DELIMITER.join(n.labels)
            nodes.add(n.labels, n.props, [n.key, labels], "node", n.key)
            files.node_count += 1
    finally:
        nodes.close()
    checked: set[str] = set()
    rels = _CsvGroups(out, "relationships", [":START_ID", ":END_ID", ":TYPE"])
    try:
        for r in graph.rels:
            if r.type not in checked:
                validate_identifier(r.type, "relationship type")
                checked.add(r.type)
            rels.add(r.type, r.props, [r.start, r.end, r.type], "relationship from", r.start)
            files.relationship_count += 1
    finally:
        rels.close()
    files.nodes, files.relationships = nodes.paths, rels.paths
    files.multiline = nodes.multiline + rels.multiline
    return files


# -- the importer -----------------------------------------------------------------------------------
def admin_import_args(files: ImportFiles, database: str = "neo4j", *, threads: int | None = None,
                      max_off_heap: str = "1g", overwrite: bool = False) -> list[str]:
    """Arguments of ``neo4j-admin`` (after the program) that import ``files`` into ``database``."""
    if not files.nodes:
        raise ConfigError("nothing to import: the graph has no nodes")
    multiline = files.multiline is None or bool(files.multiline)
    args = ["database", "import", "full", database, f"--array-delimiter=U+{ord(ARRAY_DELIMITER):04X}",
            f"--multiline-fields={'true' if multiline else 'false'}", "--id-type=string",
            f"--max-off-heap-memory={max_off_heap}", f"--report-file={files.folder / 'import.report'}"]
    if threads:
        args.append(f"--threads={threads}")
    if overwrite:
        args.append("--overwrite-destination=true")
    args += [f"--nodes={p}" for p in files.nodes]
    args += [f"--relationships={p}" for p in files.relationships]
    return args


def run_admin_import(files: ImportFiles, *, neo4j_dir: Path, lib_dir: Path, database: str = "neo4j",
                     java: str = "java", heap: str = "1g", max_off_heap: str = "1g", threads: int | None = None,
                     overwrite: bool = False, timeout: float | None = None,
                     phases: dict[str, float] | None = None) -> float:
    """Run ``neo4j-admin database import full`` from the server jars in ``lib_dir`` against the server
    configured in ``neo4j_dir/conf``; returns its wall time in seconds. The server must be stopped.
    ``phases``, if given, receives the seconds of each importer stage (``Node import``, ...)."""
    if not any(lib_dir.glob("neo4j-command-line-*.jar")):
        raise StoreUnavailableError(f"no Neo4j admin tool in {lib_dir}; build the server jars with scripts/neo4j/build.sh")
    if not (neo4j_dir / "conf" / "neo4j.conf").exists():
        raise StoreUnavailableError(f"{neo4j_dir}/conf/neo4j.conf is missing; start the server once with scripts/neo4j/start.sh")
    cmd = [java, f"-Xmx{heap}", "-cp", f"{lib_dir}/*", ADMIN_MAIN_CLASS,
           *admin_import_args(files, database, threads=threads, max_off_heap=max_off_heap, overwrite=overwrite)]
    env = {**os.environ, "NEO4J_HOME": str(neo4j_dir), "NEO4J_CONF": str(neo4j_dir / "conf")}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as err:
        raise StoreUnavailableError(f"{java!r} not found; install Java 17 or set JAVA") from err
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise StoreError(f"neo4j-admin database import failed (exit {proc.returncode}); its report is "
                         f"{files.folder / 'import.report'}:\n{tail}")
    if phases is not None:
        phases.update(importer_phases(proc.stdout + proc.stderr))
    return time.perf_counter() - t0


_PHASE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z ]+?) COMPLETED in (?P<time>[0-9hms ]+?)\s*$", re.MULTILINE)
_DONE = re.compile(r"^IMPORT DONE in (?P<time>[0-9hms ]+?)\.?\s*$", re.MULTILINE)
_DURATION_PART = re.compile(r"(\d+)(ms|h|m|s)")


def importer_phases(output: str) -> dict[str, float]:
    """Seconds of each stage the importer printed (``Node import COMPLETED in 4s 708ms``) and of the
    whole import (``IMPORT DONE in ...``, under ``total``).

    >>> importer_phases("Node import COMPLETED in 1m 4s 708ms\\nIMPORT DONE in 1m 10s 5ms.")
    {'Node import': 64.708, 'total': 70.005}
    """
    unit = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}

    def seconds(text: str) -> float:
        return round(sum(int(n) * unit[u] for n, u in _DURATION_PART.findall(text)), 3)

    out = {m["name"]: seconds(m["time"]) for m in _PHASE.finditer(output)}
    done = _DONE.search(output)
    if done:
        out["total"] = seconds(done["time"])
    return out


@dataclass
class LocalNeo4j:
    """The project-local server of ``scripts/neo4j`` (see its README): port, data folder, jars."""

    scripts: Path
    port: int = 7687
    neo4j_dir: Path | None = None
    lib_dir: Path | None = None
    java: str = "java"

    @classmethod
    def from_env(cls, scripts: Path, port: int | None = None) -> "LocalNeo4j":
        repo = scripts.resolve().parents[1]
        return cls(scripts, port or int(os.environ.get("NEO4J_PORT", "7687")),
                   Path(os.environ.get("NEO4J_DIR", repo / ".neo4j" / "server")),
                   Path(os.environ.get("NEO4J_LIB", repo / ".neo4j" / "lib")), os.environ.get("JAVA", "java"))

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def _script(self, name: str) -> None:
        env = {**os.environ, "NEO4J_PORT": str(self.port), "JAVA": self.java}
        if self.neo4j_dir is not None:
            env["NEO4J_DIR"] = str(self.neo4j_dir)
        if self.lib_dir is not None:
            env["NEO4J_LIB"] = str(self.lib_dir)
        proc = subprocess.run(["bash", str(self.scripts / name)], env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise StoreUnavailableError(f"scripts/neo4j/{name} failed (exit {proc.returncode}): "
                                        f"{(proc.stdout + proc.stderr).strip()[-1500:]}")

    def start(self) -> None:
        self._script("start.sh")

    def stop(self) -> None:
        self._script("stop.sh")


def bulk_load(graph: GraphRows, server: LocalNeo4j, *, csv_dir: str | Path, database: str = "neo4j",
              heap: str = "1g", max_off_heap: str = "1g", threads: int | None = None,
              keep_csv: bool = False) -> BulkLoadReport:
    """Import ``graph`` into the (empty) database of the project-local ``server``; see the module docstring.

    The server is started if needed, checked to be empty (:class:`ConfigError` otherwise: use the
    incremental path, ``kgkit ingest --store neo4j``), stopped, loaded, started again, and given
    kgkit's constraints and indexes. CSV files are written to ``csv_dir`` (kept with ``keep_csv``).
    """
    from kgkit.store.neo4j import Neo4jStore

    assert server.neo4j_dir is not None and server.lib_dir is not None
    t0 = time.perf_counter()
    rep = BulkLoadReport(csv_folder=str(csv_dir))
    server.start()
    with Neo4jStore(server.uri, database=database, create_schema=False) as target:
        n = int(target._run(_COUNT_NODES, write=False)[0]["n"])
    if n:
        raise ConfigError(
            f"the Neo4j database {database!r} at {server.uri} already holds {n} nodes; the bulk importer only fills "
            "an empty database. Add to it with `kgkit ingest DIR --store neo4j`, or empty it first "
            "(scripts/neo4j/stop.sh --wipe)")
    t = time.perf_counter()
    files = write_import_csv(graph, csv_dir)
    rep.csv_seconds = time.perf_counter() - t
    rep.nodes, rep.relationships = files.node_count, files.relationship_count
    rep.csv_bytes = sum(p.stat().st_size for p in files.nodes + files.relationships)
    t = time.perf_counter()
    server.stop()
    rep.server_seconds = time.perf_counter() - t
    try:
        # The database is empty (checked above), so replacing its files loses nothing.
        rep.import_seconds = run_admin_import(files, neo4j_dir=server.neo4j_dir, lib_dir=server.lib_dir,
                                              database=database, java=server.java, heap=heap,
                                              max_off_heap=max_off_heap, threads=threads, overwrite=True,
                                              phases=rep.import_phases)
    finally:
        t = time.perf_counter()
        server.start()
        rep.server_seconds += time.perf_counter() - t
    t = time.perf_counter()
    with Neo4jStore(server.uri, database=database, create_schema=True):  # constraints + indexes, awaited
        pass
    rep.schema_seconds = time.perf_counter() - t
    if not keep_csv:
        shutil.rmtree(files.folder, ignore_errors=True)
    rep.seconds = time.perf_counter() - t0
    return rep
