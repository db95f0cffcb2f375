"""The one LLM seam: where a client's endpoint, model, key and cache come from, and what a failed call does.

* :func:`resolve_llm_settings` is the only place that reads ``KGKIT_LLM_*`` / ``OPENAI_*``. Every
  setting has the same precedence: explicit (command-line option, Python argument) >
  ``KGKIT_LLM_*`` > the pipeline file > ``OPENAI_*`` (which only fill what nothing else set). A
  pipeline file names a sensible default endpoint; the environment says which one this machine uses.
* :data:`OnError` is the one ``on_error`` vocabulary of every LLM caller (extractor, labeler, reasoner
  answerer, fusion adjudicator), checked by :func:`check_on_error`:

  - ``raise``: the error propagates and stops the caller;
  - ``skip``: the item gets an empty result, with a logged warning;
  - ``collect``: the item gets an empty result and the failure is kept for the report (the extractor's
    quarantine, ``LLMAnswer.error``, the adjudicator's ``failures``).

Parsing and repairing a model's JSON answer is :func:`kgkit.llm.json_repair.loads_lenient`, for every caller.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Literal, Mapping

from kgkit.errors import ConfigError

__all__ = ["ENV_OVERRIDES", "OPENAI_FALLBACKS", "OnError", "ON_ERROR_CHOICES", "check_on_error", "env_overrides",
           "resolve_llm_settings"]

#: kgkit's own LLM variables and the client setting each one overrides (over a pipeline file too).
ENV_OVERRIDES: dict[str, str] = {
    "KGKIT_LLM_BASE_URL": "base_url",
    "KGKIT_LLM_API_KEY": "api_key",
    "KGKIT_LLM_MODEL": "model",
    "KGKIT_LLM_CACHE": "cache_dir",
}
#: The OpenAI SDK's variables: they only fill a setting nothing else gave.
OPENAI_FALLBACKS: dict[str, str] = {
    "OPENAI_BASE_URL": "base_url",
    "OPENAI_API_KEY": "api_key",
    "OPENAI_MODEL": "model",
}

OnError = Literal["raise", "skip", "collect"]
ON_ERROR_CHOICES: tuple[str, ...] = ("raise", "skip", "collect")
# Spellings of other tools people write out of habit: accepted with a DeprecationWarning.
_OLD_ON_ERROR: dict[str, OnError] = {
    "error": "raise", "fail": "raise", "strict": "raise",
    "ignore": "skip", "warn": "skip", "drop": "skip",
    "quarantine": "collect", "report": "collect",
}


def check_on_error(value: str, *, allowed: tuple[str, ...] = ON_ERROR_CHOICES, where: str = "on_error") -> OnError:
    """``value`` as one of ``raise | skip | collect``; an old spelling is mapped with a DeprecationWarning.

    >>> check_on_error("collect")
    'collect'
    >>> check_on_error("often")
    Traceback (most recent call last):
    ...
    kgkit.errors.ConfigError: on_error must be one of raise, skip, collect; got 'often'
    """
    v = str(value).strip().lower()
    if v in _OLD_ON_ERROR:
        new = _OLD_ON_ERROR[v]
        warnings.warn(f"{where}={value!r} is an old spelling; write {where}={new!r} (raise | skip | collect)",
                      DeprecationWarning, stacklevel=3)
        v = new
    if v not in allowed:
        raise ConfigError(f"{where} must be one of {', '.join(allowed)}; got {value!r}")
    return v  # type: ignore[return-value]


def env_overrides(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The client settings given by set ``KGKIT_LLM_*`` variables (blank ones count as unset)."""
    env = os.environ if environ is None else environ
    return {key: env[var].strip() for var, key in ENV_OVERRIDES.items() if env.get(var, "").strip()}


def resolve_llm_settings(
    *,
    explicit: Mapping[str, Any] | None = None,
    pipeline: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Merge the client settings of every source, with one precedence for every key.

    explicit > ``KGKIT_LLM_*`` > pipeline > ``OPENAI_*``. Keys other than the endpoint, key, model and
    cache pass through (explicit over pipeline); ``None`` (and an empty explicit string) counts as "not given".

    >>> env = {"KGKIT_LLM_MODEL": "qwen", "OPENAI_API_KEY": "sk-1"}
    >>> s = resolve_llm_settings(explicit={"base_url": None}, pipeline={"model": "llama", "base_url": "http://h/v1"},
    ...                          environ=env)
    >>> s["model"], s["base_url"], s["api_key"]
    ('qwen', 'http://h/v1', 'sk-1')
    """
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {k: v for k, v in (pipeline or {}).items() if v is not None}
    out.update(env_overrides(env))
    out.update({k: v for k, v in (explicit or {}).items() if v not in (None, "")})
    for var, key in OPENAI_FALLBACKS.items():
        if out.get(key) is None and env.get(var, "").strip():
            out[key] = env[var].strip()
    return out
