"""Docstring examples that show results are run: every kgkit module's doctests must pass."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import kgkit

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(kgkit.__path__, "kgkit.")
    if not m.name.endswith("__main__")
)
WITH_EXAMPLES = [name for name in MODULES
                 if ">>>" in (importlib.util.find_spec(name).loader.get_source(name) or "")]  # type: ignore[union-attr]


def test_modules_with_examples_are_found():
    assert "kgkit.fuse.policies" in WITH_EXAMPLES and "kgkit.reason.reasoner" in WITH_EXAMPLES


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} fail (run: python -m doctest -v)"
