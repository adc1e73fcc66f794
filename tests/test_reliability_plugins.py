"""Source plugins that misbehave: the run fails (or goes on) with a message naming the
plugin, the results of earlier runs stay exactly as they were, and a plugin that
yields ten million rows lazily is streamed in bounded memory.

The plugins are registered with `get_plugin_manager(extra=...)`, the same hooks an
installed package's entry point provides.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from reliability_project import integrity, make_survey_project, stored_runs, stored_values

from cxengine import hookimpl
from cxengine.config import load_config
from cxengine.errors import PluginError
from cxengine.interfaces import SourceContext, SourceData
from cxengine.plugins import Registry, get_plugin_manager
from cxengine.runner import run_project


class FlakyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: str
    rows: int = 100


def flaky_rows(mode: str, n: int) -> Iterator[Any]:
    for i in range(n):
        if mode == "raise_midway" and i == n // 2:
            raise ConnectionResetError("helpdesk API closed the connection")
        if mode == "not_mappings" and i == 3:
            yield ["t4", 5]
            continue
        score: Any = i % 5 + 1
        if mode == "odd_values" and i % 10 == 0:
            score = {"nested": [score]} if i % 20 else object()
        yield {"ticket": f"t{i}", "score": score}


class FlakySource:
    name = "flaky_helpdesk"
    description = "a helpdesk API that misbehaves on request"
    options_model = FlakyOptions

    def open(self, context: SourceContext) -> SourceData:
        opts = FlakyOptions.model_validate(context.options)
        if opts.mode == "wrong_return":
            return {"rows": []}  # type: ignore[return-value]
        return SourceData(rows=flaky_rows(opts.mode, opts.rows), origin="helpdesk API")


class FlakyPlugin:
    @hookimpl
    def register_sources(self, register: Callable[..., None]) -> None:
        register(FlakySource())


def project_with_flaky(root: Path, mode: str) -> Path:
    """The survey project plus a `helpdesk` dataset read through the flaky plugin."""
    make_survey_project(root)
    config = root / "cxengine.yaml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + textwrap.indent(
            "helpdesk:\n  source: flaky_helpdesk\n  mode: MODE\n"
            "  fields: {ticket: string, score: integer}\n".replace("MODE", mode),
            "  ",
        ),
        encoding="utf-8",
    )
    (root / "metric_specs" / "ticket_csat.yaml").write_text(
        "name: ticket_csat\nkind: share\ndataset: helpdesk\nfield: score\nscale: [1, 5]\n",
        encoding="utf-8",
    )
    return config


def registry() -> Registry:
    return Registry(get_plugin_manager(load_entry_points=False, extra=[FlakyPlugin()]))


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("raise_midway", r"failed while producing row 51: ConnectionResetError: helpdesk API"),
        ("not_mappings", r"row 4 is a list, not a mapping"),
        ("wrong_return", r"open\(\) returned dict, not SourceData"),
    ],
)
def test_a_failing_plugin_fails_the_run_by_name_and_leaves_earlier_results_alone(
    tmp_path: Path, mode: str, message: str
) -> None:
    config = project_with_flaky(tmp_path, mode)
    project = load_config(config)
    good = run_project(project, registry(), only=["csat", "nps"])
    before = stored_values(tmp_path / "cx.db", good.run_id)

    with pytest.raises(PluginError, match=rf"plugin 'flaky_helpdesk'.*{message}"):
        run_project(project, registry())

    database = tmp_path / "cx.db"
    assert integrity(database) == "ok"
    assert stored_values(database, good.run_id) == before
    runs = stored_runs(database)
    failed = [r for r in runs.values() if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["values_found"] == 0 and failed[0]["rejects_found"] == 0
    assert "flaky_helpdesk" in str(failed[0]["error"])
    assert runs[good.run_id]["status"] == "ok"


def test_values_of_odd_python_types_are_rejected_with_their_row_not_crashed_on(
    tmp_path: Path,
) -> None:
    project = load_config(project_with_flaky(tmp_path, "odd_values"))
    result = run_project(project, registry(), only=["ticket_csat"])
    helpdesk = result.datasets["helpdesk"]
    # Each odd value is a reject of its field; the row itself is still used.
    assert (helpdesk.rows_read, helpdesk.rows_used, helpdesk.rows_rejected) == (100, 100, 0)
    assert helpdesk.cells_rejected == {"score": 10}
    reasons = [r for r in result.rejects if r.dataset == "helpdesk"]
    assert len(reasons) == 10
    assert all(r.field == "score" and "is not an integer" in r.reason for r in reasons)
    assert {r.locator for r in reasons} == {f"helpdesk API row {i + 1}" for i in range(0, 100, 10)}


LAZY_ROWS = """
import resource, sys
from collections.abc import Callable
from pydantic import BaseModel
from cxengine import hookimpl
from cxengine.config import load_config
from cxengine.interfaces import SourceData
from cxengine.plugins import Registry, get_plugin_manager
from cxengine.runner import run_project

produced = 0

def rows():
    global produced
    for i in range(int(sys.argv[2])):
        produced += 1
        yield {"score": i % 5 + 1}

class Options(BaseModel):
    pass

class Lazy:
    name = "lazy"
    description = "N rows, one at a time"
    options_model = Options
    def open(self, context):
        return SourceData(rows=rows(), origin="lazy")

class Plugin:
    @hookimpl
    def register_sources(self, register: Callable[..., None]) -> None:
        register(Lazy())

registry = Registry(get_plugin_manager(load_entry_points=False, extra=[Plugin()]))
result = run_project(load_config(sys.argv[1]), registry, store=False)
ds = result.datasets["big"]
value = next(v for v in result.values if not v.slice)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"read": ds.rows_read, "used": ds.rows_used, "n": value.n,
                  "value": value.value, "produced": produced, "peak_mib": peak}))
""".replace("import resource, sys", "import json, resource, sys")


def _lazy_run(config: Path, rows: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", LAZY_ROWS, str(config), str(rows)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    figures: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures["read"] == figures["used"] == figures["n"] == figures["produced"] == rows
    assert figures["value"] == pytest.approx(20.0)
    return figures


@pytest.mark.slow
def test_lazy_rows_stream_in_bounded_memory(tmp_path: Path) -> None:
    """A plugin's rows go to DuckDB in batches: memory does not grow like the rows held.

    The same run over 0.5M and 2M rows: the 1.5M extra rows may cost what DuckDB keeps
    of them (a few bytes each), never what holding them as Python dicts would (one
    `{"score": 1}` alone is ~184 bytes). Bounded growth, not an absolute figure, so
    the allocator and the machine do not decide the outcome.
    """
    (tmp_path / "metric_specs").mkdir()
    (tmp_path / "metric_specs" / "top.yaml").write_text(
        "name: top\nkind: share\ndataset: big\nfield: score\nscale: [1, 5]\npositive: [5]\n",
        encoding="utf-8",
    )
    config = tmp_path / "cxengine.yaml"
    config.write_text(
        "database: cx.db\nmetrics: [metric_specs]\n"
        "datasets:\n  big:\n    source: lazy\n    fields: {score: integer}\n",
        encoding="utf-8",
    )
    small, large = 500_000, 2_000_000
    base, grown = _lazy_run(config, small), _lazy_run(config, large)
    per_row = (grown["peak_mib"] - base["peak_mib"]) * 2**20 / (large - small)
    held = sys.getsizeof({"score": 1})
    assert per_row < held / 3, (per_row, held, base, grown)
    print(
        f"lazy rows: peak {base['peak_mib']:.0f} → {grown['peak_mib']:.0f} MiB, {per_row:.0f} B/row"
    )
