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

    def __init__(self, path: str, reason: str, *, kind: str = "unreadable", fix: str | None = None) -> None:
        super().__init__(f"{path}: {reason}" + (f"; {fix}" if fix else ""))
        self.path = path
        self.reason = reason
        self.kind = kind  # a short category for counts: binary, too_large, encrypted_pdf, not_regular_file, ...
        self.fix = fix

    @property
    def explanation(self) -> str:
        """The reason and, when known, the fix, in one line."""
        return f"{self.reason}; {self.fix}" if self.fix else self.reason


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
