"""The cxengine.testing example in docs/plugins.md runs, as written, against a real plugin.

The example's plugin (`cxengine_my_helpdesk`) lives in tests/plugins/kit_example/; the
test module shown in the docs is cut out of the page and run by pytest in a child
process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_PLUGIN = Path(__file__).resolve().parent / "plugins" / "kit_example"


def doc_example() -> str:
    page = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = page.split("## Testing with `cxengine.testing`", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "docs/plugins.md: the cxengine.testing section has no python example"
    return match.group(1)


def test_the_documented_test_module_passes(tmp_path: Path) -> None:
    (tmp_path / "test_doc_example.py").write_text(doc_example(), encoding="utf-8")
    # An installed cxengine brings the fixtures through its pytest11 entry point; a
    # checkout on PYTHONPATH may have no metadata, so the conftest imports them too.
    (tmp_path / "conftest.py").write_text(
        "from cxengine.testing import cx_project, cx_tmp  # noqa: F401\n", encoding="utf-8"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(EXAMPLE_PLUGIN), str(REPO)]))
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_doc_example.py"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "4 passed" in proc.stdout
