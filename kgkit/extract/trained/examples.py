"""Training examples and the ontology they are written against.

An example file is JSON lines, one sentence (or short passage) a line::

    {"text": "Aarhus Airport is in Tirstrup.", "triples": [{"sub": "Aarhus_Airport", "rel": "location", "obj": "Tirstrup"}]}

Text2KGBench rows are read as they are: ``sent`` instead of ``text``, and Wikidata-TekGen's one-triple
lines (``sub_label``/``rel_label``/``obj_label``) are merged per sentence. ``rel`` may be the ontology's
relation name (``cityServed``) or one of its labels/aliases (``city served``).

Every problem is reported with its file and line number, so a user can fix the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kgkit.errors import ConfigError, OntologyError
from kgkit.ontology import EntityType, Ontology, RelationType, load_ontology

__all__ = ["Example", "ExampleFileError", "examples_hash", "load_training_ontology", "read_examples", "relation_resolver"]


class ExampleFileError(ConfigError):
    """An example file has a malformed line; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    """One training text and its facts; ``triples`` hold ontology relation *names*."""

    text: str
    triples: tuple[tuple[str, str, str], ...]
    id: str = ""
    ontology: str = ""  # the benchmark ontology id this row belongs to, when known


def relation_resolver(ontology: Ontology) -> dict[str, str]:
    """Every spelling of a relation (name, labels, aliases; spaces or ``_``) -> its name."""
    out: dict[str, str] = {}
    labels = (ontology.extra.get("text2kgbench") or {}).get("relation_labels", {})
    for name, rel in ontology.relation_types.items():
        spellings = {name, *rel.aliases, str(labels.get(name, name))}
        for s in spellings:
            for v in (s, s.replace(" ", "_"), s.replace("_", " "), s.strip()):
                out.setdefault(v, name)
                out.setdefault(v.lower(), name)
    return out


def _parse_row(row: object, where: str, resolve: dict[str, str], unknown: str = "raise") -> tuple[str, list[tuple[str, str, str]], str]:
    if not isinstance(row, dict):
        raise ExampleFileError(f"{where}: expected a JSON object with 'text' and 'triples'")
    text = row.get("text", row.get("sent"))
    if not isinstance(text, str) or not text.strip():
        raise ExampleFileError(f"{where}: empty or missing 'text'; every example needs the sentence it was taken from")
    if "triples" in row:
        raw = row["triples"]
        if not isinstance(raw, list):
            raise ExampleFileError(f"{where}: 'triples' must be a list of {{sub, rel, obj}} objects")
    elif {"sub_label", "rel_label", "obj_label"} <= set(row):
        raw = [{"sub": row["sub_label"], "rel": row["rel_label"], "obj": row["obj_label"]}]
    else:
        raise ExampleFileError(f"{where}: no 'triples' (a list of {{sub, rel, obj}}); write [] for a sentence without facts")
    triples: list[tuple[str, str, str]] = []
    for k, t in enumerate(raw):
        if not isinstance(t, dict) or not all(isinstance(t.get(f), str) and str(t[f]).strip() for f in ("sub", "rel", "obj")):
            raise ExampleFileError(f"{where}: triple {k} needs non-empty string fields 'sub', 'rel' and 'obj'")
        rel = t["rel"].strip()
        name = resolve.get(rel) or resolve.get(rel.lower())
        if name is None and unknown == "skip":
            continue
        if name is None and unknown == "keep":
            name = rel  # scoring only: a gold fact no model of this ontology can produce
        if name is None:
            raise ExampleFileError(
                f"{where}: relation {rel!r} is not in the ontology; add it to the ontology (--ontology) or fix the example"
            )
        triples.append((t["sub"].strip(), name, t["obj"].strip()))
    return text, triples, str(row.get("id", ""))


def read_examples(paths: Path | str | Sequence[Path | str], ontology: Ontology, *, skip_unknown: bool = False,
                  unknown_relations: str | None = None) -> list[Example]:
    """Read example files (JSONL; a folder means every ``*.jsonl`` in it) against ``ontology``.

    A triple whose relation is not in the ontology raises, unless ``skip_unknown`` (drop it; real
    benchmark files contain a few) or ``unknown_relations="keep"`` (keep its label, for scoring).

    Raises:
        ExampleFileError: a missing file, malformed JSON, empty text, an unknown relation (file:line).
    """
    files = _expand(paths, "*.jsonl")
    resolve = relation_resolver(ontology)
    unknown = unknown_relations or ("skip" if skip_unknown else "raise")
    merged: dict[str, tuple[str, list[tuple[str, str, str]], str]] = {}
    for f in files:
        onto_id = _bench_ontology_id(f.name)
        with f.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{f}:{lineno}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ExampleFileError(f"{where}: malformed JSON ({err.msg} at column {err.colno})") from err
                text, triples, rid = _parse_row(row, where, resolve, unknown)
                entry = merged.setdefault(text, (rid or where, [], onto_id))
                for t in triples:
                    if t not in entry[1]:
                        entry[1].append(t)
    if not merged:
        raise ExampleFileError(f"no examples in {', '.join(map(str, files))}; write one JSON object a line")
    return [Example(text, tuple(ts), rid, onto) for text, (rid, ts, onto) in merged.items()]


