"""The catalog of built-ins says what each built-in module registers (issue 12, item 3).

`cxengine/default_plugins/catalog.py` registers every built-in source, kind,
reporter and engine by name, with the description and options the command line
lists, so that listing them imports none. Those words are written twice (there and
in the module): these tests hold them equal, module by module.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from cxengine.default_plugins.catalog import BUILTINS
from cxengine.plugins import DEFAULT_PLUGINS, get_registry
from cxengine.registration import LazyEntry


def registered_by_module(module_name: str, hook: str) -> list[Any]:
    """Call the module's own eager hook; return what it registers."""
    items: list[Any] = []
    getattr(importlib.import_module(module_name), hook)(register=items.append)
    return items


@pytest.mark.parametrize("module_name", list(BUILTINS))
def test_each_entry_says_what_its_module_registers(module_name: str) -> None:
    hook, entries = BUILTINS[module_name]
    items = registered_by_module(module_name, hook)
    assert [e.name for e in entries] == [i.name for i in items]
    for entry, item in zip(entries, items, strict=True):
        assert entry.module == module_name
        assert entry.description == item.description
        loaded = entry.load()
        assert type(loaded) is type(item) and loaded.name == item.name
        if hook == "register_sources":
            assert tuple(entry.details["options"]) == tuple(sorted(item.options_model.model_fields))


def test_the_default_plugins_are_the_catalog() -> None:
    assert tuple(BUILTINS) == DEFAULT_PLUGINS
    reg = get_registry(load_entry_points=False)
    tables = {
        "register_sources": reg.sources,
        "register_aggregations": reg.aggregations,
        "register_reporters": reg.reporters,
        "register_engines": reg.engines,
    }
    for module_name, (hook, entries) in BUILTINS.items():
        for entry in entries:
            table = tables[hook]
            assert table.owner(entry.name) == module_name
            assert table.entry(entry.name) == entry


def test_listing_the_registry_loads_nothing_and_reading_an_item_loads_it_once() -> None:
    reg = get_registry(load_entry_points=False)
    assert {"csv", "jsonl", "parquet"} <= set(reg.sources)
    assert not any(reg.sources.is_loaded(n) for n in reg.sources)
    assert reg.sources.description("csv").startswith("CSV/TSV files")
    assert "delimiter" in reg.sources.details("csv", "options")
    assert not reg.sources.is_loaded("csv")
    nps = reg.aggregation("nps")
    assert reg.aggregations.is_loaded("nps") and reg.aggregation("nps") is nps
    assert not reg.aggregations.is_loaded("share")
    assert reg.spec_models()["share"].__name__ == "ShareSpec"
    assert reg.aggregations.is_loaded("share")


def test_a_bad_target_is_refused_when_registered() -> None:
    with pytest.raises(ValueError, match=r"package\.module:attribute"):
        LazyEntry("x", "no_colon_here")
    with pytest.raises(ValueError, match="needs a name"):
        LazyEntry("", "pkg.mod:Thing")
