"""The core package stays fully typed: mypy, as configured in pyproject.toml, finds nothing.

A plugin author reads cxengine's types (py.typed ships with the package), so a wrong
annotation is a wrong contract. Run here so a change that breaks them fails CI.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_errors_in_cxengine() -> None:
    pytest.importorskip("mypy", reason="mypy is a test dependency: pip install -e '.[test]'")
    # mypy's incremental cache, kept between runs outside the checkout: a full check
    # (third-party stubs included) takes minutes on a loaded 2-core machine, an
    # incremental one seconds; mypy re-checks whatever changed, so no result is stale.
    key = hashlib.sha1(str(REPO).encode()).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"cxengine-mypy-{key}"
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache), "cxengine"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
