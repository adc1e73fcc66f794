"""`validate` refuses, per engine, exactly the specs that engine cannot run faithfully.

No server is needed: a spec's queries are rendered for the engine without data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cxengine.config import load_config
from cxengine.runner import validate_project

DATASET = """
responses:
  engine: {engine}
  dsn_env: CX_NOT_NEEDED_TO_VALIDATE
  table: cx.responses
  key: id
  fields:
    id: string
    at: datetime
    replied: datetime
    channel: string
    score: integer
"""

RUNS = {
    "share": "kind: share\nfield: score\nscale: [1, 5]",
    "mean": "kind: mean\nfield: score\nscale: [1, 5]",
    "nps": "kind: nps\nfield: score",
    "count": "kind: count\nfield: id\ndistinct: true",
    "distribution": "kind: distribution\nfield: channel\ncategories: [web, email]",
    "duration_mean": "kind: duration\nfrom_field: at\nto_field: replied\nstatistic: mean",
    "backlog": "kind: backlog\nopened: at\nclosed: replied\nolder_than: 1h\nperiod: month",
}
REFUSED = {
    "duration_p90": (
        "kind: duration\nfrom_field: at\nto_field: replied\nstatistic: p90",
        "order statistics",
    ),
    "duration_median": (
        "kind: duration\nfrom_field: at\nto_field: replied\nstatistic: median",
        "order statistics",
    ),
    "histogram": ("kind: distribution\nfield: channel", "histogram()"),
    "business_hours": (
        "kind: duration\nfrom_field: at\nto_field: replied\nstatistic: mean\n"
        "calendar:\n  timezone: UTC\n  hours: {mon-fri: '09:00-18:00'}",
        "has no rendering",
    ),
}


def _project(tmp_path: Path, engine: str, specs: dict[str, str]) -> Path:
    (tmp_path / "metric_specs").mkdir()
    for name, body in specs.items():
        text = f"name: {name}\ndataset: responses\n{body}\n"
        if "period:" not in body:
            text += "period: month\ntime: at\n"
        (tmp_path / "metric_specs" / f"{name}.yaml").write_text(text, encoding="utf-8")
    datasets = "\n".join("  " + line for line in DATASET.format(engine=engine).splitlines())
    config = tmp_path / "cxengine.yaml"
    config.write_text(f"metrics: [metric_specs]\ndatasets:{datasets}\n", encoding="utf-8")
    return config


@pytest.mark.parametrize("engine", ["postgres", "spark"])
def test_portable_kinds_validate_cleanly(tmp_path: Path, engine: str) -> None:
    _, problems = validate_project(load_config(_project(tmp_path, engine, RUNS)))
    assert problems == []


@pytest.mark.parametrize("engine", ["postgres", "spark"])
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unportable_specs_are_refused_with_the_reason(
    tmp_path: Path, engine: str, name: str
) -> None:
    body, reason = REFUSED[name]
    _, problems = validate_project(load_config(_project(tmp_path, engine, {name: body})))
    assert len(problems) == 1, problems
    message = problems[0].message
    assert f"cannot run on engine {engine!r}" in message and reason in message
    assert problems[0].file.endswith(f"{name}.yaml")


def test_an_unknown_engine_is_named_with_the_known_ones(tmp_path: Path) -> None:
    _, problems = validate_project(load_config(_project(tmp_path, "postgress", RUNS)))
    assert any("'postgress' is not a known engine" in p.message and "postgres" in p.message
               for p in problems)  # fmt: skip


def test_a_dataset_needs_a_source_or_an_engine(tmp_path: Path) -> None:
    config = _project(tmp_path, "postgres", RUNS)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("    engine: postgres\n", ""), encoding="utf-8")
    from cxengine.errors import SpecError

    with pytest.raises(SpecError, match="or an `engine:`"):
        load_config(config)
