"""Optional LLM adjudication of ambiguous entity pairs through the :mod:`kgkit.llm` client.

Only pairs the scorer cannot decide (score between ``ambiguous_threshold`` and ``merge_threshold``,
or names that match several entities that must stay apart) are sent, one short prompt each; answers
are cached by the client, so re-running fusion costs nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Mapping

from kgkit.errors import LLMError
from kgkit.fuse.scoring import EntityView, PairScore
from kgkit.llm.json_repair import OutputParseError, loads_lenient
from kgkit.llm.settings import check_on_error, resolve_llm_settings

__all__ = ["llm_adjudicator", "PROMPT"]

PROMPT = """Do these two knowledge-graph entities refer to the same real-world thing?
Entity A: {a_name!r} (type {a_type}; also called: {a_aliases})
Entity B: {b_name!r} (type {b_type}; also called: {b_aliases})
Matching evidence: {signals}
Answer with JSON only: {{"same": true}} or {{"same": false}}."""

log = logging.getLogger(__name__)


def _parse(text: str) -> bool | None:
    try:
        obj = loads_lenient(text or "")[0]
    except OutputParseError:
        return None
    val = obj.get("same") if isinstance(obj, dict) else None
    return val if isinstance(val, bool) else None


def llm_adjudicator(client: Any = None, *, on_error: str = "skip", **client_kwargs: Any) -> Callable[[EntityView, EntityView, PairScore], bool | None]:
    """An adjudicator that asks an LLM; ``client`` is a :class:`kgkit.llm.LLMClient` (built from
    ``client_kwargs`` when not given).

    Args:
        on_error: when the call fails or the answer is not ``{"same": bool}``
            (:data:`kgkit.llm.settings.OnError`): ``"raise"``; ``"skip"`` (log it, leave the pair
            unmerged); ``"collect"`` (leave it unmerged and append ``(a, b, reason)`` to the judge's
            ``failures`` list).
    """
    mode = check_on_error(on_error)
    failures: list[tuple[str, str, str]] = []
    if client is None:
        from kgkit.llm import LLMClient

        client = LLMClient(**resolve_llm_settings(pipeline=client_kwargs))  # KGKIT_LLM_* over the pipeline's fusion.llm

    def judge(a: EntityView, b: EntityView, ps: PairScore) -> bool | None:
        signals: Mapping[str, float] = {k: v for k, v in ps.signals.items() if v}
        prompt = PROMPT.format(
            a_name=a.name, a_type=a.type, a_aliases=", ".join(a.aliases) or "-",
            b_name=b.name, b_type=b.type, b_aliases=", ".join(b.aliases) or "-",
            signals=json.dumps(signals, sort_keys=True),
        )
        try:
            answer = _parse(client.complete([{"role": "user", "content": prompt}], temperature=0).text)
            if answer is None:
                raise LLMError(f"the adjudicator's answer for {a.name!r} / {b.name!r} is not {{\"same\": true|false}}; "
                               "use a model that follows JSON instructions, or on_error='skip'")
        except LLMError as err:
            if mode == "raise":
                raise
            if mode == "collect":
                failures.append((a.id, b.id, str(err)))
            else:
                log.warning("pair %r / %r left unmerged: %s", a.name, b.name, err)
            return None
        return answer

    judge.failures = failures  # type: ignore[attr-defined]
    return judge
