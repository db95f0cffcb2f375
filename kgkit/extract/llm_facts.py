"""Turn the facts a model returned (plain dicts) into typed :class:`~kgkit.types.Triple`s.

Names are matched to the ontology leniently (case, spaces, aliases); what still does not fit the
ontology — unknown relation, unknown type, domain/range violation — is dropped or flagged, as the
extractor is configured. Every kept fact gets provenance with a document-level evidence span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

from kgkit.extract.llm_spans import find_quote
from kgkit.ontology import IDENTIFIER, Ontology
from kgkit.types import Chunk, Entity, Evidence, Provenance, Span, Triple, normalize_name

__all__ = ["FactPolicy", "ConversionResult", "facts_from_answer", "convert_facts", "resolve_relation", "resolve_type"]

OffOntology = Literal["drop", "flag"]
Unspanned = Literal["keep", "drop"]
_NON_WORD = re.compile(r"[^0-9A-Za-z]+")


@dataclass(frozen=True)
class FactPolicy:
    """How facts are filtered and scored.

    Args:
        off_ontology: ``"drop"`` facts outside the ontology, or ``"flag"`` them (kept, with a
            sanitised name and ``flagged_confidence`` times the confidence).
        unspanned: ``"keep"`` facts whose evidence is not found in the chunk (span None,
            ``unspanned_confidence`` times the confidence) or ``"drop"`` them.
        base_confidence: confidence of a fact with an exact evidence match.
        fuzzy_threshold: rapidfuzz score (0-100) below which a quote counts as not found.
    """

    off_ontology: OffOntology = "drop"
    unspanned: Unspanned = "keep"
    base_confidence: float = 0.9
    flagged_confidence: float = 0.5
    unspanned_confidence: float = 0.5
    fuzzy_threshold: float = 85.0


@dataclass
class ConversionResult:
    triples: list[Triple] = field(default_factory=list)
    mentions: list[tuple[Entity, Evidence]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


_ALIASES = {"sub": "subject", "head": "subject", "rel": "predicate", "relation": "predicate",
            "obj": "object", "tail": "object", "quote": "evidence", "head_type": "subject_type",
            "tail_type": "object_type"}


def facts_from_answer(value: Any) -> list[dict[str, Any]] | None:
    """The list of fact dicts in a parsed answer, or None when the answer has no recognisable shape."""
    if isinstance(value, Mapping):
        for k in ("facts", "triples", "relations"):
            if isinstance(value.get(k), list):
                value = value[k]
                break
        else:
            return None
    if not isinstance(value, list):
        return None
    out = []
    for item in value:
        if isinstance(item, Mapping):
            out.append({_ALIASES.get(str(k).lower(), str(k).lower()): v for k, v in item.items()})
    return out


def _camel(phrase: str) -> str:
    parts = [p for p in _NON_WORD.split(phrase) if p]
    if not parts:
        return ""
    return parts[0][:1].lower() + parts[0][1:] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def resolve_relation(ontology: Ontology, name: str) -> str | None:
    """The ontology relation ``name`` refers to (exact, case-insensitive, camelCased phrase, alias)."""
    if name in ontology.relation_types:
        return name
    key = normalize_name(name).replace("_", " ")
    squashed = key.replace(" ", "")
    for r in ontology.relation_types.values():
        if r.name.lower() == squashed or r.rel_type.lower().replace("_", "") == squashed:
            return r.name
    for r in ontology.relation_types.values():
        if any(normalize_name(a) == key for a in r.aliases):
            return r.name
    return None


def resolve_type(ontology: Ontology, name: str) -> str | None:
    """The ontology entity type ``name`` refers to (exact, case-insensitive, alias)."""
    if name in ontology.entity_types:
        return name
    key = normalize_name(name)
    for et in ontology.entity_types.values():
        if et.name.lower() == key.replace(" ", "") or any(normalize_name(a) == key for a in et.aliases):
            return et.name
    return None


def _identifier(name: str, *, upper_first: bool) -> str | None:
    ident = _camel(name)
    if upper_first:
        ident = ident[:1].upper() + ident[1:]
    return ident if IDENTIFIER.fullmatch(ident or "") else None


def _types_for(ontology: Ontology, rel: str | None, fact: Mapping[str, Any]) -> tuple[str | None, str | None, bool]:
    """Resolved (subject type, object type, flagged). Missing types are taken from domain/range."""
    flagged = False
    resolved: list[str | None] = []
    for key, allowed in (("subject_type", "domain"), ("object_type", "range")):
        raw = str(fact.get(key) or "").strip()
        t = resolve_type(ontology, raw) if raw else None
        if t is None and rel is not None:
            options = getattr(ontology.relation_types[rel], allowed)
            if not raw and len(options) == 1:
                t = options[0]
        if t is None and raw:
            t = _identifier(raw, upper_first=True)
            flagged = True
        resolved.append(t)
    return resolved[0], resolved[1], flagged


def convert_facts(
    facts: Sequence[Mapping[str, Any]], chunk: Chunk, ontology: Ontology, policy: FactPolicy, *,
    extractor: str, version: str, source: str | None = None,
) -> ConversionResult:
    """Typed triples and entity mentions for ``facts`` found in ``chunk``; ``counts`` says what was dropped."""
    out = ConversionResult()
    seen: set[tuple[str, int | None]] = set()
    mention_seen: set[tuple[str, int]] = set()
    for fact in facts:
        subj, obj = str(fact.get("subject") or "").strip(), str(fact.get("object") or "").strip()
        pred_raw = str(fact.get("predicate") or "").strip()
        if not subj or not obj or not pred_raw:
            out.count("invalid")
            continue
        rel = resolve_relation(ontology, pred_raw)
        s_type, o_type, flagged = _types_for(ontology, rel, fact)
        predicate = rel
        if rel is None:
            predicate, flagged = _identifier(pred_raw, upper_first=False), True
        if predicate is None or s_type is None or o_type is None:
            out.count("invalid")
            continue
        if not flagged and not ontology.conforms(s_type, predicate, o_type):
            flagged = True
        if flagged and policy.off_ontology == "drop":
            out.count("off_ontology_dropped")
            continue
        confidence = policy.base_confidence * (policy.flagged_confidence if flagged else 1.0)
        match = find_quote(chunk.text, str(fact.get("evidence") or ""), fuzzy_threshold=policy.fuzzy_threshold)
        if match is None:
            if policy.unspanned == "drop":
                out.count("unspanned_dropped")
                continue
            out.count("unspanned")
            span, evidence, confidence = None, str(fact.get("evidence") or ""), confidence * policy.unspanned_confidence
        else:
            span = Span(chunk.start + match.start, chunk.start + match.end)
            evidence, confidence = chunk.text[match.start:match.end], confidence * match.score
        if flagged:
            out.count("off_ontology_flagged")
        prov = Provenance(chunk.document_id, chunk.id, span, extractor, version, round(confidence, 4), source)
        triple = Triple(Entity(subj, s_type), predicate, Entity(obj, o_type), prov, evidence)
        if (triple.id, span.start if span else None) in seen:
            out.count("duplicate")
            continue
        seen.add((triple.id, span.start if span else None))
        out.triples.append(triple)
        for ent in (triple.subject, triple.object):
            m = find_quote(chunk.text, ent.name, fuzzy_threshold=101)
            if m is not None and (ent.id, m.start) not in mention_seen:
                mention_seen.add((ent.id, m.start))
                mp = Provenance(chunk.document_id, chunk.id, Span(chunk.start + m.start, chunk.start + m.end),
                                extractor, version, round(policy.base_confidence * m.score, 4), source)
                out.mentions.append((ent, Evidence.for_mention(ent, mp, chunk.text[m.start:m.end])))
    out.count("kept", len(out.triples))
    return out
