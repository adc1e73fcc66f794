"""A kind written in one file against `cxengine.api` gets everything a built-in kind gets.

tests/plugins/third_party_kinds/cxengine_open_items.py adds a calendar kind
(`open_items`) and a derived kind (`ratio`), each with its own significance test. They
are computed by the runner, validated, and judged by the gate like built-in kinds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

from cxengine.compare.evaluate import evaluate_run
from cxengine.config import load_config
from cxengine.interfaces import (
    CalendarKind,
    ChecksInputs,
    ComparableKind,
    DerivedCounts,
    DerivedKind,
    Kind,
)
from cxengine.plugins import Registry, get_registry
from cxengine.runner import run_project, validate_project

PLUGIN_DIR = Path(__file__).parent / "plugins" / "third_party_kinds"

DATASETS = """
tickets:
  source: csv
  path: tickets.csv
  fields:
    id: {type: string}
    opened: {type: datetime}
    closed: {type: datetime}
"""
# January: 4 opened, 1 still open at the end of January (t3), t4 closed in Feb.
# February: 3 opened; at Feb's end t3, t6 (closed 1 March) and t7 are open.
TICKETS = """\
id,opened,closed
t1,2025-01-03 09:00,2025-01-04 10:00
t2,2025-01-10 09:00,2025-01-11 10:00
t3,2025-01-20 09:00,
t4,2025-01-30 09:00,2025-02-02 10:00
t5,2025-02-03 09:00,2025-02-05 10:00
t6,2025-02-10 09:00,2025-03-01 10:00
t7,2025-02-20 09:00,
"""
GATE = "regression: {compare: previous_period, min_n: 1}\n"
SPECS = {
    "opened.yaml": "name: opened\nkind: count\ndataset: tickets\nperiod: month\ntime: opened\n",
    "open.yaml": (
        "name: open_at_end\nkind: open_items\ndataset: tickets\nperiod: month\n"
        "time: opened\nopened: opened\nclosed: closed\n" + GATE
    ),
    "ratio.yaml": (
        "name: open_share\nkind: ratio\nnumerator: open_at_end\ndenominator: opened\n" + GATE
    ),
}


@pytest.fixture
def plugin() -> ModuleType:
    sys.path.insert(0, str(PLUGIN_DIR))
    try:
        import cxengine_open_items

        return cxengine_open_items
    finally:
        sys.path.remove(str(PLUGIN_DIR))


@pytest.fixture
def registry(plugin: ModuleType) -> Registry:
    return get_registry(load_entry_points=False, extra=[plugin])


def test_the_kinds_declare_their_contracts(registry: Registry) -> None:
    open_items, ratio = registry.aggregation("open_items"), registry.aggregation("ratio")
    assert isinstance(open_items, Kind) and isinstance(open_items, CalendarKind)
    assert isinstance(open_items, ComparableKind) and not isinstance(open_items, DerivedKind)
    for contract in (Kind, DerivedKind, ChecksInputs, DerivedCounts, ComparableKind):
        assert isinstance(ratio, contract)
    assert not isinstance(ratio, CalendarKind)


def test_calendar_and_derived_values(make_project: Callable[..., Path], registry: Registry) -> None:
    config = make_project(DATASETS, SPECS, {"tickets.csv": TICKETS})
    result = run_project(load_config(config), registry, store=False)
    by = {(v.metric, v.period): v for v in result.values if not v.slice}
    jan, feb = date(2025, 1, 1), date(2025, 2, 1)
    assert by["open_at_end", jan].value == 2  # t3 and t4
    assert by["open_at_end", feb].value == 3  # t3, t7 and t6 (closed on 1 March)
    assert by["opened", jan].value == 4 and by["opened", feb].value == 3
    assert by["open_share", jan].value == pytest.approx(50.0)
    assert by["open_share", feb].value == pytest.approx(100.0)
    assert by["open_share", feb].counts == {"positive": 3, "n": 3}


def test_the_gate_runs_the_kinds_own_tests(
    make_project: Callable[..., Path], registry: Registry
) -> None:
    config = make_project(DATASETS, SPECS, {"tickets.csv": TICKETS})
    result = run_project(load_config(config), registry, store=False)
    report = evaluate_run(result, registry, None)
    methods = {c.metric: c.method for c in report.checks if c.period and not c.slice}
    assert methods["open_at_end"] == "conditional binomial test of two Poisson counts"
    assert methods["open_share"] == "two-proportion z-test (pooled)"


def test_a_derived_kind_checks_its_inputs(
    make_project: Callable[..., Path], registry: Registry
) -> None:
    weekly = SPECS["opened.yaml"].replace("period: month", "period: week")
    config = make_project(DATASETS, {**SPECS, "opened.yaml": weekly}, {"tickets.csv": TICKETS})
    _, problems = validate_project(load_config(config), registry)
    assert [p.message for p in problems] == ["inputs have different periods: month, week"]
