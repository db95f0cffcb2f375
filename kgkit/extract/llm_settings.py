"""The LLM extractor's settings as one typed object, built the same way from YAML, CLI and Python.

The ``extractor:`` section of a pipeline file (less ``name``) is exactly these fields::

    extractor: {name: llm, model: llama3.1:8b, base_url: http://localhost:11434/v1, gleaning: 1, on_error: collect}

>>> s = LLMExtractorSettings.from_kwargs({"model": "m", "gleaning": 1})
>>> s.gleaning, s.on_error, s.client_settings()["model"]
(1, 'collect', 'm')
>>> LLMExtractorSettings.from_kwargs({"gleaning": -1})
Traceback (most recent call last):
...
kgkit.errors.ConfigError: invalid extractor settings:
  extractor.gleaning: Input should be greater than or equal to 0 (got -1); see pipelines/default.yaml for a valid example
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kgkit.config import validation_error
from kgkit.extract.llm_prompts import StructuredOutput
from kgkit.llm.settings import OnError, check_on_error

__all__ = ["LLMExtractorSettings"]


class LLMExtractorSettings(BaseModel):
    """Every setting of :class:`~kgkit.extract.llm_extractor.LLMExtractor`.

    Client (used when no ``client`` is passed; ``KGKIT_LLM_*`` / ``OPENAI_*`` fill gaps, see
    :func:`kgkit.llm.settings.resolve_llm_settings`):
        base_url, api_key, model: the OpenAI-compatible endpoint.
        cache_dir: answer cache; ``"auto"`` = ``$KGKIT_LLM_CACHE`` or ``~/.cache/kgkit/llm``, None = off.
        budget_tokens: hard token limit for the client.
        client_kwargs: any other :class:`kgkit.llm.LLMClient` keyword arguments (max_concurrency, timeout, ...).

    Extraction:
        on_error: ``raise | skip | collect`` for a chunk that fails (collect: it is quarantined).
        gleaning: extra passes asking for missed facts (0 = none).
        off_ontology: ``"drop"`` or ``"flag"`` facts outside the ontology (flagging also opens the schema).
        unspanned: ``"keep"`` (span None, lower confidence) or ``"drop"`` facts whose evidence is not found.
        structured_output: ``json_schema`` (strict), ``json_object`` (JSON mode) or ``none``; falls back
            automatically when the endpoint rejects it.
        temperature, max_tokens: sampling; ``max_tokens`` is also what the budget reserves per call.
        reask: one re-ask when an answer cannot be parsed or repaired.
        max_continuations: follow-up calls for an answer cut off by ``max_tokens``.
        source: the publisher recorded in provenance (default: the document).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    base_url: str | None = None
    api_key: str | None = None
    model: str | None = None
    cache_dir: str | Path | None = "auto"
    budget_tokens: int | None = Field(default=None, ge=0)
    client_kwargs: dict[str, Any] = Field(default_factory=dict)

    on_error: OnError = "collect"
    gleaning: int = Field(0, ge=0)
    off_ontology: Literal["drop", "flag"] = "drop"
    unspanned: Literal["keep", "drop"] = "keep"
    structured_output: StructuredOutput = "json_schema"
    temperature: float = Field(0.0, ge=0.0)
    max_tokens: int = Field(2048, ge=1)
    reask: bool = True
    max_continuations: int = Field(2, ge=0)
    source: str | None = None

    @field_validator("on_error", mode="before")
    @classmethod
    def _on_error(cls, v: Any) -> Any:
        return check_on_error(v, where="extractor.on_error") if isinstance(v, str) else v

    @field_validator("cache_dir", mode="before")
    @classmethod
    def _cache_dir(cls, v: Any) -> Any:
        return str(v) if hasattr(v, "__fspath__") else v

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any], *, source: str = "") -> "LLMExtractorSettings":
        """Validate keyword arguments (a pipeline's ``extractor`` section less ``name``).

        Raises:
            ConfigError: naming ``extractor.<key>``, what is wrong and the fix.
        """
        try:
            return cls.model_validate(dict(kwargs))
        except ValidationError as err:
            raise validation_error(err, source, prefix="extractor.",
                                   allowed=lambda loc: sorted(cls.model_fields)) from None

    def client_settings(self) -> dict[str, Any]:
        """Keyword arguments for :class:`kgkit.llm.LLMClient` (``cache_dir="auto"`` resolved)."""
        from kgkit.llm.client import default_cache_dir

        kw: dict[str, Any] = dict(self.client_kwargs)
        kw.update({k: v for k, v in (("base_url", self.base_url), ("api_key", self.api_key), ("model", self.model)) if v})
        cache = default_cache_dir() if self.cache_dir == "auto" else self.cache_dir
        if cache is not None:
            kw.setdefault("cache_dir", cache)
        if self.budget_tokens is not None:
            kw["budget_tokens"] = self.budget_tokens
        return kw

    def names_a_client(self) -> bool:
        return bool(self.base_url or self.api_key or self.model or self.client_kwargs)
