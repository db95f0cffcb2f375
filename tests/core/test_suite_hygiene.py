"""The suite itself: no test reads a hard-coded datasets path, and data tests skip with a reason."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
# An absolute path into a datasets folder, e.g. "/work/shared/datasets/..." or "/home/me/datasets".
_ABSOLUTE_DATA = re.compile(r"""["'](/|[A-Za-z]:\\)[^"'\n]*(shared|datasets)[^"'\n]*["']""")


def test_no_test_hard_codes_an_absolute_datasets_path():
    offenders = []
    for path in TESTS.rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _ABSOLUTE_DATA.search(line) and path.name != Path(__file__).name:
                offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert not offenders, "use the datasets_dir / fixture_data fixtures instead:\n" + "\n".join(offenders)


def test_the_pattern_catches_a_hard_coded_path():
    assert _ABSOLUTE_DATA.search('open("/work/shared/datasets/kge/wn18rr/train.txt")')
    assert not _ABSOLUTE_DATA.search('fixture_data / "fusion" / "er"')


def test_data_tests_skip_with_a_reason_naming_kgkit_data(tmp_path):
    env = {**os.environ, "KGKIT_DATA": str(tmp_path / "no-datasets-here"), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/embed/test_datasets.py::test_load_wn18rr_with_checksums"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 skipped" in proc.stdout and "set KGKIT_DATA" in proc.stdout


@pytest.mark.data
def test_fixture_excerpts_are_cut_from_the_real_files(datasets_dir, fixture_data):
    """Every excerpt line occurs in the published file it stands for (where the datasets folder has it)."""
    checked = 0
    for path in sorted(fixture_data.rglob("*")):
        rel = path.relative_to(fixture_data)
        real = datasets_dir / rel
        if not path.is_file() or path.name == "README.md" or not real.is_file():
            continue  # Text2KGBench test/ground_truth are not in the shared folder
        real_lines = set(real.read_text(encoding="utf-8", errors="replace").splitlines())
        missing = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
                   if line not in real_lines]
        assert not missing, f"{rel}: {len(missing)} line(s) not in {real}, e.g. {missing[0][:80]!r}"
        checked += 1
    if checked < 8:
        pytest.fail(f"only {checked} excerpt files had a real counterpart under {datasets_dir}")
