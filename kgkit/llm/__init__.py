"""kgkit.llm: an OpenAI-compatible client with retries, a disk cache, accounting and a budget, and the
one seam every LLM stage shares: :func:`resolve_llm_settings` (where endpoint, model, key and cache
come from), :data:`OnError` (``raise | skip | collect``) and :func:`loads_lenient` (parse and repair
a model's JSON answer).

Importing this package does not import ``openai``; the client does on first use.
"""

from kgkit.llm.accounting import Budget, LLMStats, Prices, StageStats, Usage, estimate_message_tokens, estimate_tokens
from kgkit.llm.cache import ResponseCache, cache_key
from kgkit.llm.client import Completion, LLMClient, ResponseFormatUnsupportedError, default_cache_dir
from kgkit.llm.json_repair import OutputParseError, loads_lenient
from kgkit.llm.settings import OnError, check_on_error, resolve_llm_settings

__all__ = [
    "LLMClient",
    "Completion",
    "ResponseFormatUnsupportedError",
    "Usage",
    "LLMStats",
    "StageStats",
    "Prices",
    "Budget",
    "ResponseCache",
    "cache_key",
    "estimate_tokens",
    "estimate_message_tokens",
    "default_cache_dir",
    "resolve_llm_settings",
    "OnError",
    "check_on_error",
    "loads_lenient",
    "OutputParseError",
]
