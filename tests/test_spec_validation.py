"""`cxengine validate`: every problem in every file at once, as file:line: key.path: message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from cxengine.cli import cli
from cxengine.cli.app import CliState
from cxengine.config import load_config
from cxengine.plugins import get_plugin_manager, get_registry
from cxengine.runner import validate_project

REPO = Path(__file__).resolve().parent.parent

DATASET = """
responses:
  source: csv
  path: data/responses.csv
  fields:
    submitted_at: datetime
    touchpoint: string
    channel: string
    recommend: integer
    satisfaction: integer
"""

GOOD = """\
name: nps
kind: nps
dataset: responses
field: recommend
by: [touchpoint]
period: month
time: submitted_at
"""


def validate(config: Path, *args: str) -> tuple[int, str]:
    # Built-in plugins only: messages listing the known kinds must not depend on which
    # plugins (cxengine-nlp, …) happen to be installed.
    state = CliState(get_plugin_manager(load_entry_points=False))
    result = CliRunner().invoke(cli, ["--config", str(config), "validate", *args], obj=state)
    return result.exit_code, result.output


def test_a_valid_project_passes(make_project: Callable[..., Path]) -> None:
    config = make_project(DATASET, {"nps.yaml": GOOD})
    code, out = validate(config)
    assert (code, out) == (0, "ok: 1 metric specs valid\n")


def test_three_mistakes_give_three_located_errors_and_exit_1(
    make_project: Callable[..., Path], monkeypatch
) -> None:
    config = make_project(
        DATASET,
        {
            "csat.yaml": """\
                name: csat
                kind: share
                dataset: responses
                feild: satisfaction
                scale: [1, 5]
                """,
            "nps.yaml": """\
                name: nps
                kind: nsp
                dataset: responses
                field: recommend
                """,
            "ces.yaml": """\
                name: ces
                kind: share
                dataset: responses
                field: satisfaction
                scale: [1, 5]
                by: [touchpoint, chanel]
                """,
        },
    )
    monkeypatch.chdir(config.parent)
    code, out = validate(config)
    assert code == 1
    lines = out.splitlines()
    assert lines == [
        "metric_specs/ces.yaml:6: by[1]: 'chanel' is not a field of dataset 'responses' "
        "(did you mean 'channel'?). "
        "Fields: channel, recommend, satisfaction, submitted_at, touchpoint",
        "metric_specs/csat.yaml:1: field: required key is missing",
        "metric_specs/csat.yaml:4: feild: unknown key 'feild' (did you mean 'field'?)",
        "metric_specs/nps.yaml:2: kind: 'nsp' is not a known metric kind (did you mean 'nps'?). "
        "Known kinds: " + ", ".join(sorted(get_registry(load_entry_points=False).aggregations)),
    ]


def test_unknown_dataset_and_bad_filter_are_reported_together(
    make_project: Callable[..., Path],
) -> None:
    config = make_project(
        DATASET,
        {
            "a.yaml": GOOD.replace("dataset: responses", "dataset: respones"),
            "b.yaml": GOOD.replace("name: nps", "name: nps_b") + "where: \"1=1; ATTACH 'x.db'\"\n",
        },
    )
    code, out = validate(config)
    assert code == 1
    assert (
        "a.yaml:3: dataset: 'respones' is not a dataset in cxengine.yaml "
        "(did you mean 'responses'?)" in out
    )
    assert "b.yaml:8: where: bad filter:" in out


def test_time_field_must_be_a_datetime(make_project: Callable[..., Path]) -> None:
    config = make_project(
        DATASET, {"nps.yaml": GOOD.replace("time: submitted_at", "time: touchpoint")}
    )
    code, out = validate(config)
    assert code == 1
    assert "nps.yaml:7: time: field 'touchpoint' is string, but this needs datetime or date" in out


def test_duplicate_metric_names_across_files(make_project: Callable[..., Path]) -> None:
    config = make_project(DATASET, {"a.yaml": GOOD, "b.yaml": GOOD})
    code, out = validate(config)
    assert code == 1
    assert "b.yaml:1: name: metric 'nps' is already defined in" in out


def test_validate_json_lists_problems(make_project: Callable[..., Path]) -> None:
    import json

    config = make_project(
        DATASET, {"nps.yaml": GOOD.replace("field: recommend", "field: recomend")}
    )
    code, out = validate(config, "--json")
    doc = json.loads(out)
    assert code == 1 and doc["valid"] is False
    assert doc["problems"][0]["line"] == 4 and doc["problems"][0]["path"] == "field"


def test_unknown_source_option_is_reported_with_a_suggestion(
    make_project: Callable[..., Path],
) -> None:
    config = make_project(
        DATASET.replace("path: data/responses.csv", "pth: data/responses.csv"), {"nps.yaml": GOOD}
    )
    code, out = validate(config)
    assert code == 1
    assert "did you mean 'path'?" in out


def test_every_standard_spec_validates_against_the_example_project(tmp_path: Path) -> None:
    from cxengine.scaffold import init_project

    init_project(tmp_path / "demo", rows=200)
    specs, problems = validate_project(
        load_config(tmp_path / "demo" / "cxengine.yaml"), get_registry()
    )
    assert problems == []
    # Every standard spec whose dataset the example has (the CSI example runs in
    # examples/restaurant_csi, see tests/test_standard_specs.py).
    shipped = {p.stem for p in (REPO / "metric_specs").glob("*.yaml")} - {"csi_restaurant"}
    assert {s.name for s in specs} == shipped
