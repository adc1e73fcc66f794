"""The regression gate end to end, as CI runs it: baseline file, real drop, fresh data.

A demo project (`cxengine init`, 20,000 answers) saves a baseline; a project with
different data of the same distribution (`--seed 8`) passes against it; the same
data with NPS at delivery cut by ten points fails with a JUnit file, a Markdown
summary and GitHub annotations that name delivery.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from cxengine.cli import cli

ROWS = "20000"


# The survey scores the gate is about. The demo's support metrics carry absolute
# targets of their own (FRT per channel) that the generated tickets may miss; those
# are target checks, not regressions, and are kept out of these runs.
SURVEY = ("nps", "csat", "csat_mean", "ces", "ces_mean")
COMPUTING = ("run", "compare")


def cx(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    only = [a for m in SURVEY for a in ("--metric", m)] if args[0] in COMPUTING else []
    if "--metric" in args:
        only = []
    argv = ["--config", str(project / "cxengine.yaml"), *args, *only]
    result = CliRunner().invoke(cli, argv, env=env)
    return result.exit_code, result.stdout, result.stderr


def init(path: Path, seed: int) -> Path:
    result = CliRunner().invoke(cli, ["init", str(path), "--rows", ROWS, "--seed", str(seed)])
    assert result.exit_code == 0, result.output
    return path


def cut_nps(csv_path: Path, touchpoint: str, points: float, seed: int = 1) -> None:
    """Turn promoters of one touchpoint into detractors until its NPS drops by `points`."""
    with csv_path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
        fields = list(rows[0])
    mine = [r for r in rows if r["touchpoint"] == touchpoint and r["recommend"] in ("9", "10")]
    answered = [r for r in rows if r["touchpoint"] == touchpoint and r["recommend"].isdigit()]
    # Each promoter turned detractor moves NPS by 200 / n points.
    for r in random.Random(seed).sample(mine, round(points * len(answered) / 200)):
        r["recommend"] = "3"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed baseline: saved from the seed-7 demo project's stored run."""
    project = init(tmp_path_factory.mktemp("gate") / "main", seed=7)
    code, _, err = cx(project, "run", "--tag", "release-1")
    assert code == 0, err
    code, out, err = cx(project, "baseline", "save", str(project / "baseline.json"))
    assert code == 0, err
    assert out.startswith("wrote ") and "baseline.json" in out
    return project / "baseline.json"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init(tmp_path_factory.mktemp("gate") / "fresh", seed=8)


@pytest.fixture(scope="module")
def dropped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = init(tmp_path_factory.mktemp("gate") / "dropped", seed=8)
    cut_nps(project / "data" / "responses.csv", "delivery", 10)
    return project


def test_fresh_data_without_a_real_change_passes(baseline: Path, fresh: Path) -> None:
    code, out, err = cx(fresh, "run", "--baseline", str(baseline))
    assert code == 0, out + err
    assert "checks: " in out and " fail" not in out.split("checks: ")[1].split("—")[0]
    assert "Holm correction over" in out


def test_a_ten_point_nps_drop_at_delivery_fails_the_build(
    baseline: Path, dropped: Path, tmp_path: Path
) -> None:
    junit, markdown, summary = tmp_path / "checks.xml", tmp_path / "checks.md", tmp_path / "step.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    code, out, err = cx(
        dropped, "run", "--baseline", str(baseline), "--junit", str(junit),
        "--markdown", str(markdown), env=env,
    )  # fmt: skip
    assert code == 1, out + err
    assert "check failed: nps [touchpoint=delivery] all periods" in err or (
        "nps [touchpoint=delivery] all periods" in err and "failed" in err
    )
    # JUnit: the failing test case names the metric and the touchpoint.
    root = ET.parse(junit).getroot()
    failures = [
        (case.get("name"), case.find("failure").get("message"))  # type: ignore[union-attr]
        for case in root.iter("testcase")
        if case.find("failure") is not None
    ]
    assert "nps [touchpoint=delivery] all periods" in [name for name, _ in failures], failures
    message = dict(failures)["nps [touchpoint=delivery] all periods"]
    assert "worse by more than max_drop" in message and "significant" in message
    # Markdown (the file and the GitHub step summary) names delivery in a failing row.
    for md in (markdown, summary):
        text = md.read_text(encoding="utf-8")
        assert text.startswith("## ❌ cxengine regression gate:")
        assert any(
            "❌ fail" in line and "touchpoint=delivery" in line for line in text.splitlines()
        )
    # GitHub annotations on stdout.
    assert "::error title=cxengine fail%3A nps [touchpoint=delivery]::" in out
    # Other touchpoints did not fail.
    assert all("delivery" in name for name, _ in failures if name.startswith("nps ")), failures


