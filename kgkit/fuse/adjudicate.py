"""Optional LLM adjudication of ambiguous entity pairs through the :mod:`kgkit.llm` client.

Only pairs the scorer cannot decide (score between ``ambiguous_threshold`` and ``merge_threshold``,
or names that match several entities that must stay apart) are sent, one short prompt each; answers
are cached by the client, so re-running fusion costs nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping

from kgkit.errors import ConfigError, LLMError
from kgkit.fuse.scoring import EntityView, PairScore

__all__ = ["llm_adjudicator", "PROMPT"]

PROMPT = """Do these two knowledge-graph entities refer to the same real-world thing?
Entity A: {a_name!r} (type {a_type}; also called: {a_aliases})
Entity B: {b_name!r} (type {b_type}; also called: {b_aliases})
Matching evidence: {signals}
Answer with JSON only: {{"same": true}} or {{"same": false}}."""

_JSON = re.compile(r"\{.*?\}", re.S)


def _parse(text: str) -> bool | None:
    m = _JSON.search(text or "")
    if not m:
        return None
    try:
        val = json.loads(m.group(0)).get("same")
    except (json.JSONDecodeError, AttributeError):
        return None
    return val if isinstance(val, bool) else None


def llm_adjudicator(client: Any = None, *, on_error: str = "skip", **client_kwargs: Any) -> Callable[[EntityView, EntityView, PairScore], bool | None]:
    """An adjudicator that asks an LLM; ``client`` is a :class:`kgkit.llm.LLMClient` (built from
    ``client_kwargs`` when not given).

    Args:
        on_error: ``"skip"`` (leave the pair unmerged) or ``"raise"`` when the call fails or the answer
            is not ``{"same": bool}``.
    """
    if on_error not in ("skip", "raise"):
        raise ConfigError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    if client is None:
        from kgkit.llm import LLMClient

        client = LLMClient(**client_kwargs)

    def judge(a: EntityView, b: EntityView, ps: PairScore) -> bool | None:
        signals: Mapping[str, float] = {k: v for k, v in ps.signals.items() if v}
        prompt = PROMPT.format(
            a_name=a.name, a_type=a.type, a_aliases=", ".join(a.aliases) or "-",
            b_name=b.name, b_type=b.type, b_aliases=", ".join(b.aliases) or "-",
            signals=json.dumps(signals, sort_keys=True),
        )
        try:
            answer = _parse(client.complete([{"role": "user", "content": prompt}], temperature=0).text)
        except LLMError:
            if on_error == "raise":
                raise
            return None
        if answer is None and on_error == "raise":
            raise LLMError(f"the adjudicator's answer for {a.name!r} / {b.name!r} is not {{\"same\": true|false}}; "
                           "use a model that follows JSON instructions, or on_error='skip'")
        return answer

    return judge
