"""Ontologies: which entity types and relation types a graph may hold.

An ontology is a YAML file in ``schemas/``::

    name: default
    version: "1"
    entity_types:
      Person:
        description: A human being.
        aliases: [person, human]
        ner_labels: [PERSON]          # spaCy NER labels that map to this type
    relation_types:
      bornIn:
        description: The place where a person was born.
        domain: [Person]
        range: [Place]
        functional: true               # one true object per subject
        aliases: [born in, birthplace]
        patterns: ["bear in"]          # lemma paths for the offline extractor

Relation names become relationship types in the stores (``bornIn`` -> ``BORN_IN``) and type names
become labels; both are checked against :data:`IDENTIFIER` before they go anywhere near Cypher.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from kgkit.errors import OntologyError, UnsafeIdentifierError

__all__ = [
    "IDENTIFIER",
    "EntityType",
    "RelationType",
    "Ontology",
    "load_ontology",
    "default_ontology_path",
    "validate_identifier",
    "relationship_type",
]

IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"


def validate_identifier(name: str, what: str = "identifier") -> str:
    """Return ``name`` if it is a safe label / relationship type, else raise.

    >>> validate_identifier("BORN_IN")
    'BORN_IN'
    """
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        raise UnsafeIdentifierError(
            f"{what} {name!r} is not allowed: use letters, digits and '_' only, starting with a letter "
            f"(at most 64 characters); define it in the ontology under schemas/"
        )
    return name


def relationship_type(relation: str) -> str:
    """The relationship type a relation name is stored as: ``bornIn`` -> ``BORN_IN``.

    >>> relationship_type("bornIn")
    'BORN_IN'
    """
    validate_identifier(relation, "relation name")
    return validate_identifier(_CAMEL.sub("_", relation).upper(), "relationship type")


@dataclass(frozen=True)
class EntityType:
    name: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    ner_labels: tuple[str, ...] = ()
    parent: str | None = None


@dataclass(frozen=True)
class RelationType:
    name: str
    description: str = ""
    domain: tuple[str, ...] = ()
    range: tuple[str, ...] = ()
    functional: bool = False
    aliases: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    inverse: str | None = None

    @property
    def rel_type(self) -> str:
        return relationship_type(self.name)


@dataclass(frozen=True)
class Ontology:
    name: str
    entity_types: Mapping[str, EntityType]
    relation_types: Mapping[str, RelationType]
    version: str = "1"
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for t in self.entity_types:
            validate_identifier(t, "entity type")
        for r in self.relation_types.values():
            _ = r.rel_type  # validates the relationship type
            for t in (*r.domain, *r.range):
                if t not in self.entity_types:
                    raise OntologyError(
                        f"ontology {self.name!r}: relation {r.name!r} refers to unknown entity type "
                        f"{t!r}; add it under entity_types"
                    )

    # -- lookups --------------------------------------------------------------------------------
    def has_entity_type(self, name: str) -> bool:
        return name in self.entity_types

    def relation(self, name: str) -> RelationType:
        try:
            return self.relation_types[name]
        except KeyError:
            raise OntologyError(
                f"relation {name!r} is not in ontology {self.name!r}; known: "
                f"{', '.join(sorted(self.relation_types))}"
            ) from None

    def is_a(self, type_: str, ancestor: str) -> bool:
        seen = set()
        while type_ and type_ not in seen:
            if type_ == ancestor:
                return True
            seen.add(type_)
            et = self.entity_types.get(type_)
            type_ = et.parent if et else None  # type: ignore[assignment]
        return False

    def conforms(self, subject_type: str, relation: str, object_type: str) -> bool:
        """Whether ``(subject_type, relation, object_type)`` is allowed by domain and range."""
        rel = self.relation_types.get(relation)
        if rel is None:
            return False
        ok_d = not rel.domain or any(self.is_a(subject_type, d) for d in rel.domain)
        ok_r = not rel.range or any(self.is_a(object_type, r) for r in rel.range)
        return ok_d and ok_r

    def functional_relations(self) -> list[str]:
        return [r.name for r in self.relation_types.values() if r.functional]

    def type_for_ner_label(self, label: str) -> str | None:
        for et in self.entity_types.values():
            if label in et.ner_labels:
                return et.name
        return None

    def relation_for_rel_type(self, rel_type: str) -> RelationType | None:
        for r in self.relation_types.values():
            if r.rel_type == rel_type:
                return r
        return None

    # -- (de)serialisation -----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> "Ontology":
        if not isinstance(data, Mapping):
            raise OntologyError(f"{source}: an ontology must be a mapping with entity_types and relation_types")
        try:
            ets = {
                name: EntityType(
                    name=name,
                    description=str((spec or {}).get("description", "")),
                    aliases=tuple((spec or {}).get("aliases", ()) or ()),
                    ner_labels=tuple((spec or {}).get("ner_labels", ()) or ()),
                    parent=(spec or {}).get("parent"),
                )
                for name, spec in (data.get("entity_types") or {}).items()
            }
            rts = {
                name: RelationType(
                    name=name,
                    description=str((spec or {}).get("description", "")),
                    domain=_as_tuple((spec or {}).get("domain")),
                    range=_as_tuple((spec or {}).get("range")),
                    functional=bool((spec or {}).get("functional", False)),
                    aliases=tuple((spec or {}).get("aliases", ()) or ()),
                    patterns=tuple((spec or {}).get("patterns", ()) or ()),
                    inverse=(spec or {}).get("inverse"),
                )
                for name, spec in (data.get("relation_types") or {}).items()
            }
        except (AttributeError, TypeError) as err:
            raise OntologyError(f"{source}: malformed ontology ({err}); see schemas/default.yaml") from err
        if not ets:
            raise OntologyError(f"{source}: no entity_types defined")
        extra = {k: v for k, v in data.items() if k not in {"name", "version", "description", "entity_types", "relation_types"}}
        return cls(
            name=str(data.get("name", Path(source).stem)),
            version=str(data.get("version", "1")),
            description=str(data.get("description", "")),
            entity_types=ets,
            relation_types=rts,
            extra=extra,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "entity_types": {
                n: {k: v for k, v in {
                    "description": e.description, "aliases": list(e.aliases),
                    "ner_labels": list(e.ner_labels), "parent": e.parent,
                }.items() if v}
                for n, e in self.entity_types.items()
            },
            "relation_types": {
                n: {k: v for k, v in {
                    "description": r.description, "domain": list(r.domain), "range": list(r.range),
                    "functional": r.functional, "aliases": list(r.aliases),
                    "patterns": list(r.patterns), "inverse": r.inverse,
                }.items() if v}
                for n, r in self.relation_types.items()
            },
            **dict(self.extra),
        }

    def dump(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")


def _as_tuple(v: str | Iterable[str] | None) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return (v,)
    return tuple(v)


def default_ontology_path() -> Path:
    return SCHEMAS_DIR / "default.yaml"


def load_ontology(path_or_name: str | Path | None = None) -> Ontology:
    """Load an ontology from a YAML path, or by name from ``schemas/`` (default: ``default``)."""
    if path_or_name is None:
        path = default_ontology_path()
    else:
        path = Path(path_or_name)
        if not path.exists() and not path.suffix:
            path = SCHEMAS_DIR / f"{path_or_name}.yaml"
    if not path.exists():
        raise OntologyError(f"ontology {str(path_or_name)!r} not found; pass a YAML path or a name in {SCHEMAS_DIR}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise OntologyError(f"{path}: invalid YAML: {err}") from err
    return Ontology.from_dict(data, source=str(path))
