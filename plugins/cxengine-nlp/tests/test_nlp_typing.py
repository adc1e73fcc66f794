"""The plugin stays fully typed: mypy, as configured in its pyproject.toml (strict), finds nothing.

It is checked against cxengine's own types, wherever cxengine is installed (a plugin is
built against the published API, and a wrong call is a bug mypy sees before a user does).
Run here so a change on either side that breaks the contract fails CI.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_errors_in_the_plugin() -> None:
    pytest.importorskip("mypy", reason="mypy is a test dependency: pip install -e '.[test]'")
    import cxengine

    # An editable install is found through an import hook mypy does not follow: point
    # it at the folder that holds the cxengine package actually imported.
    core = Path(cxengine.__file__).resolve().parent.parent
    key = hashlib.sha1(f"{PLUGIN}|{core}".encode()).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"cxengine-nlp-mypy-{key}"
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache), "cxengine_nlp"],
        cwd=PLUGIN,
        env={**os.environ, "MYPYPATH": str(core)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
