"""Token estimates, usage and cost accounting, and the token/cost budget of an LLM client."""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from kgkit.errors import BudgetExceededError

__all__ = ["Usage", "StageStats", "LLMStats", "Prices", "Budget", "estimate_tokens", "estimate_message_tokens"]

# Every chat message costs a few tokens of framing beyond its text (role, separators).
_MESSAGE_OVERHEAD = 4
# ~4 characters a token for English with BPE tokenizers; 3.5 errs on the side of over-estimating so a
# budget check is conservative.
_CHARS_PER_TOKEN = 3.5


def estimate_tokens(text: str) -> int:
    """A conservative token estimate for ``text`` (no tokenizer needed: ~3.5 characters a token)."""
    return math.ceil(len(text) / _CHARS_PER_TOKEN) if text else 0


def estimate_message_tokens(messages: Sequence[Mapping[str, Any]], response_format: Mapping[str, Any] | None = None) -> int:
    """Estimated prompt tokens of a chat request, including a JSON schema sent as ``response_format``."""
    n = 3
    for m in messages:
        content = m.get("content", "")
        n += _MESSAGE_OVERHEAD + estimate_tokens(content if isinstance(content, str) else json.dumps(content))
    if response_format:
        n += estimate_tokens(json.dumps(response_format))
    return n


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Prices:
    """Prices in currency units per million tokens (0 for local models)."""

    prompt_per_mtok: float = 0.0
    completion_per_mtok: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt_per_mtok + completion_tokens * self.completion_per_mtok) / 1e6


@dataclass
class StageStats:
    """Counters of one stage (e.g. ``extract``, ``glean``, ``reask``)."""

    calls: int = 0  # endpoint calls that returned an answer
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0  # requests that failed after all retries
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0  # wall time spent in endpoint calls (summed over concurrent calls)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, float]:
        return {
            "calls": self.calls, "cache_hits": self.cache_hits, "retries": self.retries,
            "failures": self.failures, "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens, "total_tokens": self.total_tokens,
            "cost": round(self.cost, 6), "seconds": round(self.seconds, 3),
        }


@dataclass
class LLMStats:
    """Accounting of a client, in total and per stage. Cache hits cost no tokens."""

    stages: dict[str, StageStats] = field(default_factory=dict)

    def stage(self, name: str) -> StageStats:
        return self.stages.setdefault(name, StageStats())

    def _sum(self, attr: str) -> Any:
        return sum(getattr(s, attr) for s in self.stages.values())

    @property
    def calls(self) -> int:
        return int(self._sum("calls"))

    @property
    def cache_hits(self) -> int:
        return int(self._sum("cache_hits"))

    @property
    def retries(self) -> int:
        return int(self._sum("retries"))

    @property
    def failures(self) -> int:
        return int(self._sum("failures"))

    @property
    def prompt_tokens(self) -> int:
        return int(self._sum("prompt_tokens"))

    @property
    def completion_tokens(self) -> int:
        return int(self._sum("completion_tokens"))

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def cost(self) -> float:
        return float(self._sum("cost"))

    def as_dict(self) -> dict[str, Any]:
        total = StageStats(
            self.calls, self.cache_hits, self.retries, self.failures, self.prompt_tokens,
            self.completion_tokens, self.cost, float(self._sum("seconds")),
        )
        return {"total": total.as_dict(), "stages": {k: v.as_dict() for k, v in self.stages.items()}}


class Budget:
    """A hard limit on tokens and/or cost spent at the endpoint, checked *before* each call.

    A call reserves its worst case (estimated prompt tokens + ``max_tokens``); the reservation is
    replaced by the real usage when the answer arrives. A call whose reservation would cross the limit
    raises :class:`BudgetExceededError` without being sent, so concurrent calls cannot overshoot either.
    """

    def __init__(self, tokens: int | None = None, cost: float | None = None, prices: Prices = Prices()) -> None:
        self.tokens = tokens
        self.cost = cost
        self.prices = prices
        self.spent_tokens = 0
        self.spent_cost = 0.0
        self._reserved_tokens = 0
        self._reserved_cost = 0.0
        self._lock = threading.Lock()

    @property
    def limited(self) -> bool:
        return self.tokens is not None or self.cost is not None

    def reserve(self, prompt_tokens: int, completion_tokens: int) -> tuple[int, float]:
        """Reserve a call's worst case, or raise :class:`BudgetExceededError`."""
        need_t = prompt_tokens + completion_tokens
        need_c = self.prices.cost(prompt_tokens, completion_tokens)
        with self._lock:
            if self.tokens is not None and self.spent_tokens + self._reserved_tokens + need_t > self.tokens:
                raise BudgetExceededError(
                    f"the next LLM call (~{need_t} tokens) would cross the budget of {self.tokens} tokens "
                    f"({self.spent_tokens} spent, {self._reserved_tokens} in flight); raise --budget or run "
                    f"again later: finished calls are cached and will not be repeated"
                )
            if self.cost is not None and self.spent_cost + self._reserved_cost + need_c > self.cost:
                raise BudgetExceededError(
                    f"the next LLM call (~{need_c:.4f}) would cross the cost budget of {self.cost} "
                    f"({self.spent_cost:.4f} spent); raise the budget or run again later: finished calls "
                    f"are cached"
                )
            self._reserved_tokens += need_t
            self._reserved_cost += need_c
        return need_t, need_c

    def settle(self, reservation: tuple[int, float], usage: Usage | None) -> None:
        """Replace a reservation by what the call really used (``None``: the call failed, nothing sent back)."""
        with self._lock:
            self._reserved_tokens -= reservation[0]
            self._reserved_cost -= reservation[1]
            if usage is not None:
                self.spent_tokens += usage.total_tokens
                self.spent_cost += self.prices.cost(usage.prompt_tokens, usage.completion_tokens)
