"""The core package stays fully typed: mypy, as configured in pyproject.toml, finds nothing.

A plugin author reads cxengine's types (py.typed ships with the package), so a wrong
annotation is a wrong contract. Run here so a change that breaks them fails CI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_errors_in_cxengine(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy is a test dependency: pip install -e '.[test]'")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), "cxengine"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
