"""Shared fixtures: small projects written to tmp_path, and faked plugin entry points."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import settings

# The fixtures plugin authors get through the pytest11 entry point; imported here so
# the suite has them even when the installed cxengine predates the entry point.
from cxengine.testing import cx_project, cx_tmp  # noqa: F401
from tests.project_files import ProjectFactory, write

# Property tests are deterministic by default: the same examples on every run, so a
# red CI is reproducible and never noise. `HYPOTHESIS_PROFILE=explore` searches anew
# (random seeds, more examples) when hunting for new failures on purpose.
settings.register_profile("cxengine", derandomize=True, database=None)
settings.register_profile("explore", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "cxengine"))

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
PLUGIN_DIR = Path(__file__).resolve().parent / "plugins"

needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason="../shared/data is not beside this checkout"
)


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """Write cxengine.yaml, data files and specs; return the config path.

    `data` maps relative file names to their text, `specs` maps spec file names to
    YAML text; `datasets` is the YAML text of the `datasets:` block.
    """

    def factory(datasets: str, specs: dict[str, str], data: dict[str, str] | None = None) -> Path:
        for name, text in (data or {}).items():
            write(tmp_path / name, text)
        for name, text in specs.items():
            write(tmp_path / "metric_specs" / name, text)
        body = "database: cx.db\nmetrics: [metric_specs]\ndatasets:\n" + textwrap.indent(
            textwrap.dedent(datasets).strip(), "  "
        )
        return write(tmp_path / "cxengine.yaml", body + "\n")

    return factory


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Pretend packages installed `cxengine` entry points (as pluggy's own tests do)."""
    added: list[metadata.EntryPoint] = []
    real = metadata.entry_points
    monkeypatch.syspath_prepend(str(PLUGIN_DIR / "cxengine_example_source"))
    monkeypatch.syspath_prepend(str(PLUGIN_DIR / "broken_plugin"))

    def entry_points(**params: str) -> metadata.EntryPoints:
        if params.get("group") == "cxengine":
            return metadata.EntryPoints(added)
        return real(**params)

    monkeypatch.setattr("cxengine.plugins.metadata.entry_points", entry_points)

    def add(name: str, value: str) -> None:
        added.append(metadata.EntryPoint(name=name, value=value, group="cxengine"))

    yield add
    for mod in ("cxengine_example_source", "cxengine_broken_plugin", "cxengine_broken_hooks"):
        sys.modules.pop(mod, None)
