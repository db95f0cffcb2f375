"""Errors of the fusion stage."""

from __future__ import annotations

from kgkit.errors import KgkitError

__all__ = ["FusionError", "NothingToUndoError"]


class FusionError(KgkitError):
    """Fusion could not run or could not be undone."""


class NothingToUndoError(FusionError):
    """There is no (matching) fusion run left to undo."""
