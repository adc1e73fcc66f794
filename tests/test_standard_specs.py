"""Every standard spec in metric_specs/ validates, and runs on the `cxengine init` project.

A spec is validated where it is meant to run: the ones `cxengine init` copies in a
fresh example project, the CSI example in examples/restaurant_csi. Then every spec of
a fresh project is run, and the new customer-base and survey specs must give values
with intervals.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cxengine.cli import cli
from cxengine.config import load_config
from cxengine.runner import RunResult, run_project, validate_project
from cxengine.scaffold import example_specs, init_project, standard_specs

REPO = Path(__file__).resolve().parent.parent
SPEC_FILES = sorted((REPO / "metric_specs").glob("*.yaml"))
EXAMPLES = sorted((REPO / "examples").glob("*/cxengine.yaml"))
# The specs of this change that must produce values with intervals on the example data.
WITH_INTERVALS = ("retention", "churn", "repeat_purchase", "response_rate")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("standard")
    init_project(target, rows=2000)
    return target


@pytest.fixture(scope="module")
def run(project: Path) -> RunResult:
    """Every spec of the fresh project."""
    return run_project(load_config(project / "cxengine.yaml"), store=False)


@pytest.fixture(scope="module")
def ours(project: Path) -> RunResult:
    """Just the customer-base and response-rate specs (and what they read)."""
    return run_project(load_config(project / "cxengine.yaml"), only=WITH_INTERVALS, store=False)


def example_spec_files() -> dict[str, Path]:
    """Map each spec file an example project uses to that project's config."""
    out = {}
    for config in EXAMPLES:
        for entry in yaml.safe_load(config.read_text(encoding="utf-8"))["metrics"]:
            out[(config.parent / entry).resolve().name] = config
    return out


def test_every_standard_spec_is_validated_somewhere() -> None:
    copied = {name for name, _ in example_specs()}
    elsewhere = set(example_spec_files())
    assert {p.name for p in SPEC_FILES} == copied | elsewhere
    assert not copied & elsewhere


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_standard_spec_has_a_title_and_a_description(path: Path) -> None:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert spec["name"] == path.stem
    assert spec.get("title") and spec.get("description")


def test_cxengine_validate_is_clean_on_a_fresh_project(project: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(project / "cxengine.yaml"), "validate"])
    assert result.exit_code == 0, result.output
    copied = sorted(p.name for p in (project / "metric_specs").glob("*.yaml"))
    assert copied == sorted(name for name, _ in example_specs())
    specs, problems = validate_project(load_config(project / "cxengine.yaml"))
    assert problems == []
    assert {s.file.rsplit("/", 1)[-1] for s in specs} == set(copied)


@pytest.mark.parametrize("config", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_projects_validate_without_their_data(config: Path) -> None:
    _, problems = validate_project(load_config(config))
    assert problems == []
    result = CliRunner().invoke(cli, ["--config", str(config), "validate"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", [n.removesuffix(".yaml") for n, _ in example_specs()])
def test_every_copied_spec_produces_values(run: RunResult, name: str) -> None:
    values = [v for v in run.values if v.metric == name]
    assert values, f"{name} produced no values"
    assert any(v.value is not None and v.n > 0 for v in values)


@pytest.mark.parametrize("name", WITH_INTERVALS)
def test_new_specs_give_values_with_intervals(ours: RunResult, name: str) -> None:
    values = [v for v in ours.values if v.metric == name and v.value is not None]
    assert len(values) > 10
    for v in values:
        assert v.ci_low is not None and v.ci_high is not None, v
        assert v.ci_low <= v.value <= v.ci_high
        assert v.ci_low >= 0 and v.ci_high <= 100
    # Per period and per slice.
    assert any(v.period is not None and v.slice for v in values)


def test_response_rate_matches_the_invitations_file(project: Path, ours: RunResult) -> None:
    with open(project / "data" / "invitations.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    overall = next(
        v for v in ours.values if v.metric == "response_rate" and v.period is None and not v.slice
    )
    answered = sum(r["responded"] == "true" for r in rows)
    assert overall.n == len(rows)
    assert overall.value == pytest.approx(100 * answered / len(rows))
    assert answered == 2000  # every example response has its invitation


def test_churn_and_cohort_retention_add_up_per_period(ours: RunResult) -> None:
    churn = {(v.period, v.slice_key): v for v in ours.values if v.metric == "churn"}
    for v in churn.values():
        c: dict[str, Any] = v.counts
        if c.get("at_start"):
            lost, start = c["lost"], c["at_start"]
            assert v.value == pytest.approx(100 * lost / start)
            assert c["at_end"] == start - lost + c["new"] - c["new_lost"]


def test_standard_specs_ship_with_the_package() -> None:
    assert {name for name, _ in standard_specs()} == {p.name for p in SPEC_FILES}