def test_junit_has_the_structure_ci_viewers_read(
    baseline: Path, dropped: Path, tmp_path: Path
) -> None:
    """testsuites > testsuite > testcase > failure|skipped, with the attributes of junit-10.xsd."""
    junit = tmp_path / "checks.xml"
    cx(dropped, "run", "--baseline", str(baseline), "--junit", str(junit), "--no-store")
    text = junit.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for suite in root:
        assert suite.tag == "testsuite"
        for attr in ("name", "tests", "failures", "errors", "skipped", "time"):
            assert suite.get(attr) is not None, attr
        children = [c.tag for c in suite]
        assert children[0] == "properties" and set(children[1:]) == {"testcase"}
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        fails = skips = 0
        for case in cases:
            assert case.get("name") and case.get("classname") and case.get("time") is not None
            float(case.get("time"))
            outcome = [c for c in case if c.tag in ("failure", "error", "skipped")]
            assert len(outcome) <= 1
            assert [c.tag for c in case][-1:] in (["system-out"], [])
            if outcome and outcome[0].tag == "failure":
                fails += 1
                assert outcome[0].get("message") and outcome[0].get("type")
            if outcome and outcome[0].tag == "skipped":
                skips += 1
        assert int(suite.get("failures")) == fails and int(suite.get("skipped")) == skips
        for k, v in (("tests", len(cases)), ("failures", fails), ("skipped", skips)):
            totals[k] += v
    for k, v in totals.items():
        assert int(root.get(k)) == v
    assert totals["failures"] >= 1


def test_verdicts_are_stored_with_the_run_and_reruns_replace_them(
    baseline: Path, dropped: Path
) -> None:
    for _ in range(2):
        code, _, _ = cx(dropped, "run", "--baseline", str(baseline), "--json")
        assert code == 1
    conn = sqlite3.connect(dropped / "cx.db")
    runs = conn.execute("SELECT DISTINCT run_id FROM checks").fetchall()
    assert len(runs) == 1  # the same inputs: the same run, its checks replaced, not doubled
    row = conn.execute(
        "SELECT verdict, baseline_value, current_value, change, p_value, p_adjusted, method,"
        " correction, reason FROM checks WHERE metric = 'nps' AND slice = ?",
        ('{"touchpoint": "delivery"}',),
    ).fetchone()
    verdict, base, cur, change, p, p_adj, method, correction, _reason = row
    assert verdict == "fail" and change == pytest.approx(cur - base) and change < -5
    assert p <= p_adj < 0.05 and method == "NPS difference z-test" and correction == "holm"
    total = conn.execute(
        "SELECT count(*) FROM checks WHERE run_id = ? AND metric = 'nps'", runs[0]
    ).fetchone()[0]
    assert total == 7  # overall + six touchpoints


def test_json_output_carries_the_verdicts(baseline: Path, dropped: Path) -> None:
    code, out, _ = cx(dropped, "run", "--baseline", str(baseline), "--json", "--no-store")
    assert code == 1
    doc = json.loads(out)
    assert doc["checks"]["ok"] is False and doc["checks"]["correction"] == "holm"
    failing = [c for c in doc["checks"]["checks"] if c["verdict"] == "fail"]
    assert {"metric": "nps", "slice": {"touchpoint": "delivery"}}.items() <= failing[
        0
    ].items() or any(
        c["metric"] == "nps" and c["slice"] == {"touchpoint": "delivery"} for c in failing
    )


def test_baseline_run_and_compare_between_stored_runs(baseline: Path, dropped: Path) -> None:
    # Store the seed-8 data with the drop in the baseline project's database.
    project = baseline.parent
    shutil.copy(dropped / "data" / "responses.csv", project / "data" / "responses.csv")
    code, out, err = cx(project, "run", "--baseline-run", "release-1", "--tag", "release-2")
    assert code == 1, err
    assert "touchpoint=delivery" in out
    code, out, err = cx(project, "compare", "release-1", "release-2", "--metric", "nps")
    assert code == 1, err
    assert "fail     touchpoint=delivery" in out
    code, out, _ = cx(project, "compare", "release-1", "release-1", "--metric", "nps")
    assert code == 0 and "7 pass" in out


def test_baseline_file_is_sorted_one_value_per_line_and_shows(baseline: Path) -> None:
    lines = baseline.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line.strip().rstrip(",")) for line in lines if line.startswith("    {")]
    keys = [(e["metric"], e["period"], json.dumps(e["slice"], sort_keys=True)) for e in entries]
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    nps_all = next(
        e for e in entries if e["metric"] == "nps" and e["period"] == "" and not e["slice"]
    )
    assert set(nps_all["counts"]) >= {"n", "promoters", "detractors"} and nps_all["n"] > 15000
    code, out, _ = cx(baseline.parent, "baseline", "show", str(baseline), "--metric", "nps")
    assert code == 0 and "touchpoint=delivery" in out


def test_usage_errors_exit_2(baseline: Path, fresh: Path, tmp_path: Path) -> None:
    code, _, err = cx(fresh, "run", "--baseline", str(tmp_path / "missing.json"))
    assert code == 2 and "does not exist" in err
    code, _, err = cx(fresh, "run", "--baseline", str(baseline), "--baseline-run", "last")
    assert code == 2 and "not both" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "cxengine-baseline", "version": 1, "values": [\n{"metric": 3}\n]}')
    code, _, err = cx(fresh, "run", "--baseline", str(bad))
    assert code == 2 and "bad.json:2: values[0].metric" in err
