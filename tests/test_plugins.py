"""Plugins: built-ins register like third parties; broken plugins are reported, not fatal."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import cxengine
from cxengine.cli import cli
from cxengine.config import load_config
from cxengine.errors import PluginError
from cxengine.plugins import DEFAULT_PLUGINS, Registry, get_plugin_manager, get_registry
from cxengine.runner import run_project
from cxengine.testing import check_source


def test_built_in_plugins_provide_the_core_kinds_sources_and_reporters() -> None:
    reg = get_registry(load_entry_points=False)
    assert {"csv", "jsonl", "json", "sqlite", "parquet"} <= set(reg.sources)
    assert {"share", "mean", "nps", "count"} <= set(reg.aggregations)
    assert {"table", "json"} <= set(reg.reporters)
    assert reg.owner("source", "csv") == "cxengine.default_plugins.sources.csv"


def test_nothing_is_loaded_at_import_time() -> None:
    # A fresh manager each call: no global state to reset between tests.
    assert get_plugin_manager(load_entry_points=False) is not get_plugin_manager(
        load_entry_points=False
    )


def test_a_third_party_source_is_used_end_to_end(
    fake_entry_points: Callable[..., None], make_project: Callable[..., Path]
) -> None:
    fake_entry_points("example_source", "cxengine_example_source")
    config = make_project(
        """
        helpdesk:
          source: example_helpdesk
          tickets: 50
          fields: {ticket: string, score: integer, team: string}
        """,
        {
            "csat.yaml": (
                "name: csat\nkind: share\ndataset: helpdesk\nfield: score\nscale: [1, 5]\n"
                "by: [team]\n"
            )
        },
    )
    reg = get_registry()
    assert reg.owner("source", "example_helpdesk") == "example_source"
    result = run_project(load_config(config), reg)
    overall = next(v for v in result.values if not v.slice)
    assert (overall.value, overall.n) == (20.0, 50)
    assert result.datasets["helpdesk"].rows_read == 50


def test_a_plugin_that_fails_to_import_is_reported_and_skipped(
    fake_entry_points: Callable[..., None],
) -> None:
    fake_entry_points("broken", "cxengine_broken_plugin")
    warnings: list[str] = []
    pm = get_plugin_manager(warn=warnings.append)
    assert pm.get_plugin("broken") is None
    assert "plugin 'broken'" in warnings[0] and "broken on purpose" in warnings[0]
    infos = {i.name: i for i in Registry(pm).plugin_infos()}
    assert "broken on purpose" in (infos["broken"].error or "")
    # The rest of the tool still works.
    assert "csv" in Registry(pm).sources


def test_a_plugin_whose_hooks_raise_is_reported_and_skipped_too(
    fake_entry_points: Callable[..., None],
) -> None:
    fake_entry_points("half_broken", "cxengine_broken_hooks")
    warnings: list[str] = []
    pm = get_plugin_manager(warn=warnings.append)
    assert pm.get_plugin("half_broken") is None
    assert "plugin 'half_broken'" in warnings[0] and "cxengine_broken_hooks_missing" in warnings[0]
    infos = {i.name: i for i in Registry(pm).plugin_infos()}
    assert "cxengine_broken_hooks_missing" in (infos["half_broken"].error or "")
    assert "csv" in Registry(pm).sources
    with pytest.raises(PluginError, match="half_broken"):
        get_plugin_manager(strict=True)


def test_strict_mode_makes_a_broken_plugin_fatal(fake_entry_points: Callable[..., None]) -> None:
    fake_entry_points("broken", "cxengine_broken_plugin")
    with pytest.raises(PluginError, match="broken on purpose"):
        get_plugin_manager(strict=True)


def test_strict_mode_from_the_environment(
    fake_entry_points: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_entry_points("broken", "cxengine_broken_plugin")
    monkeypatch.setenv("CXENGINE_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError):
        get_plugin_manager()


def test_cli_plugins_lists_the_failure_and_exits_3_in_strict_mode(
    fake_entry_points: Callable[..., None],
) -> None:
    from cxengine.cli import main

    fake_entry_points("broken", "cxengine_broken_plugin")
    result = CliRunner().invoke(cli, ["plugins", "--json"], obj=None)
    assert result.exit_code == 0
    assert '"name": "broken"' in result.output
    with pytest.raises(SystemExit) as code:
        main(["--strict-plugins", "plugins"])
    assert code.value.code == 3


class _Dup:
    name = "csv"
    description = "a second csv"


class _DupPlugin:
    @cxengine.hookimpl
    def register_sources(self, register: Callable[..., None]) -> None:
        register(_Dup())


def test_two_plugins_registering_one_name_is_an_error_naming_both() -> None:
    pm = get_plugin_manager(load_entry_points=False, extra=[_DupPlugin()])
    with pytest.raises(PluginError) as err:
        Registry(pm)
    assert "cxengine.default_plugins.sources.csv" in str(err.value)
    assert "registered by both" in str(err.value)


def test_every_default_plugin_module_implements_at_least_one_hook() -> None:
    import importlib

    for name in DEFAULT_PLUGINS:
        module = importlib.import_module(name)
        assert any(
            hasattr(module, h)
            for h in (
                "register_sources",
                "register_aggregations",
                "register_reporters",
                "register_engines",
            )
        ), name


def test_the_example_source_passes_the_kit_checks(tmp_path: Path) -> None:
    # cxengine.testing is what plugin authors run; the example plugin must pass it.
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "plugins" / "cxengine_example_source"))
    try:
        import cxengine_example_source as example

        run = check_source(
            "example_helpdesk", {"tickets": 20}, base_dir=tmp_path, plugins=[example],
            fields={"ticket": "string", "score": "integer", "team": "string"},
            read=20, used=20, rejected=0,
        )  # fmt: skip
    finally:
        sys.path.remove(str(Path(__file__).parent / "plugins" / "cxengine_example_source"))
        sys.modules.pop("cxengine_example_source", None)
    assert run.column("score").count(5) == 4
