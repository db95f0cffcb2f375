"""An async, cached, budgeted client for any OpenAI-compatible chat endpoint.

Works with OpenAI, vLLM, Ollama, llama.cpp's server and anything else that serves
``/v1/chat/completions``. Configuration comes from keyword arguments or, when they are omitted, the
environment: ``KGKIT_LLM_BASE_URL``, ``KGKIT_LLM_API_KEY``, ``KGKIT_LLM_MODEL`` (falling back to
``OPENAI_BASE_URL``, ``OPENAI_API_KEY``, ``OPENAI_MODEL``), resolved by
:func:`kgkit.llm.settings.resolve_llm_settings`.

Example::

    client = LLMClient(base_url="http://localhost:11434/v1", model="llama3.1", cache_dir=".kgkit/llm-cache")
    answer = client.complete([{"role": "user", "content": "Say hi"}])
    answer.text, answer.usage.total_tokens, answer.cached
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import json
import os
import random
import threading
import time
import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Awaitable, Mapping, Sequence, TypeVar

from kgkit.errors import ConfigError, DependencyMissingError, LLMError
from kgkit.llm.accounting import Budget, LLMStats, Prices, Usage, estimate_message_tokens, estimate_tokens
from kgkit.llm.cache import ResponseCache, cache_key
from kgkit.llm.settings import ENV_OVERRIDES, env_overrides, resolve_llm_settings

__all__ = ["LLMClient", "Completion", "ResponseFormatUnsupportedError", "ENV_OVERRIDES", "env_overrides"]

T = TypeVar("T")

_RETRY_STATUSES = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}


class ResponseFormatUnsupportedError(LLMError):
    """The endpoint rejected the requested ``response_format`` (e.g. no json_schema support)."""


@dataclass(frozen=True, slots=True)
class Completion:
    """One answer. ``cached`` answers cost nothing; ``key`` is their cache key."""

    text: str
    usage: Usage
    cached: bool
    model: str
    finish_reason: str | None = None
    key: str = ""


@dataclass
class _LoopState:
    api: Any  # openai.AsyncOpenAI bound to one event loop
    semaphore: asyncio.Semaphore
    inflight: dict[str, "asyncio.Future[Completion]"] = field(default_factory=dict)


class LLMClient:
    """A chat-completion client with bounded concurrency, retries, a disk cache and a budget.

    Args:
        base_url: the endpoint (``.../v1``); env ``KGKIT_LLM_BASE_URL`` / ``OPENAI_BASE_URL``.
        api_key: env ``KGKIT_LLM_API_KEY`` / ``OPENAI_API_KEY``; local servers need none.
        model: env ``KGKIT_LLM_MODEL`` / ``OPENAI_MODEL``.
        max_concurrency: requests in flight at once (per event loop).
        timeout: seconds per request before it counts as timed out (and is retried).
        max_retries: retries on 429, 5xx, timeouts and connection errors.
        cache_dir: where answers are cached; ``None`` disables the cache.
        budget_tokens: hard limit on tokens sent to and received from the endpoint.
        budget_cost: hard limit on cost (needs prices).
        price_prompt_per_mtok: price per million prompt tokens, for cost accounting.
        price_completion_per_mtok: price per million completion tokens.
        backoff_base: first retry delay in seconds (doubles each retry, with jitter).
        backoff_max: longest delay between retries (a server's ``Retry-After`` is honoured up to
            ``max_retry_after``).
        max_retry_after: the longest ``Retry-After`` honoured, in seconds.
        default_max_tokens: completion tokens reserved against the budget when a call sets no
            ``max_tokens``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        *,
        max_concurrency: int = 8,
        timeout: float = 60,
        max_retries: int = 6,
        cache_dir: str | os.PathLike[str] | None = None,
        budget_tokens: int | None = None,
        budget_cost: float | None = None,
        price_prompt_per_mtok: float = 0.0,
        price_completion_per_mtok: float = 0.0,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 120.0,
        default_max_tokens: int = 1024,
    ) -> None:
        if max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
        given = resolve_llm_settings(explicit={"base_url": base_url, "api_key": api_key, "model": model})
        self.base_url: str | None = given.get("base_url")
        self.api_key: str | None = given.get("api_key")
        self.model: str | None = given.get("model")
        self.max_concurrency = max_concurrency
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.cache = ResponseCache(cache_dir) if cache_dir is not None else None
        self.prices = Prices(price_prompt_per_mtok, price_completion_per_mtok)
        self.budget = Budget(budget_tokens, budget_cost, self.prices)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.default_max_tokens = default_max_tokens
        self.stats = LLMStats()
        self._stats_lock = threading.Lock()
        self._loops: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState]" = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"LLMClient(base_url={self.base_url!r}, model={self.model!r})"

    # -- configuration -----------------------------------------------------------------------------
    def _require_model(self) -> str:
        if not self.model:
            raise ConfigError(
                "no LLM model configured: pass model=..., --model, or set KGKIT_LLM_MODEL (or OPENAI_MODEL)"
            )
        return self.model

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            try:
                import openai
            except ImportError as err:  # pragma: no cover - openai is a core dependency
                raise DependencyMissingError("openai", "the LLM client") from err
            if not self.base_url and not self.api_key:
                raise ConfigError(
                    "no LLM endpoint configured: pass base_url=... (e.g. http://localhost:11434/v1 for "
                    "Ollama) or set KGKIT_LLM_BASE_URL / KGKIT_LLM_API_KEY (or OPENAI_API_KEY)"
                )
            # Local servers ignore the key, but the openai package insists on one.
            api = openai.AsyncOpenAI(
                base_url=self.base_url, api_key=self.api_key or "not-needed", timeout=self.timeout, max_retries=0,
            )
            state = _LoopState(api, asyncio.Semaphore(self.max_concurrency))
            self._loops[loop] = state
        return state

    # -- public API --------------------------------------------------------------------------------
    def key_for(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        response_format: Mapping[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        prompt_version: str = "v1",
        cache_key_extra: str = "",
    ) -> str:
        """The cache key of a request (what :meth:`complete` would look up)."""
        return cache_key(
            model=self._require_model(), messages=messages, prompt_version=prompt_version,
            response_format=response_format, temperature=temperature, max_tokens=max_tokens,
            extra=cache_key_extra,
        )

    def is_cached(self, key: str) -> bool:
        return self.cache is not None and key in self.cache

    def forget(self, key: str) -> None:
        """Drop a cached answer (e.g. one that turned out unusable), so the next run asks again."""
        if self.cache is not None and key:
            self.cache.delete(key)

    def estimate(
        self, messages: Sequence[Mapping[str, Any]], *, response_format: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> Usage:
        """Worst-case usage of a request: estimated prompt tokens plus ``max_tokens``."""
        return Usage(estimate_message_tokens(messages, response_format), max_tokens or self.default_max_tokens)

    def complete(self, messages: Sequence[Mapping[str, Any]], **kwargs: Any) -> Completion:
        """Synchronous :meth:`acomplete`."""
        return self.run(self.acomplete(messages, **kwargs))

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run a coroutine that uses this client to completion from synchronous code."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._closing(awaitable))
        # Called from inside an event loop: run on a private loop in a helper thread.
        with concurrent.futures.ThreadPoolExecutor(1) as ex:
            return ex.submit(asyncio.run, self._closing(awaitable)).result()

    async def _closing(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections this client opened on the running event loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        state = self._loops.pop(loop, None)
        if state is not None:
            await state.api.close()

    async def acomplete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        response_format: Mapping[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        prompt_version: str = "v1",
        cache_key_extra: str = "",
        stage: str = "default",
        use_cache: bool = True,
    ) -> Completion:
        """Ask the model; answer from the cache when the same request was answered before.

        Raises:
            BudgetExceededError: before sending a request whose worst case would cross the budget.
            ResponseFormatUnsupportedError: the endpoint rejected ``response_format``.
            LLMError: the request still failed after ``max_retries`` retries, or was refused.
        """
        model = self._require_model()
        key = self.key_for(
            messages, response_format=response_format, temperature=temperature, max_tokens=max_tokens,
            prompt_version=prompt_version, cache_key_extra=cache_key_extra,
        )
        if use_cache and self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                with self._stats_lock:
                    self.stats.stage(stage).cache_hits += 1
                u = hit.get("usage") or {}
                return Completion(
                    str(hit["text"]), Usage(int(u.get("prompt_tokens", 0)), int(u.get("completion_tokens", 0))),
                    True, str(hit.get("model", model)), hit.get("finish_reason"), key,
                )
        state = self._state()
        if use_cache and key in state.inflight:
            # The same request is already on its way (e.g. a boilerplate chunk repeated across documents):
            # share its answer instead of paying twice.
            shared = await asyncio.shield(state.inflight[key])
            with self._stats_lock:
                self.stats.stage(stage).cache_hits += 1
            return replace(shared, cached=True)
        worst = self.estimate(messages, response_format=response_format, max_tokens=max_tokens)
        reservation = self.budget.reserve(worst.prompt_tokens, worst.completion_tokens)
        usage: Usage | None = None
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        if use_cache:
            state.inflight[key] = future
        try:
            completion = await self._call_with_retries(
                model, messages, response_format, temperature, max_tokens, stage, key,
            )
            usage = completion.usage
            future.set_result(completion)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as err:  # handed to concurrent identical requests, then re-raised
            future.set_exception(err)
            future.exception()  # mark retrieved: nobody else may be waiting
            raise
        finally:
            self.budget.settle(reservation, usage)
            if state.inflight.get(key) is future:
                del state.inflight[key]
        if use_cache and self.cache is not None:
            self.cache.put(key, {
                "text": completion.text, "model": completion.model, "finish_reason": completion.finish_reason,
                "usage": {"prompt_tokens": completion.usage.prompt_tokens,
                          "completion_tokens": completion.usage.completion_tokens},
                "created": time.time(),
            })
        return completion

    # -- internals ---------------------------------------------------------------------------------
    async def _call_with_retries(
        self, model: str, messages: Sequence[Mapping[str, Any]], response_format: Mapping[str, Any] | None,
        temperature: float, max_tokens: int | None, stage: str, key: str,
    ) -> Completion:
        import openai

        state = self._state()
        params: dict[str, Any] = {"model": model, "messages": list(messages), "temperature": temperature}
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        if response_format is not None:
            params["response_format"] = dict(response_format)
        last: Exception | None = None
        async with state.semaphore:
            for attempt in range(self.max_retries + 1):
                if attempt:
                    delay = self._retry_delay(attempt, last)
                    with self._stats_lock:
                        self.stats.stage(stage).retries += 1
                    await asyncio.sleep(delay)
                t0 = time.perf_counter()
                try:
                    resp = await state.api.chat.completions.create(**params)
                except (openai.APITimeoutError, openai.APIConnectionError) as err:
                    last = err
                    continue
                except (json.JSONDecodeError, openai.APIResponseValidationError) as err:
                    # status 200 but no JSON: a proxy's login/error page, or the wrong URL
                    self._count_failure(stage)
                    raise LLMError(_not_a_completion(self.base_url, str(getattr(err, "doc", "") or err))) from err
                except openai.APIStatusError as err:
                    if err.status_code in _RETRY_STATUSES:
                        last = err
                        continue
                    self._count_failure(stage)
                    raise self._refused(err, response_format) from err
                finally:
                    with self._stats_lock:
                        self.stats.stage(stage).seconds += time.perf_counter() - t0
                return self._record(resp, messages, stage, key, model)
        self._count_failure(stage)
        raise LLMError(
            f"the LLM endpoint {self.base_url or 'api.openai.com'} still failed after {self.max_retries} "
            f"retries ({type(last).__name__}: {last}); check the server, or raise max_retries / timeout"
        ) from last

    def _count_failure(self, stage: str) -> None:
        with self._stats_lock:
            self.stats.stage(stage).failures += 1

    def _record(self, resp: Any, messages: Sequence[Mapping[str, Any]], stage: str, key: str, model: str) -> Completion:
        if isinstance(resp, (str, bytes)):  # the client hands back non-JSON bodies (e.g. text/html) as text
            self._count_failure(stage)
            raise LLMError(_not_a_completion(self.base_url, resp if isinstance(resp, str) else resp.decode("utf-8", "replace")))
        try:
            choice = resp.choices[0]
            text = choice.message.content or ""
            finish = choice.finish_reason
        except (AttributeError, IndexError, TypeError) as err:
            self._count_failure(stage)
            raise LLMError(f"the endpoint returned no choices ({resp!r:.200}); is it OpenAI-compatible?") from err
        u = getattr(resp, "usage", None)
        if u is not None and getattr(u, "prompt_tokens", None) is not None:
            usage = Usage(int(u.prompt_tokens or 0), int(u.completion_tokens or 0))
        else:  # some local servers omit usage: account an estimate rather than nothing
            usage = Usage(estimate_message_tokens(messages), estimate_tokens(text))
        with self._stats_lock:
            s = self.stats.stage(stage)
            s.calls += 1
            s.prompt_tokens += usage.prompt_tokens
            s.completion_tokens += usage.completion_tokens
            s.cost += self.prices.cost(usage.prompt_tokens, usage.completion_tokens)
        return Completion(text, usage, False, str(getattr(resp, "model", None) or model), finish, key)

    def _refused(self, err: Any, response_format: Mapping[str, Any] | None) -> LLMError:
        status = err.status_code
        msg = str(getattr(err, "message", err))
        if status in (400, 422) and response_format is not None and (
            "response_format" in msg or "json_schema" in msg or "schema" in msg.lower()
        ):
            return ResponseFormatUnsupportedError(
                f"the endpoint rejected response_format {response_format.get('type')!r} ({msg}); use "
                f"structured_output='json_object' or 'none' for this server"
            )
        if status in (401, 403):
            return LLMError(f"the LLM endpoint refused the API key (HTTP {status}): set KGKIT_LLM_API_KEY")
        if status == 404:
            return LLMError(
                f"the LLM endpoint answered 404 ({msg}); check KGKIT_LLM_BASE_URL (it usually ends in /v1) "
                f"and the model name {self.model!r}"
            )
        return LLMError(f"the LLM endpoint refused the request (HTTP {status}): {msg}")

    def _retry_delay(self, attempt: int, err: Exception | None) -> float:
        retry_after = _retry_after_seconds(err)
        if retry_after is not None:
            # Honour the server, plus a little jitter so concurrent callers do not return in lockstep.
            return min(retry_after, self.max_retry_after) * random.uniform(1.0, 1.1)
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def _retry_after_seconds(err: Exception | None) -> float | None:
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def _not_a_completion(base_url: str | None, body: str) -> str:
    kind = "an HTML page" if "<html" in body[:2000].lower() or "<!doctype" in body[:2000].lower() else "a body that is not JSON"
    snippet = " ".join(body.split())[:120]
    return (
        f"the LLM endpoint {base_url or 'api.openai.com'} answered with {kind} instead of a chat completion "
        f"({snippet!r}); check KGKIT_LLM_BASE_URL / base_url (it usually ends in /v1) and any proxy in between"
    )


def default_cache_dir() -> Path:
    """``$KGKIT_LLM_CACHE`` or ``~/.cache/kgkit/llm``."""
    return Path(env_overrides().get("cache_dir") or Path.home() / ".cache" / "kgkit" / "llm")
