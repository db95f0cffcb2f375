"""kgkit's exception tree. Every message says what went wrong and how to fix it."""

from __future__ import annotations

__all__ = [
    "KgkitError",
    "ConfigError",
    "OntologyError",
    "IngestError",
    "DocumentReadError",
    "ExtractionError",
    "StoreError",
    "StoreUnavailableError",
    "UnsafeIdentifierError",
    "ReadOnlyQueryError",
    "QueryBudgetError",
    "LLMError",
    "BudgetExceededError",
    "DependencyMissingError",
]


class KgkitError(Exception):
    """Base class of every error kgkit raises on purpose."""


class ConfigError(KgkitError):
    """A pipeline, stage or CLI option is wrong."""


class OntologyError(ConfigError):
    """An ontology file is malformed or refers to unknown types."""


class IngestError(KgkitError):
    """Walking or reading the input folder failed."""


class DocumentReadError(IngestError):
    """One file could not be read or decoded; the run reports it and continues."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ExtractionError(KgkitError):
    """An extractor failed on a chunk."""


class StoreError(KgkitError):
    """A graph store operation failed."""


class StoreUnavailableError(StoreError):
    """The store's server could not be started or reached."""


class UnsafeIdentifierError(StoreError, ValueError):
    """A label or relationship type is not a safe identifier and will not be put into Cypher."""


class ReadOnlyQueryError(StoreError):
    """A query tried to write while running in read-only mode."""


class QueryBudgetError(StoreError):
    """A query ran past (or would run past) the time or memory budget of read-only queries."""


class LLMError(KgkitError):
    """Calling the language model failed after retries."""


class BudgetExceededError(LLMError):
    """The next call would cross the configured token/cost budget."""


class DependencyMissingError(KgkitError, ImportError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, purpose: str, extra: str | None = None) -> None:
        fix = f"pip install 'kgkit[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{purpose} needs the '{package}' package; install it with: {fix}")
