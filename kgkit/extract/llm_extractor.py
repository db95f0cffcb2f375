"""The LLM extractor: ontology-guided, structured-output extraction over an OpenAI-compatible endpoint.

Per chunk: ask (with a JSON schema generated from the ontology) -> parse -> repair -> one bounded
re-ask. A chunk that still fails comes back as ``ChunkExtraction(chunk, error=reason)`` so the ingest
run quarantines it (``kgkit retry-failed`` re-runs it); its unusable answers are dropped from the cache
so the retry really asks again. Optional gleaning passes ask for facts the first answer missed.

Every answer is cached on disk (see :mod:`kgkit.llm.cache`), so re-running an ingest costs no calls,
and a run stopped by the budget continues later without redoing finished chunks.

Example::

    ex = LLMExtractor(ontology="default", model="gpt-4o-mini", cache_dir=".kgkit/llm-cache")
    ex = LLMExtractor(ontology="default", settings=LLMExtractorSettings(model="gpt-4o-mini", gleaning=1))
    ex.estimate(chunks)          # {'calls': ..., 'tokens': ..., 'cost': ...} before spending anything
    results = ex.extract(chunks)
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from kgkit.errors import BudgetExceededError, ConfigError, LLMError
from kgkit.extract.base import ChunkExtraction
from kgkit.llm.json_repair import OutputParseError, loads_lenient
from kgkit.extract.llm_facts import FactPolicy, convert_facts, facts_from_answer
from kgkit.extract.llm_prompts import (
    PROMPT_VERSION,
    StructuredOutput,
    extraction_messages,
    gleaning_messages,
    reask_messages,
    response_format,
)
from kgkit.extract.llm_settings import LLMExtractorSettings
from kgkit.llm.client import Completion, LLMClient, ResponseFormatUnsupportedError
from kgkit.llm.settings import OnError
from kgkit.ontology import Ontology, load_ontology
from kgkit.types import Chunk, stable_hash

__all__ = ["LLMExtractor", "LLMExtractorSettings"]

log = logging.getLogger(__name__)
_FALLBACK: dict[str, StructuredOutput] = {"json_schema": "json_object", "json_object": "none"}


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _without_control_chars(value: Any) -> Any:
    if isinstance(value, str):
        return _CONTROL_CHARS.sub("", value)
    if isinstance(value, list):
        return [_without_control_chars(v) for v in value]
    if isinstance(value, dict):
        return {_without_control_chars(k): _without_control_chars(v) for k, v in value.items()}
    return value


def _fact_key(f: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(f.get("subject")), str(f.get("predicate")), str(f.get("object")))


class _ChunkFailed(Exception):
    """Internal: this chunk's answer is unusable even after repair and a re-ask."""


