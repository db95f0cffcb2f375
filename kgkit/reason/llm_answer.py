"""Answering from the supporting subgraph with an LLM that must cite the facts it used.

The prompt lists the subgraph's facts with their ids; the model replies with JSON
``{"answers": [...], "citations": ["f:...", ...]}``. Every cited id is checked against the subgraph:
an id the model invented is reported in ``invalid_citations`` and, with ``on_invalid="raise"``,
raises :class:`CitationError`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from kgkit.errors import ConfigError, LLMError
from kgkit.llm.json_repair import OutputParseError, loads_lenient
from kgkit.llm.settings import OnError, check_on_error

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.llm import LLMClient
    from kgkit.reason.reasoner import Answer

__all__ = ["LLMAnswerer", "LLMAnswer", "CitationError", "build_messages", "parse_reply"]

PROMPT_VERSION = "kgqa-v1"

SYSTEM = (
    "You answer questions using only the knowledge-graph facts given. Each fact line starts with its id "
    "in brackets. Reply with JSON only: {\"answers\": [answer names, best first], \"citations\": [ids of the "
    "facts you used]}. If the facts do not answer the question, reply {\"answers\": [], \"citations\": []}."
)


class CitationError(LLMError):
    """The model cited a fact id that is not in the subgraph it was given."""


@dataclass
class LLMAnswer:
    """The model's answers, the facts it cited, and the citations that failed the check."""

    answers: list[str]
    citations: list[str]
    invalid_citations: list[str] = field(default_factory=list)
    raw: str = ""
    error: str | None = None


def build_messages(answer: "Answer", *, hints: int = 5) -> list[dict[str, str]]:
    """The chat messages for one question: the facts, the reasoner's ranked paths as hints, the question."""
    facts = answer.subgraph.verbalize() or "(no facts found)"
    paths = "\n".join(f"- {p.path} (p={p.score:.2f})" for p in answer.paths[:hints]) or "- none"
    user = f"Facts:\n{facts}\n\nRelation paths that matched the question:\n{paths}\n\nQuestion: {answer.question}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


log = logging.getLogger(__name__)


def parse_reply(text: str) -> tuple[list[str], list[str]]:
    """``(answers, citations)`` from a reply; tolerates code fences, text around the JSON and the usual
    damage (:func:`kgkit.llm.json_repair.loads_lenient`).

    Raises:
        LLMError: no JSON object in the reply, even after repair.
    """
    try:
        obj: Any = loads_lenient(text)[0]
    except OutputParseError as err:
        raise LLMError(f"the model's reply has no JSON object ({err}); check the model follows the prompt") from err
    answers = [str(a) for a in obj.get("answers", []) if str(a).strip()] if isinstance(obj, dict) else []
    cites = [str(c) for c in obj.get("citations", [])] if isinstance(obj, dict) else []
    return answers, cites


class LLMAnswerer:
    """Asks an LLM to answer from a reasoner's subgraph, and checks its citations.

    Args:
        client: a :class:`kgkit.llm.LLMClient`.
        on_invalid: ``"raise"`` (a :class:`CitationError`), ``"drop"`` (remove invented ids and keep
            the answer) or ``"collect"`` (keep everything, report the invented ids).
        on_error: when the call or parsing fails (:data:`kgkit.llm.settings.OnError`): ``"raise"``;
            ``"skip"`` (log it, return an empty answer); ``"collect"`` (return an empty answer carrying
            the error in ``LLMAnswer.error``).
        max_tokens: completion budget per question.
    """

    def __init__(
        self,
        client: "LLMClient",
        *,
        on_invalid: Literal["raise", "drop", "collect"] = "drop",
        on_error: OnError = "raise",
        max_tokens: int = 300,
    ) -> None:
        if on_invalid not in ("raise", "drop", "collect"):
            raise ConfigError(f"on_invalid must be raise, drop or collect, got {on_invalid!r}")
        self.client = client
        self.on_invalid = on_invalid
        self.on_error = check_on_error(on_error)
        self.max_tokens = max_tokens

    def answer(self, answer: "Answer") -> LLMAnswer:
        """The LLM's answer to ``answer.question`` from ``answer.subgraph``."""
        try:
            reply = self.client.complete(
                build_messages(answer), max_tokens=self.max_tokens, prompt_version=PROMPT_VERSION, stage="reason"
            )
            answers, cites = parse_reply(reply.text)
        except LLMError as err:
            if self.on_error == "raise":
                raise
            if self.on_error == "skip":
                log.warning("no LLM answer for %r: %s", answer.question, err)
                return LLMAnswer([], [])
            return LLMAnswer([], [], error=str(err))
        allowed = answer.subgraph.fact_ids
        invalid = [c for c in cites if c not in allowed]
        if invalid and self.on_invalid == "raise":
            raise CitationError(
                f"the model cited {len(invalid)} fact id(s) not in the subgraph ({', '.join(invalid[:3])}); "
                "use on_invalid='drop' to discard them or a model that follows the prompt"
            )
        if self.on_invalid == "drop":
            cites = [c for c in cites if c in allowed]
        return LLMAnswer(answers, cites, invalid, raw=reply.text)