def _bench_ontology_id(filename: str) -> str:
    """``ont_3_airport_train.jsonl`` -> ``ont_3_airport`` (the benchmark ontology's id), else ``""``."""
    if not filename.startswith("ont_"):
        return ""
    parts = filename[len("ont_"):].rsplit(".", 1)[0].split("_")
    return "ont_" + "_".join(parts[:2]) if len(parts) >= 3 else ""


def _expand(paths: Path | str | Sequence[Path | str], pattern: str) -> list[Path]:
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    files: list[Path] = []
    for p in map(Path, items):
        if p.is_dir():
            found = sorted(p.glob(pattern))
            if not found:
                raise ConfigError(f"{p}: folder holds no {pattern} files")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise ConfigError(f"{p} not found; pass an existing file or folder")
    return files


def examples_hash(examples: Iterable[Example]) -> str:
    """A stable digest of the training data (part of the model's identity)."""
    h = hashlib.blake2b(digest_size=10)
    for ex in examples:
        h.update(json.dumps([ex.text, ex.triples], ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()


# -- ontologies ------------------------------------------------------------------------------------
def load_training_ontology(paths: Path | str | Sequence[Path | str]) -> Ontology:
    """A kgkit schema (YAML, or a name in ``schemas/``), or Text2KGBench ontology JSON file(s)/folder(s), merged.

    Raises:
        OntologyError: unreadable JSON, or nothing usable given.
    """
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if len(items) == 1 and not str(items[0]).endswith(".json") and not Path(items[0]).is_dir():
        return _with_fallback_types(load_ontology(items[0]))
    parts: list[Ontology] = []
    for f in _expand(items, "*.json"):
        if f.suffix in (".yaml", ".yml"):
            parts.append(load_ontology(f))
            continue
        parts.append(_bench_json_ontology(f))
    return merge_ontologies(parts)


def _bench_json_ontology(path: Path) -> Ontology:
    from kgkit.eval.text2kgbench import BenchOntology
    from kgkit.eval.text2kgbench_ontology import to_kgkit_ontology

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        bench = BenchOntology(raw.get("id", path.stem), raw.get("title", path.stem), tuple(raw["concepts"]), tuple(raw["relations"]))
    except (json.JSONDecodeError, KeyError, AttributeError) as err:
        raise OntologyError(f"{path}: not a Text2KGBench ontology (needs 'concepts' and 'relations'): {err}") from err
    return to_kgkit_ontology(bench)


FALLBACK_TYPES = ("Thing", "Literal")


def _with_fallback_types(onto: Ontology) -> Ontology:
    """Add ``Thing`` (an entity of unknown type) and ``Literal`` (numbers, strings) when missing."""
    ets = dict(onto.entity_types)
    for t in FALLBACK_TYPES:
        ets.setdefault(t, EntityType(t, description="added by the trained extractor for untyped values"))
    return Ontology(onto.name, ets, dict(onto.relation_types), onto.version, onto.description, dict(onto.extra))


def merge_ontologies(parts: Sequence[Ontology]) -> Ontology:
    """One ontology holding every type and relation of ``parts`` (domains and ranges are unioned)."""
    if not parts:
        raise OntologyError("no ontology given; pass --ontology with a schema YAML or Text2KGBench ontology JSON")
    if len(parts) == 1:
        return _with_fallback_types(parts[0])
    ets: dict[str, EntityType] = {}
    rels: dict[str, RelationType] = {}
    labels: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    concepts: dict[str, list[str]] = {}
    for o in parts:
        for n, e in o.entity_types.items():
            ets.setdefault(n, e)
        for n, r in o.relation_types.items():
            old = rels.get(n)
            rels[n] = r if old is None else RelationType(
                n, old.description, tuple(dict.fromkeys(old.domain + r.domain)), tuple(dict.fromkeys(old.range + r.range)),
                old.functional and r.functional, tuple(dict.fromkeys(old.aliases + r.aliases)),
                tuple(dict.fromkeys(old.patterns + r.patterns)), old.inverse or r.inverse,
            )
        tk = o.extra.get("text2kgbench") or {}
        labels.update(tk.get("relation_labels", {}))
        if tk.get("id"):
            members[str(tk["id"])] = sorted(o.relation_types)
            concepts[str(tk["id"])] = [e.aliases[0] if e.aliases else n for n, e in o.entity_types.items()]
    name = "+".join(o.name for o in parts) if len(parts) <= 3 else f"{parts[0].name}+{len(parts) - 1}-more"
    extra = {"text2kgbench": {"relation_labels": labels, "members": members, "concepts": concepts}}
    return _with_fallback_types(Ontology(name[:64], ets, rels, "1", "merged from " + ", ".join(o.name for o in parts), extra))


def drop_examples_in(examples: Sequence[Example], documents: Path | str) -> list[Example]:
    """Examples whose text does not occur in ``documents`` (a file, or every ``*.txt`` under a folder).

    Used to train on data that excludes an evaluation set's documents (compare texts, whitespace-normalised).
    """
    p = Path(documents)
    files = sorted(p.rglob("*.txt")) if p.is_dir() else [p]
    corpus = " ".join(" ".join(f.read_text(encoding="utf-8").split()) for f in files)
    return [ex for ex in examples if " ".join(ex.text.split()) not in corpus]