class LLMExtractor:
    """Extracts ontology-typed triples with a chat model.

    Args:
        ontology: an :class:`Ontology`, a schema name or a YAML path (default: ``default``).
        client: an :class:`LLMClient`; when omitted one is built from the settings' client part
            (``base_url``, ``api_key``, ``model``, ``cache_dir``, ``budget_tokens``, ``client_kwargs``).
        settings: an :class:`~kgkit.extract.llm_settings.LLMExtractorSettings` (or a mapping of its fields).
        policy: scoring/filtering details (:class:`FactPolicy`); the settings' ``off_ontology`` and
            ``unspanned`` override it.
        **kwargs: settings fields given one by one (what a pipeline's ``extractor`` section holds);
            they override ``settings``. :class:`BudgetExceededError` always propagates, whatever ``on_error``.
    """

    name = "llm"

    def __init__(
        self,
        ontology: Ontology | str | os.PathLike[str] | None = None,
        client: LLMClient | None = None,
        *,
        settings: LLMExtractorSettings | Mapping[str, Any] | None = None,
        policy: FactPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(settings, LLMExtractorSettings) and not kwargs:
            cfg = settings
        else:
            given = settings.model_dump(exclude_unset=True) if isinstance(settings, LLMExtractorSettings) else dict(settings or {})
            cfg = LLMExtractorSettings.from_kwargs({**given, **kwargs})
        if client is None:
            client = LLMClient(**cfg.client_settings())
        else:
            if cfg.names_a_client():
                raise ConfigError("pass either client=... or the client settings (base_url, model, ...), not both")
            if cfg.budget_tokens is not None:  # e.g. `kgkit ingest --budget` on a pipeline that built the client
                client.budget.tokens = cfg.budget_tokens
        self.settings = cfg
        self.client = client
        self._ontology_ref = ontology
        self._ontology: Ontology | None = ontology if isinstance(ontology, Ontology) else None
        self.on_error: OnError = cfg.on_error
        self.gleaning = cfg.gleaning
        base = policy or FactPolicy()
        self.policy = FactPolicy(cfg.off_ontology, cfg.unspanned, base.base_confidence, base.flagged_confidence,
                                 base.unspanned_confidence, base.fuzzy_threshold)
        self.structured_output: StructuredOutput = cfg.structured_output
        self.temperature = cfg.temperature
        self.max_tokens = cfg.max_tokens
        self.reask = cfg.reask
        self.max_continuations = cfg.max_continuations
        self.source = cfg.source
        # The ingest ledger re-extracts documents when the version changes: include every setting that
        # changes which facts come out (the answer cache keeps a re-extraction cheap).
        settings_key = (self.policy, cfg.gleaning, cfg.max_tokens, cfg.temperature, cfg.reask, cfg.max_continuations)
        self.version = f"{PROMPT_VERSION}+{client.model or 'unset'}+{stable_hash(repr(settings_key), length=8)}"

    # -- protocol ----------------------------------------------------------------------------------
    @property
    def ontology(self) -> Ontology:
        if self._ontology is None:
            ref = self._ontology_ref
            assert not isinstance(ref, Ontology)  # an Ontology was stored in _ontology by the constructor
            self._ontology = load_ontology(Path(ref) if ref is not None and not isinstance(ref, str) else ref)
        return self._ontology

    @property
    def closed(self) -> bool:
        """Whether the schema restricts names to the ontology (it does unless off-ontology facts are flagged)."""
        return self.policy.off_ontology == "drop"

    def warm_up(self) -> None:
        """Load the ontology and check the client's configuration (no request is sent)."""
        _ = self.ontology
        self.client._require_model()

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        """Extract every chunk concurrently (bounded by the client's ``max_concurrency``).

        Raises:
            BudgetExceededError: a call would cross the budget; chunks finished so far are cached.
            LLMError: only with ``on_error="raise"``.
        """
        if not chunks:
            return []
        self.warm_up()
        return self.client.run(self.aextract(chunks))

    async def aextract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        results = await asyncio.gather(*(self._extract_chunk(c) for c in chunks), return_exceptions=True)
        out: list[ChunkExtraction] = []
        budget_error: BudgetExceededError | None = None
        for r in results:
            if isinstance(r, BudgetExceededError):
                budget_error = budget_error or r
            elif isinstance(r, BaseException):
                raise r
            else:
                out.append(r)
        if budget_error is not None:
            # Let every other chunk finish first (their answers are cached), then stop the run.
            raise budget_error
        return out

    def estimate(self, chunks: Sequence[Chunk]) -> dict[str, Any]:
        """Upper bounds of what extracting ``chunks`` would cost, without calling the endpoint.

        Cached chunks count as free. ``completion_tokens`` assumes every call uses ``max_tokens``;
        ``calls`` counts one call per uncached chunk plus the gleaning passes.
        """
        calls = prompt = completion = cached = 0
        rf = self._response_format(self.structured_output)
        for c in chunks:
            messages = extraction_messages(self.ontology, c.text, closed=self.closed)
            key = self.client.key_for(messages, response_format=rf, temperature=self.temperature,
                                      max_tokens=self.max_tokens, prompt_version=PROMPT_VERSION)
            if self.client.is_cached(key):
                cached += 1
                continue
            worst = self.client.estimate(messages, response_format=rf, max_tokens=self.max_tokens)
            passes = 1 + self.gleaning
            calls += passes
            # Gleaning passes resend the prompt plus the previous answer.
            prompt += passes * worst.prompt_tokens + self.gleaning * worst.completion_tokens
            completion += passes * worst.completion_tokens
        cost = self.client.prices.cost(prompt, completion)
        return {
            "chunks": len(chunks), "cached_chunks": cached, "calls": calls, "prompt_tokens": prompt,
            "completion_tokens": completion, "tokens": prompt + completion, "cost": cost,
        }

    # -- one chunk ---------------------------------------------------------------------------------
    def _response_format(self, mode: StructuredOutput) -> dict[str, Any] | None:
        return response_format(self.ontology, mode, closed=self.closed)

    async def _ask(self, messages: list[dict[str, str]], stage: str) -> Completion:
        while True:
            mode = self.structured_output
            try:
                return await self.client.acomplete(
                    messages, response_format=self._response_format(mode), temperature=self.temperature,
                    max_tokens=self.max_tokens, prompt_version=PROMPT_VERSION, stage=stage,
                )
            except ResponseFormatUnsupportedError:
                if mode not in _FALLBACK:
                    raise
                log.warning("endpoint rejected response_format %s; falling back to %s", mode, _FALLBACK[mode])
                self.structured_output = _FALLBACK[mode]

    async def _ask_for_facts(self, messages: list[dict[str, str]], stage: str, keys: list[str]) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Ask, parse, repair, re-ask once. Raises _ChunkFailed with the reason."""
        counts: dict[str, int] = {}
        answer = await self._ask(messages, stage)
        keys.append(answer.key)
        try:
            facts = self._parse(answer)
        except OutputParseError as err:
            if not self.reask:
                raise _ChunkFailed(f"unusable model output ({err}); re-ask disabled") from err
            counts["reasked"] = 1
            second = await self._ask(reask_messages(messages, answer.text, str(err)), "reask")
            keys.append(second.key)
            try:
                facts, answer = self._parse(second), second
            except OutputParseError as err2:
                raise _ChunkFailed(f"unusable model output after repair and one re-ask: {err2}") from err2
        return await self._continue(messages, answer, facts, counts, keys), counts

    async def _continue(self, messages: list[dict[str, str]], answer: Completion, facts: list[dict[str, Any]],
                        counts: dict[str, int], keys: list[str]) -> list[dict[str, Any]]:
        """An answer cut off by ``max_tokens`` kept its whole facts; ask for the rest (bounded)."""
        for _ in range(self.max_continuations):
            if answer.finish_reason != "length":
                break
            counts["continued"] = counts.get("continued", 0) + 1
            answer = await self._ask(gleaning_messages(messages, facts), "continue")
            keys.append(answer.key)
            try:
                more = self._parse(answer)
            except OutputParseError as err:
                # Keeping a silently incomplete chunk would hide lost facts: quarantine it instead.
                raise _ChunkFailed(f"answer cut off at max_tokens and its continuation unusable: {err}") from err
            known = {_fact_key(f) for f in facts}
            facts = facts + [f for f in more if _fact_key(f) not in known]
        if answer.finish_reason == "length":
            counts["truncated"] = 1
        return facts

    def _parse(self, answer: Completion) -> list[dict[str, Any]]:
        # Control characters (a NUL from a broken server, \u0000 escapes) are never part of a name or
        # evidence, break JSON parsing and later the stores: they go before parsing and after decoding.
        value, repaired = loads_lenient(_CONTROL_CHARS.sub("", answer.text))
        value = _without_control_chars(value)
        facts = facts_from_answer(value)
        if facts is None:
            raise OutputParseError(f"answer is JSON but not {{\"facts\": [...]}}: {answer.text[:80]!r}")
        if repaired and facts:
            # The last fact of a cut-off answer lost keys the complete ones have: it is partial, drop it.
            keys = set(facts[0])
            facts = [f for f in facts if keys <= set(f)]
        if repaired and not any(f.get("subject") and f.get("object") for f in facts):
            # A repaired answer that yields nothing usable was cut off too early: treat as a failure.
            raise OutputParseError("answer was truncated before the first complete fact")
        return facts

    async def _extract_chunk(self, chunk: Chunk) -> ChunkExtraction:
        keys: list[str] = []
        base = extraction_messages(self.ontology, chunk.text, closed=self.closed)
        try:
            facts, counts = await self._ask_for_facts(base, "extract", keys)
            for _ in range(self.gleaning):
                more, _c = await self._ask_for_facts(gleaning_messages(base, facts), "glean", keys)
                known = {_fact_key(f) for f in facts}
                new = [f for f in more if _fact_key(f) not in known]
                counts["gleaned"] = counts.get("gleaned", 0) + len(new)
                if not new:
                    break
                facts = facts + new
        except BudgetExceededError:
            raise
        except (_ChunkFailed, LLMError) as err:
            return self._failed(chunk, err, keys)
        try:
            result = convert_facts(facts, chunk, self.ontology, self.policy, extractor=self.name,
                                   version=self.version, source=self.source)
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            # an answer that parses but cannot become triples must not stay cached (reruns would fail too)
            return self._failed(chunk, _ChunkFailed(f"model answer could not be turned into facts: {err!r}"), keys)
        stats = {k: float(v) for k, v in {**counts, **result.counts}.items()}
        stats["facts_raw"] = float(len(facts))
        return ChunkExtraction(chunk, tuple(result.triples), tuple(result.mentions), None, stats)

    def _failed(self, chunk: Chunk, err: Exception, keys: list[str]) -> ChunkExtraction:
        # Unusable answers must not be served from the cache on retry-failed.
        for k in keys:
            self.client.forget(k)
        reason = str(err) if isinstance(err, _ChunkFailed) else f"LLM call failed: {err}"
        if self.on_error == "raise":
            if isinstance(err, LLMError):
                raise err
            raise LLMError(f"chunk {chunk.id}: {reason}") from err
        if self.on_error == "skip":
            log.warning("skipping chunk %s: %s", chunk.id, reason)
            return ChunkExtraction(chunk, stats={"skipped": 1.0})
        return ChunkExtraction(chunk, error=reason, stats={"failed": 1.0})
