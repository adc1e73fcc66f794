"""A third-party plugin registers lazily, as the built-ins do (cxengine.api.lazy).

Its entry point registers names; the module with the kind is imported only when a
spec uses the kind. What can go wrong is reported as the eager form's mistakes are:
a bad registration when the plugin loads (skipped, fatal when strict), a module that
does not import, or an object that is not what was registered, as a PluginError
naming the plugin where it is used (exit 3), never in a command that does not use it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cxengine.cli import cli
from cxengine.errors import PluginError
from cxengine.plugins import Registry, get_plugin_manager, get_registry
from cxengine.registration import lazy

KIND_MODULE = """
from typing import Literal

from cxengine.api import Estimate, MetricSpec, as_int, count_if


class LateSpec(MetricSpec):
    kind: Literal["late_tickets"]
    late: str


class Late:
    name = "late_tickets"
    description = "Tickets answered after their deadline."
    spec_model = LateSpec
    higher_is_better = False

    def fields(self, spec):
        return {spec.late: ("boolean",)}

    def exclusions(self, spec, ctx):
        return []

    def counts(self, spec, ctx):
        return {"n": count_if(ctx.column(spec.late))}

    def estimate(self, spec, counts):
        return Estimate(float(as_int(counts, "n")), as_int(counts, "n"))


class NotAKind:
    name = "late_tickets"
"""

PLUGIN = """
from cxengine.api import hookimpl, lazy


@hookimpl
def register_aggregations(register):
    register(lazy("late_tickets", "{target}", description="Tickets answered late."))
"""

MODULES = ("cxlazy_kind", "cxlazy_plugin")


@pytest.fixture
def lazy_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_entry_points: Callable[..., None]
) -> Iterator[Callable[[str], None]]:
    """Install an entry point `lazy_kinds` registering `late_tickets` from a target."""
    (tmp_path / "cxlazy_kind.py").write_text(KIND_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))

    def install(target: str) -> None:
        (tmp_path / "cxlazy_plugin.py").write_text(PLUGIN.format(target=target))
        fake_entry_points("lazy_kinds", "cxlazy_plugin")

    yield install
    for name in MODULES:
        sys.modules.pop(name, None)


DATASET = """
tickets:
  source: csv
  path: tickets.csv
  fields: {ticket: string, late: boolean}
"""
TICKETS = "ticket,late\nt1,true\nt2,false\nt3,true\n"
LATE_SPEC = {"late.yaml": "name: late\nkind: late_tickets\ndataset: tickets\nlate: late\n"}
COUNT_SPEC = {"count.yaml": "name: tickets\nkind: count\ndataset: tickets\n"}


def test_the_kind_is_listed_without_importing_it_and_used_when_a_spec_needs_it(
    lazy_plugin: Callable[[str], None], make_project: Callable[..., Path]
) -> None:
    lazy_plugin("cxlazy_kind:Late")
    reg = get_registry()
    assert "late_tickets" in reg.aggregations
    assert reg.owner("aggregation kind", "late_tickets") == "lazy_kinds"
    assert reg.aggregations.description("late_tickets") == "Tickets answered late."
    assert "cxlazy_kind" not in sys.modules
    infos = {i.name: i for i in reg.plugin_infos()}
    assert infos["lazy_kinds"].provides == {"aggregation kind": ["late_tickets"]}
    assert "cxlazy_kind" not in sys.modules

    config = make_project(DATASET, LATE_SPEC, {"tickets.csv": TICKETS})
    result = CliRunner().invoke(cli, ["--config", str(config), "run", "--json"])
    assert result.exit_code == 0, result.output
    assert '"value": 2.0' in result.output
    assert "cxlazy_kind" in sys.modules


def test_a_module_that_does_not_import_fails_only_the_runs_that_use_it(
    lazy_plugin: Callable[[str], None], make_project: Callable[..., Path]
) -> None:
    lazy_plugin("cxlazy_missing:Late")
    listing = CliRunner().invoke(cli, ["plugins", "--json"])
    assert listing.exit_code == 0 and '"error": null' in listing.output
    other = make_project(DATASET, COUNT_SPEC, {"tickets.csv": TICKETS})
    assert CliRunner().invoke(cli, ["--config", str(other), "run"]).exit_code == 0
    config = make_project(DATASET, LATE_SPEC, {"tickets.csv": TICKETS})
    for command in (["run"], ["validate"], ["metrics"]):
        result = CliRunner().invoke(cli, ["--config", str(config), *command])
        assert result.exit_code == 3, (command, result.output)
        assert "lazy_kinds" in result.output and "cxlazy_missing" in result.output


def test_an_object_that_is_not_what_was_registered_is_a_plugin_error(
    lazy_plugin: Callable[[str], None],
) -> None:
    lazy_plugin("cxlazy_kind:NotAKind")
    with pytest.raises(PluginError, match=r"lazy_kinds.*does not satisfy the Kind contract"):
        get_registry().aggregation("late_tickets")


def test_an_object_with_another_name_is_a_plugin_error(
    lazy_plugin: Callable[[str], None],
) -> None:
    lazy_plugin("cxengine.default_plugins.aggregations.nps:Nps")
    with pytest.raises(PluginError, match=r"lazy_kinds.*is named 'nps'"):
        get_registry().aggregation("late_tickets")


def test_a_malformed_registration_skips_the_plugin_when_it_loads(
    lazy_plugin: Callable[[str], None],
) -> None:
    lazy_plugin("cxlazy_kind.Late")  # a dot, not a colon
    warnings: list[str] = []
    pm = get_plugin_manager(warn=warnings.append)
    assert pm.get_plugin("lazy_kinds") is None
    assert "lazy_kinds" in warnings[0] and "package.module:attribute" in warnings[0]
    assert "late_tickets" not in Registry(pm).aggregations
    with pytest.raises(PluginError, match=r"package\.module:attribute"):
        get_plugin_manager(strict=True)


class _LazyCsv:
    from cxengine import hookimpl

    @hookimpl
    def register_sources(self, register: Callable[..., None]) -> None:
        register(lazy("csv", "cxlazy_kind:Late"))


def test_a_lazy_name_taken_by_another_plugin_names_both() -> None:
    pm = get_plugin_manager(load_entry_points=False, extra=[_LazyCsv()])
    with pytest.raises(PluginError, match="registered by both") as err:
        Registry(pm)
    assert "cxengine.default_plugins.sources.csv" in str(err.value)


def test_plugins_check_imports_every_registration_and_reports_the_broken_ones(
    lazy_plugin: Callable[[str], None],
) -> None:
    lazy_plugin("cxlazy_missing:Late")
    listed = CliRunner().invoke(cli, ["plugins", "--json"])
    assert listed.exit_code == 0 and "cxlazy_missing" not in listed.output
    checked = CliRunner().invoke(cli, ["plugins", "--check", "--json"])
    assert checked.exit_code == 1
    [info] = [i for i in json.loads(checked.output) if i["name"] == "lazy_kinds"]
    assert "late_tickets" in info["error"] and "cxlazy_missing" in info["error"]
    # Every built-in imports and fits its contract.
    assert [i["name"] for i in json.loads(checked.output) if i["error"]] == ["lazy_kinds"]


def test_plugins_check_passes_when_everything_loads(lazy_plugin: Callable[[str], None]) -> None:
    lazy_plugin("cxlazy_kind:Late")
    checked = CliRunner().invoke(cli, ["plugins", "--check", "--all"])
    assert checked.exit_code == 0, checked.output
    assert "late_tickets" in checked.output and "cxlazy_kind" in sys.modules
