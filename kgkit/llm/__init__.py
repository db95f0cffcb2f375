"""kgkit.llm: an OpenAI-compatible client with retries, a disk cache, accounting and a budget.

Importing this package does not import ``openai``; the client does on first use.
"""

from kgkit.llm.accounting import Budget, LLMStats, Prices, StageStats, Usage, estimate_message_tokens, estimate_tokens
from kgkit.llm.cache import ResponseCache, cache_key
from kgkit.llm.client import Completion, LLMClient, ResponseFormatUnsupportedError, default_cache_dir

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
]
