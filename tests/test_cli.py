"""The command line: init + run on the example project, JSON shapes, exit codes, help."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cxengine.cli import cli, main


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An example project made by `cxengine init`, shared by the tests of this module."""
    root = tmp_path_factory.mktemp("cli") / "demo"
    result = CliRunner().invoke(cli, ["init", str(root), "--rows", "1500"])
    assert result.exit_code == 0, result.output
    return root


def run(demo: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(demo / "cxengine.yaml"), *args])
    return result.exit_code, result.stdout, result.stderr


def test_init_refuses_to_overwrite_a_project(demo: Path) -> None:
    result = CliRunner().invoke(cli, ["init", str(demo)])
    assert result.exit_code == 2
    assert "exists" in result.output


def test_run_prints_every_standard_metric_per_touchpoint_and_month(demo: Path) -> None:
    code, out, err = run(demo, "run", "--detail")
    assert code == 0, err
    for title in (
        "Customer Satisfaction (CSAT)",
        "Net Promoter Score (NPS)",
        "Customer Effort Score (CES), % easy",
    ):
        assert title in out
    assert "95% CI" in out and "2025-11" in out and "delivery" in out
    assert "responses: " in err and " rejected" in err


def test_run_json_has_the_documented_shape(demo: Path) -> None:
    code, out, _ = run(demo, "run", "--json", "--metric", "nps")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) >= {"run_id", "values", "datasets"}
    overall = next(v for v in doc["values"] if v["period"] is None and v["slice"] == {})
    assert set(overall) >= {
        "metric",
        "period",
        "slice",
        "value",
        "n",
        "ci_low",
        "ci_high",
        "low_sample",
    }
    assert overall["metric"] == "nps" and overall["ci_low"] < overall["value"] < overall["ci_high"]
    touchpoints = {v["slice"]["touchpoint"] for v in doc["values"] if v["slice"]}
    assert touchpoints == {"website", "checkout", "onboarding", "support", "delivery", "renewal"}
    ds = doc["datasets"]["responses"]
    assert ds["read"] == ds["used"] + ds["rejected"]


def test_rerun_over_the_same_inputs_is_the_same_run(demo: Path) -> None:
    first = json.loads(run(demo, "run", "--json")[1])["run_id"]
    second = json.loads(run(demo, "run", "--json")[1])["run_id"]
    assert first == second
    import sqlite3

    conn = sqlite3.connect(demo / "cx.db")
    (count,) = conn.execute("SELECT count(*) FROM runs WHERE id = ?", (first,)).fetchone()
    (values,) = conn.execute(
        "SELECT count(*) FROM metric_values WHERE run_id = ?", (first,)
    ).fetchone()
    assert count == 1 and values == len(json.loads(run(demo, "run", "--json")[1])["values"])


def test_rejected_rows_are_stored_with_file_line_and_reason(demo: Path) -> None:
    run(demo, "run")
    import sqlite3

    conn = sqlite3.connect(demo / "cx.db")
    rows = conn.execute("SELECT locator, field, reason, metric FROM rejects").fetchall()
    assert rows, "the example data contains deliberate errors"
    assert all(":" in locator for locator, *_ in rows)
    assert any(metric is None for *_, metric in rows)  # unparseable: whole row
    assert any(metric == "nps" and "outside the scale" in reason for _, _, reason, metric in rows)


def test_validate_on_the_example_project(demo: Path) -> None:
    code, out, _ = run(demo, "validate", "--with-data")
    assert code == 0 and out.startswith("ok: ")


def test_a_hostile_filter_is_refused_before_anything_runs(demo: Path) -> None:
    spec = demo / "metric_specs" / "evil.yaml"
    spec.write_text(
        "name: evil\nkind: count\ndataset: responses\nwhere: \"1=1; ATTACH 'x.db'\"\n",
        encoding="utf-8",
    )
    try:
        code, _, err = run(demo, "run")
    finally:
        spec.unlink()
    assert code == 1
    assert "evil.yaml:4: where: bad filter" in err
    assert not (demo / "x.db").exists()


def test_info_commands_speak_json(demo: Path) -> None:
    for command in ("metrics", "sources", "plugins"):
        code, out, _ = run(demo, command, "--json")
        assert code == 0
        assert isinstance(json.loads(out), list)
    code, out, _ = run(demo, "schema")
    assert code == 0 and "nps" in json.loads(out)["discriminator"]["mapping"]


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--no-such-option"])
    assert exit_.value.code == 2


def test_missing_config_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CXENGINE_CONFIG", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["run"])
    assert exit_.value.code == 2


def _commands(group: click.Group) -> list[click.Command]:
    return [
        group.get_command(click.Context(group), name)
        for name in group.list_commands(click.Context(group))
    ]  # type: ignore[misc]


def test_every_command_has_help_with_an_example() -> None:
    for command in [cli, *_commands(cli)]:
        result = CliRunner().invoke(
            cli, [*([command.name] if command is not cli else []), "--help"]
        )
        assert result.exit_code == 0
        assert "Example" in result.output, f"`cxengine {command.name} --help` shows no example"
