"""Prompts and the JSON schema of the LLM extractor, both generated from the ontology.

Change :data:`PROMPT_VERSION` whenever a prompt's wording changes: it is part of the cache key, so
old cached answers are not reused for a new prompt.
"""

from __future__ import annotations

import json
from typing import Any, Literal, Mapping, Sequence

from kgkit.ontology import Ontology

__all__ = [
    "PROMPT_VERSION",
    "StructuredOutput",
    "extraction_schema",
    "response_format",
    "system_prompt",
    "extraction_messages",
    "gleaning_messages",
    "reask_messages",
]

PROMPT_VERSION = "extract-v1"
StructuredOutput = Literal["json_schema", "json_object", "none"]
FACT_KEYS = ("subject", "subject_type", "predicate", "object", "object_type", "evidence")


def extraction_schema(ontology: Ontology, *, closed: bool = True) -> dict[str, Any]:
    """The JSON schema of an answer: ``{"facts": [{subject, subject_type, predicate, object, object_type, evidence}]}``.

    Args:
        closed: restrict types and predicates to the ontology's (``enum``); open schemas let a model
            propose off-ontology facts, which the extractor then flags.
    """
    def names(values: Sequence[str]) -> dict[str, Any]:
        return {"type": "string", "enum": list(values)} if closed else {"type": "string"}

    types = list(ontology.entity_types)
    fact = {
        "type": "object",
        "properties": {
            "subject": {"type": "string"},
            "subject_type": names(types),
            "predicate": names(list(ontology.relation_types)),
            "object": {"type": "string"},
            "object_type": names(types),
            "evidence": {"type": "string"},
        },
        "required": list(FACT_KEYS),
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"facts": {"type": "array", "items": fact}},
        "required": ["facts"],
        "additionalProperties": False,
    }


def response_format(ontology: Ontology, mode: StructuredOutput, *, closed: bool = True) -> dict[str, Any] | None:
    """The ``response_format`` request parameter for ``mode``."""
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "kgkit_facts", "strict": True, "schema": extraction_schema(ontology, closed=closed)},
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def system_prompt(ontology: Ontology, *, closed: bool = True) -> str:
    """Instructions listing the entity types and relations (with descriptions, domain and range)."""
    lines = [
        "You extract facts for a knowledge graph from text. Use ONLY the entity types and relations below.",
        "",
        "Entity types:",
    ]
    for et in ontology.entity_types.values():
        desc = f": {et.description}" if et.description else ""
        lines.append(f"- {et.name}{desc}")
    lines += ["", "Relations (subject type -> object type):"]
    for r in ontology.relation_types.values():
        dom = "|".join(r.domain) or "any"
        rng = "|".join(r.range) or "any"
        desc = f": {r.description}" if r.description else ""
        said = f" (often phrased: {', '.join(r.aliases[:4])})" if r.aliases else ""
        lines.append(f"- {r.name} ({dom} -> {rng}){desc}{said}")
    lines += [
        "",
        "Rules:",
        "- Extract only facts the text states. Do not use outside knowledge.",
        "- subject and object are names exactly as written in the text (resolve pronouns to the name).",
        "- evidence is a short VERBATIM quote from the text (one sentence or less) that states the fact.",
        "- Respect each relation's subject and object types.",
    ]
    if not closed:
        lines.append("- If an important fact fits no relation above, you may use a short camelCase relation name.")
    lines += [
        "",
        'Answer with JSON only, no prose: {"facts": [{"subject": "...", "subject_type": "...", '
        '"predicate": "...", "object": "...", "object_type": "...", "evidence": "..."}]}. '
        'If there are no facts, answer {"facts": []}.',
    ]
    return "\n".join(lines)


def extraction_messages(ontology: Ontology, text: str, *, closed: bool = True) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": system_prompt(ontology, closed=closed)},
        {"role": "user", "content": f"Text:\n\"\"\"\n{text}\n\"\"\""},
    ]


def gleaning_messages(base: Sequence[Mapping[str, str]], facts_so_far: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Ask for facts the previous answers missed (a "gleaning" pass)."""
    return [
        *[dict(m) for m in base],
        {"role": "assistant", "content": json.dumps({"facts": list(facts_so_far)}, ensure_ascii=False)},
        {"role": "user", "content": (
            "Some facts in the text may have been missed. List ONLY additional facts that are not in your "
            'previous answer, in the same JSON format. If there are none, answer {"facts": []}.'
        )},
    ]


def reask_messages(base: Sequence[Mapping[str, str]], bad_answer: str, problem: str) -> list[dict[str, str]]:
    """Show the model its unusable answer and ask once more for valid JSON."""
    return [
        *[dict(m) for m in base],
        {"role": "assistant", "content": bad_answer[:4000]},
        {"role": "user", "content": (
            f"That answer could not be used: {problem}. Answer again with complete, valid JSON only, "
            'exactly in the format {"facts": [...]}, and keep it short enough to finish.'
        )},
    ]
