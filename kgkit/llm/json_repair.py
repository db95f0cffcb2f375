"""Parse a model's JSON answer, repairing the usual damage: code fences, prose around the JSON,
trailing commas, Python literals, smart quotes, and truncation (an answer cut off by ``max_tokens``).

Truncated output is repaired by cutting back to the last complete element and closing the open
brackets, so the facts that did arrive whole are kept.

:func:`loads_lenient` is the one parser of model answers for every LLM caller (extractor, labeler,
reasoner answerer, fusion adjudicator).
"""

from __future__ import annotations

import json
import re
from typing import Any

from kgkit.errors import ExtractionError, LLMError

__all__ = ["OutputParseError", "repair_json", "loads_lenient"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|$)", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_SMART = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
_MAX_CUTS = 400


class OutputParseError(ExtractionError, LLMError):
    """The model's answer is not usable JSON, even after repair (an extraction error and an LLM error)."""


def loads_lenient(text: str) -> tuple[Any, bool]:
    """Parse ``text``; repair it if needed. Returns ``(value, repaired)``.

    Raises:
        OutputParseError: not even a repaired prefix parses.
    """
    try:
        return json.loads(text), False
    except (json.JSONDecodeError, TypeError):
        pass
    fixed = repair_json(text)
    if fixed is None:
        snippet = (text or "").strip().replace("\n", " ")[:80]
        raise OutputParseError(f"model output is not JSON and could not be repaired: {snippet!r}")
    return json.loads(fixed), True


def _core(text: str) -> str:
    """The JSON part of an answer: inside a code fence if any, from the first ``{``/``[`` on."""
    m = _FENCE.search(text)
    if m and ("{" in m.group(1) or "[" in m.group(1)):
        text = m.group(1)
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    return text[min(starts):].strip() if starts else text.strip()


def _python_literals(s: str) -> str:
    # Only outside strings: True/False/None -> true/false/null.
    out, in_str, esc = [], False, False
    i = 0
    while i < len(s):
        ch = s[i]
        if in_str:
            out.append(ch)
            esc = (ch == "\\") and not esc
            if ch == '"' and not esc:
                in_str = False
            i += 1
            continue
        if ch == '"':
            in_str = True
        for word, rep in (("True", "true"), ("False", "false"), ("None", "null")):
            if s.startswith(word, i) and not (i and s[i - 1].isalnum()):
                out.append(rep)
                i += len(word)
                break
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _scan(s: str) -> tuple[list[str], bool, list[int]]:
    """Open brackets, whether a string is open, and cut points (after a complete element)."""
    stack: list[str] = []
    cuts: list[int] = []
    in_str = esc = False
    for i, ch in enumerate(s):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]":
            if stack:
                stack.pop()
            cuts.append(i + 1)
        elif ch == ",":
            cuts.append(i)
    return stack, in_str, cuts


def _close(prefix: str) -> str | None:
    prefix = prefix.rstrip().rstrip(",").rstrip()
    stack, in_str, _ = _scan(prefix)
    if in_str:
        return None
    return prefix + "".join(reversed(stack))


def repair_json(text: str) -> str | None:
    """Return a parseable JSON string recovered from ``text``, or None."""
    if not text or not text.strip():
        return None
    s = _core(text.translate(_SMART))
    candidates = [s, _TRAILING_COMMA.sub(r"\1", s)]
    if "'" in s and '"' not in s:
        candidates.append(_TRAILING_COMMA.sub(r"\1", s.replace("'", '"')))
    candidates = [_python_literals(c) for c in candidates] + candidates
    for c in candidates:
        try:
            json.loads(c)
            return c
        except json.JSONDecodeError:
            pass
    # Truncated: close the brackets at the end, then at ever earlier element boundaries.
    s = _TRAILING_COMMA.sub(r"\1", _python_literals(s))
    # A string cut off mid-way is never closed: a half quote or half name is worse than none.
    _, _, cuts = _scan(s)
    for cut in [len(s)] + sorted(cuts, reverse=True)[:_MAX_CUTS]:
        closed = _close(s[:cut])
        if closed is None:
            continue
        try:
            json.loads(closed)
            return closed
        except json.JSONDecodeError:
            continue
    return None
