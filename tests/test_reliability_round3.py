"""Reliability round 3 (issue 13, the items left after round 2), one test per defect class.

Each test reproduces an attack (or a variant of it) and asserts the outcome the project
promises: a located error with the right exit code, or a correct run. See
docs/reliability.md.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from cxengine.config import load_config
from cxengine.errors import SpecError
from cxengine.runner import RunResult, run_project


def write_project(
    root: Path,
    datasets: dict[str, dict[str, Any]],
    specs: dict[str, str],
    data: dict[str, str] | None = None,
) -> Path:
    """Write cxengine.yaml (datasets as JSON flow mappings), specs and data; return the config."""
    (root / "metric_specs").mkdir(parents=True, exist_ok=True)
    for name, text in specs.items():
        (root / "metric_specs" / f"{name}.yaml").write_text(textwrap.dedent(text), "utf-8")
    for name, text in (data or {}).items():
        (root / name).write_text(text, "utf-8")
    lines = ["database: cx.db", "metrics: [metric_specs]", "datasets:"]
    lines += [f"  {name}: {json.dumps(cfg, ensure_ascii=False)}" for name, cfg in datasets.items()]
    config = root / "cxengine.yaml"
    config.write_text("\n".join(lines) + "\n", "utf-8")
    return config


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def run(config: Path) -> RunResult:
    return run_project(load_config(config), store=False)


def values(result: RunResult, metric: str) -> dict[Any, float | None]:
    """Overall (all slices) values of one metric by period (None: all periods)."""
    return {v.period: v.value for v in result.values if v.metric == metric and not v.slice}


# ------------------------------------------------------- item 1: DST and durations

BERLIN = {"type": "datetime", "timezone": "Europe/Berlin"}


def tickets(rows: list[dict[str, Any]], zone: dict[str, Any] = BERLIN) -> dict[str, Any]:
    return {
        "source": "jsonl",
        "path": "t.jsonl",
        "fields": {"id": "integer", "opened": zone, "replied": zone, "closed": zone},
    }


@pytest.mark.parametrize(
    ("opened", "replied", "minutes"),
    [
        # 02:30 CEST → 02:10 CET: the wall clock went back, 40 minutes passed.
        ("2024-10-27T00:30:00Z", "2024-10-27T01:10:00Z", 40),
        ("2024-10-27T02:30:00+02:00", "2024-10-27T02:10:00+01:00", 40),
        # Noon to noon across the October change is 25 hours, across March 23.
        ("2024-10-26 12:00", "2024-10-27 12:00", 25 * 60),
        ("2024-03-30 12:00", "2024-03-31 12:00", 23 * 60),
    ],
)
def test_a_duration_across_a_dst_change_is_elapsed_time(
    tmp_path: Path, opened: str, replied: str, minutes: int
) -> None:
    row = {"id": 1, "opened": opened, "replied": replied, "closed": None}
    config = write_project(
        tmp_path,
        {"t": tickets([row])},
        {
            "frt": "name: frt\nkind: duration\ndataset: t\nfrom_field: opened\n"
            "to_field: replied\nunit: min\n"
        },
        {"t.jsonl": jsonl([row])},
    )
    result = run(config)
    assert values(result, "frt")[None] == pytest.approx(minutes)
    assert not [r for r in result.rejects if r.metric == "frt"]


def test_periods_are_cut_on_the_wall_clock_of_the_field_zone(tmp_path: Path) -> None:
    # 23:30 UTC on 31 October is 00:30 on 1 November in Berlin: a November ticket,
    # kept by a filter written in local time and counted in November's period.
    rows = [
        {"id": 1, "opened": "2024-10-31T23:30:00Z", "replied": None, "closed": None},
        {"id": 2, "opened": "2024-10-31T22:30:00Z", "replied": None, "closed": None},
    ]
    config = write_project(
        tmp_path,
        {"t": tickets(rows)},
        {
            "n": "name: n\nkind: count\ndataset: t\ntime: opened\nperiod: month\n",
            "nov": "name: nov\nkind: count\ndataset: t\nwhere: \"opened >= '2024-11-01'\"\n",
            "nov_month": "name: nov_month\nkind: count\ndataset: t\nwhere: month(opened) = 11\n",
        },
        {"t.jsonl": jsonl(rows)},
    )
    result = run(config)
    assert values(result, "n") == {dt.date(2024, 10, 1): 1, dt.date(2024, 11, 1): 1, None: 2}
    assert values(result, "nov")[None] == 1
    assert values(result, "nov_month")[None] == 1


def test_backlog_ages_are_elapsed_time_at_the_local_end_of_the_day(tmp_path: Path) -> None:
    # The day of 27 October 2024 in Berlin lasts 25 hours (ends 23:00 UTC). A ticket
    # opened at 00:30 local that day is 24.5 hours old at its end: older than 24h,
    # though the wall clock says 23.5. One opened at 01:30 local is 23.5 h old.
    rows = [
        {"id": 1, "opened": "2024-10-27 00:30", "replied": None, "closed": None},
        {"id": 2, "opened": "2024-10-27 01:30", "replied": None, "closed": None},
    ]
    config = write_project(
        tmp_path,
        {"t": tickets(rows)},
        {
            "old": "name: old\nkind: backlog\ndataset: t\nopened: opened\nclosed: closed\n"
            "older_than: 24h\nperiod: day\n"
        },
        {"t.jsonl": jsonl(rows)},
    )
    result = run(config)
    assert values(result, "old")[dt.date(2024, 10, 27)] == 1


def test_a_calendar_without_a_timezone_keeps_the_data_zone_wall_clock(tmp_path: Path) -> None:
    # Opened Friday 17:30 Berlin, replied Monday 09:15 Berlin (given in UTC): 45
    # business minutes on a 09:00–18:00 calendar in the data's zone.
    rows = [
        {"id": 1, "opened": "2024-03-01 17:30", "replied": "2024-03-04T08:15:00Z", "closed": None}
    ]
    config = write_project(
        tmp_path,
        {"t": tickets(rows)},
        {
            "frt": "name: frt\nkind: duration\ndataset: t\nfrom_field: opened\nto_field: replied\n"
            "unit: min\ncalendar: {hours: {mon-fri: '09:00-18:00'}}\n"
        },
        {"t.jsonl": jsonl(rows)},
    )
    assert values(run(config), "frt")[None] == pytest.approx(45)


# ------------------------------------------------- item 2: names differing in case


def _problems(config: Path) -> str:
    with pytest.raises(SpecError) as info:
        load_config(config)
    return "\n".join(str(p) for p in info.value.problems)


def test_datasets_differing_only_in_case_are_refused_with_their_line(tmp_path: Path) -> None:
    # `r` and `R` used to share one table: R's metric counted r's 400 rows.
    config = write_project(
        tmp_path,
        {"r": {"source": "csv", "path": "r.csv"}, "R": {"source": "csv", "path": "R.csv"}},
        {"m": "name: m\nkind: count\ndataset: R\n"},
        {"r.csv": "a\n" + "1\n" * 400, "R.csv": "a\n1\n"},
    )
    text = _problems(config)
    assert "cxengine.yaml:5: datasets.R: dataset 'R' differs from dataset 'r' only in case" in text


def test_fields_differing_only_in_case_are_refused_also_after_renaming(tmp_path: Path) -> None:
    # `x` reads column a, `X` reads column b: both would be one SQL column.
    fields = {"x": {"type": "integer", "column": "a"}, "X": {"type": "integer", "column": "b"}}
    config = write_project(
        tmp_path,
        {
            "r": {"source": "csv", "path": "r.csv", "fields": fields},
            "Q": {"source": "csv", "path": "r.csv"},
        },
        {"m": "name: m\nkind: mean\ndataset: r\nfield: X\n"},
        {"r.csv": "a,b\n1,2\n3,4\n"},
    )
    text = _problems(config)
    assert "datasets.r.fields.X: field 'X' differs from field 'x' only in case" in text


def test_a_join_keeps_fields_differing_only_in_case_apart(tmp_path: Path) -> None:
    # Left `score` and right `Score` are one SQL name: both sides get qualified names.
    config = write_project(
        tmp_path,
        {
            "resp": {
                "source": "csv",
                "path": "resp.csv",
                "fields": {"id": "integer", "score": "integer"},
            },
            "tix": {
                "source": "csv",
                "path": "tix.csv",
                "fields": {"id": "integer", "Score": "integer"},
            },
            "both": {"join": {"from": "resp", "to": "tix", "on": {"id": "id"}}},
        },
        {
            "left": "name: left\nkind: mean\ndataset: both\nfield: resp.score\n",
            "right": "name: right\nkind: mean\ndataset: both\nfield: tix.Score\n",
        },
        {"resp.csv": "id,score\n1,1\n2,3\n", "tix.csv": "id,Score\n1,10\n2,20\n"},
    )
    result = run(config)
    assert values(result, "left")[None] == 2
    assert values(result, "right")[None] == 15


def test_a_spec_naming_a_field_in_another_case_is_not_silently_another_column(
    tmp_path: Path,
) -> None:
    # JSON keys `score` and `Score`: the second is loaded as `Score_2` (with a note).
    # A spec asking for `Score` must not silently read `score`.
    config = write_project(
        tmp_path,
        {"r": {"source": "jsonl", "path": "r.jsonl"}},
        {
            "m": "name: m\nkind: mean\ndataset: r\nfield: score\n",
            "m2": "name: m2\nkind: mean\ndataset: r\nfield: Score\n",
        },
        {"r.jsonl": jsonl([{"score": 1, "Score": 5}, {"score": 3, "Score": 7}])},
    )
    result = run(config)
    assert values(result, "m")[None] == 2
    (problem,) = result.failed
    assert (
        "m2.yaml:4: field: 'Score' is not a field of dataset 'r' (did you mean 'Score_2'?)"
        in str(problem)
    )
    assert "m2" not in {v.metric for v in result.values}


# ------------------------------------------- item 6: filters checked, errors isolated

SCORES = "score,channel,tp,ok\n" + "".join(
    f"{i % 10},{'web' if i % 2 else 'phone'},2025-01-0{i % 9 + 1} 10:00,"
    f"{'yes' if i % 3 else 'no'}\n"
    for i in range(60)
)
DECLARED = {"score": "integer", "channel": "string", "tp": "datetime", "ok": "boolean"}


def _filter_project(root: Path, where: dict[str, str], fields: bool) -> Path:
    specs = {"good": "name: good\nkind: mean\ndataset: d\nfield: score\n"}
    for name, text in where.items():
        specs[name] = (
            f"name: {name}\nkind: mean\ndataset: d\nfield: score\nwhere: {json.dumps(text)}\n"
        )
    ds: dict[str, Any] = {"source": "csv", "path": "d.csv"}
    if fields:
        ds["fields"] = DECLARED
    return write_project(root, {"d": ds}, specs, {"d.csv": SCORES})


BAD_FILTERS = {
    # the attack's cases …
    "bare_text": ("channel", "must be a condition (true or false), but `channel` is a text"),
    "coalesce": ("coalesce(tp)", "must be a condition (true or false), but `COALESCE(tp)`"),
    "year_of_text": ("year(channel) = 2025", "year() needs a date or a datetime, but `channel`"),
    "cast_time": ("CAST(tp AS INTEGER) > 1", "a datetime cannot be converted to an integer"),
    "bad_date": ("tp > '2025-13-45'", "`'2025-13-45'` is not a valid date or time"),
    "mod_zero": ("score % 0 = 1", "`score % 0` divides by zero"),
    "round_digits": ("round(score, 2147483648) > 1", "whole number of digits from -38 to 38"),
    "escape": ("channel LIKE 'a%' ESCAPE 'xx'", "ESCAPE needs exactly one character"),
    # … and their class: other functions, operators, literals and fields
    "lower_number": ("lower(score) = 'a'", "lower() needs a text, but `score` is an integer"),
    "text_vs_number": ("channel = 5", "`channel` is a text and `5` is an integer"),
    "bad_number": ("score BETWEEN 1 AND 'ten'", "`'ten'` is not a number"),
    "bad_in": ("score IN (1, 'two')", "`'two'` is not a number"),
    "bool_text": ("ok = 'maybe'", "`'maybe'` is not true or false"),
    "and_number": ("channel = 'web' AND score", "each side of AND must be a condition"),
    "div_zero": ("score / 0.0 > 1", "divides by zero"),
    "time_plus": ("tp + 1 > 2", "+ needs an integer or a number, but `tp` is a datetime"),
    "month_bad": ("month('2025-02-30') = 2", "`'2025-02-30'` is not a valid date or time"),
    "round_column": ("round(score, score) > 1", "round() takes a written number of digits"),
    "escape_ilike": ("channel ILIKE 'a%' ESCAPE '!!'", "ESCAPE needs exactly one character"),
}


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "inferred"])
def test_filters_are_type_checked_and_located_each_in_its_spec(
    tmp_path: Path, declared: bool
) -> None:
    from cxengine.runner import validate_project

    config = _filter_project(tmp_path, {k: v[0] for k, v in BAD_FILTERS.items()}, declared)
    # Declared fields: `validate` finds every one without reading data; inferred
    # fields: `validate --with-data`, and `run` itself, spec by spec.
    _specs, problems = validate_project(load_config(config), with_data=not declared)
    found = {Path(p.file).stem: str(p) for p in problems}
    for name, (_text, message) in BAD_FILTERS.items():
        assert message in found.get(name, ""), (name, found.get(name))
        assert f"{name}.yaml:5: where: bad filter:" in found[name]
    assert "good" not in found
    assert len(problems) == len(BAD_FILTERS)


def test_filters_that_are_fine_pass_the_type_check(tmp_path: Path) -> None:
    fine = {
        "a": "tp >= '2025-01-03' AND tp < '2025-01-05 12:00'",
        "b": "year(tp) = 2025 AND month(tp) IN (1, 2)",
        "c": "CAST(channel AS INTEGER) > 3 OR ok",
        "d": "round(score * 1.5, 1) > 2 AND lower(trim(channel)) LIKE 'w%' ESCAPE '!'",
        "e": "coalesce(score, 0) > 1 AND score % 2 = 0 AND NOT ok = false",
        "f": "length(channel) = 3 AND score BETWEEN '1' AND 8.5",
    }
    config = _filter_project(tmp_path, fine, fields=True)
    result = run(config)
    assert not result.failed
    # CAST of a text that is not a number is empty for that row, not an error.
    assert values(result, "c")[None] is not None


def test_an_execution_error_fails_its_spec_only_and_the_run_is_stored(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cxengine.cli import cli

    # Passes every check, fails inside DuckDB: a modulo by a computed zero, and an
    # integer overflow. Each becomes its spec's located error; the rest is stored.
    config = _filter_project(
        tmp_path,
        {
            "mod_computed_zero": "score % (score - score) = 1",
            "overflow": "score * 9223372036854775807 > 1",
            "fine": "channel = 'web'",
        },
        fields=True,
    )
    (tmp_path / "metric_specs" / "both.yaml").write_text(
        "name: both\nkind: formula\nexpression: good + overflow\n", "utf-8"
    )
    out = CliRunner().invoke(cli, ["--config", str(config), "run", "--json"])
    assert out.exit_code == 1, out.output
    doc = json.loads(out.stdout)
    assert {v["metric"] for v in doc["values"]} == {"good", "fine"}
    errors = "\n".join(doc["errors"])
    assert (
        "mod_computed_zero.yaml:1: name: metric 'mod_computed_zero' could not be computed (DuckDB: "
        in errors
    )
    assert "Division by zero" in errors
    assert "overflow.yaml:1: name: metric 'overflow' could not be computed" in errors
    assert "both.yaml:1: name: metric 'both' cannot be computed: it depends on 'overflow'" in errors
    assert "3 of 5 metrics could not be computed" in out.stderr
    assert "Traceback" not in out.output
    import sqlite3

    with sqlite3.connect(tmp_path / "cx.db") as db:
        status, error = db.execute("SELECT status, error FROM runs").fetchone()
        stored = {m for (m,) in db.execute("SELECT DISTINCT metric FROM metric_values")}
    assert status == "ok" and "overflow.yaml:1" in error
    assert stored == {"good", "fine"}


# -------------------------------------- item 8: inference gives way to what specs need


def _one_bad_value_project(root: Path) -> Path:
    lines = ["score,channel,at"] + [
        f"{i % 11},web,2025-01-{i % 28 + 1:02d} 10:00" for i in range(40)
    ]
    lines[7] = "пять,web,2025-01-07 10:00"  # one bad score, on line 8 of the file
    lines[12] = "7,web,someday"  # one bad time, on line 13
    return write_project(
        root,
        {"d": {"source": "csv", "path": "d.csv"}},
        {
            "avg": "name: avg\nkind: mean\ndataset: d\nfield: score\nwhere: score >= 0\n",
            "rec": "name: rec\nkind: nps\ndataset: d\nfield: score\ntime: at\nperiod: month\n",
            "by_channel": "name: by_channel\nkind: count\ndataset: d\nby: [channel]\n",
        },
        {"d.csv": "\n".join(lines) + "\n"},
    )


def test_a_field_inferred_as_text_for_one_bad_value_is_read_as_the_number_specs_need(
    tmp_path: Path,
) -> None:
    result = run(_one_bad_value_project(tmp_path))
    assert not result.failed
    scores = [i % 11 for i in range(40)]
    scores[11] = 7  # the row with the bad time
    del scores[6]  # the row that said пять
    assert values(result, "avg")[None] == pytest.approx(sum(scores) / len(scores))
    assert {v.n for v in result.values if v.metric == "avg" and not v.slice} == {39}
    bad = {(r.locator, r.field, r.value) for r in result.rejects if r.metric is None}
    assert bad == {("d.csv:8", "score", "пять"), ("d.csv:13", "at", "someday")}
    # Every row still counts for what it has: the count reads no typed field.
    assert values(result, "by_channel")[None] == 40
    notes = result.datasets["d"].notes
    assert any("field 'score' is read as number" in n and "'пять'" in n for n in notes)


def test_validate_names_the_value_that_broke_inference(tmp_path: Path) -> None:
    from cxengine.runner import validate_project

    config = _one_bad_value_project(tmp_path)
    _specs, problems = validate_project(load_config(config), with_data=True)
    text = "\n".join(str(p) for p in problems)
    assert all(p.severity == "warning" for p in problems), text
    assert (
        "avg.yaml:4: field: field 'score' of dataset 'd' would be inferred as text "
        "because of 'пять' (d.csv:8)" in text
    )
    assert "rec.yaml:5: time: field 'at' of dataset 'd' would be inferred as text" in text


# ------------------------------------------------------ item 17b: duplicate keys

TICKETS_CSV = "ticket_id,score\nT1,5\nT2,4\nT1,1\nT3,5\n,2\n,3\nT2,2\nT1,3\n"


@pytest.mark.parametrize("source", ["csv", "jsonl"])
def test_unique_keeps_the_first_row_and_rejects_later_duplicates_with_their_line(
    tmp_path: Path, source: str
) -> None:
    if source == "csv":
        data = TICKETS_CSV
    else:
        rows = [line.split(",") for line in TICKETS_CSV.splitlines()[1:]]
        data = jsonl([{"ticket_id": t or None, "score": int(s)} for t, s in rows])
    fields = {"ticket_id": {"type": "string", "unique": True}, "score": "integer"}
    config = write_project(
        tmp_path,
        {"t": {"source": source, "path": f"t.{source}", "fields": fields, "key": "ticket_id"}},
        {"avg": "name: avg\nkind: mean\ndataset: t\nfield: score\n"},
        {f"t.{source}": data},
    )
    result = run(config)
    ds = result.datasets["t"]
    # T1 (line 2), T2, T3 and the two rows without an id are kept; 3 later rows are not.
    assert (ds.rows_read, ds.rows_used, ds.rows_rejected) == (8, 5, 3)
    assert values(result, "avg")[None] == pytest.approx((5 + 4 + 5 + 2 + 3) / 5)
    first = 2 if source == "csv" else 1
    dupes = sorted((r.locator, r.value, r.reason) for r in result.rejects if r.field == "ticket_id")
    assert [(loc, v) for loc, v, _ in dupes] == [
        (f"t.{source}:{first + 2}", "T1"),
        (f"t.{source}:{first + 6}", "T2"),
        (f"t.{source}:{first + 7}", "T1"),
    ]
    assert f"is already used by t.{source}:{first} (the first row is kept)" in dupes[0][2]


def test_duplicate_values_of_a_dataset_key_are_reported_with_examples(tmp_path: Path) -> None:
    config = write_project(
        tmp_path,
        {"t": {"source": "csv", "path": "t.csv", "key": "ticket_id"}},
        {"n": "name: n\nkind: count\ndataset: t\n"},
        {"t.csv": TICKETS_CSV},
    )
    result = run(config)
    assert values(result, "n")[None] == 8  # reported, not removed
    (note,) = [n for n in result.datasets["t"].notes if n.startswith("key 'ticket_id'")]
    assert "2 value(s) occur more than once (3 extra rows)" in note
    assert "'T1' at t.csv:2 and t.csv:4" in note
    assert "'T2' at t.csv:3 and t.csv:8" in note


# ------------------------------------------- item 19: every problem in one pass

ONE_DATASET = {
    "d": {
        "source": "csv",
        "path": "d.csv",
        "fields": {"score": "integer", "channel": "string", "at": "datetime"},
    }
}


def _validate(tmp_path: Path, spec: str) -> list[str]:
    from cxengine.runner import validate_project

    config = write_project(tmp_path, ONE_DATASET, {"a": spec}, {"d.csv": "score\n1\n"})
    _specs, problems = validate_project(load_config(config))
    return [f"{p.line}: {p.path}: {p.message}" for p in problems]


def test_a_misspelt_key_does_not_hide_the_other_mistakes(tmp_path: Path) -> None:
    spec = "name: a\nkind: mean\ndataset: d\nfeild: score\nfield: scor\ntime: att\nby: [chanel]\n"
    assert _validate(tmp_path, spec) == [
        "4: feild: unknown key 'feild' (did you mean 'field'?)",
        "5: field: 'scor' is not a field of dataset 'd' (did you mean 'score'?). "
        "Fields: at, channel, score",
        "6: time: 'att' is not a field of dataset 'd' (did you mean 'at'?). "
        "Fields: at, channel, score",
        "7: by[0]: 'chanel' is not a field of dataset 'd' (did you mean 'channel'?). "
        "Fields: at, channel, score",
    ]


def test_a_bad_value_does_not_hide_an_unknown_slice_field(tmp_path: Path) -> None:
    spec = (
        "name: a\nkind: mean\ndataset: d\nfeld: score\nfield: score\n"
        "period: fortnight\nby: [chanel]\n"
    )
    problems = _validate(tmp_path, spec)
    assert problems[0] == "4: feld: unknown key 'feld' (did you mean 'field'?)"
    assert problems[1] == (
        "6: period: must be one of day, week, month, quarter, year, none (got 'fortnight')"
    )
    assert problems[2].startswith("7: by[0]: 'chanel' is not a field")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "name: a\nkind: share\ndataset: d\nfield: score\nscale: 5\n",
            "5: scale: must be a mapping of keys to values (got 5)",
        ),
        (
            "name: a\nkind: share\ndataset: d\nfield: score\npositive: {mn: 4}\n",
            "5: positive.mn: unknown key 'mn' (did you mean 'min'?)",
        ),
        (
            "name: a\nkind: duration\ndataset: d\nfrom_field: at\nto_field: at\n"
            "calendar: {hours: {mon: '09:00-17:00'}, timezon: UTC}\n",
            "6: calendar.timezon: unknown key 'timezon' (did you mean 'timezone'?)",
        ),
        (
            "name: a\nkind: mean\ndataset: d\nfield: score\ntarget: {fail_belw: 3}\n",
            "5: target.fail_belw: unknown key 'fail_belw' (did you mean 'fail_below'?)",
        ),
        (
            "name: A B\nkind: mean\ndataset: d\nfield: score\n",
            "1: name: must be a name of lowercase letters, digits and _, starting with a "
            "letter (at most 64) (got 'A B')",
        ),
        (
            "name: a\nkind: mean\ndataset: d\nfield: score\nperiod: mnth\n",
            "5: period: must be one of day, week, month, quarter, year, none (got 'mnth') "
            "(did you mean 'month'?)",
        ),
    ],
)
def test_nested_keys_get_did_you_mean_and_no_pydantic_wording(
    tmp_path: Path, spec: str, expected: str
) -> None:
    problems = _validate(tmp_path, spec)
    assert expected in problems
    for text in problems:
        for raw in (
            "Input should",
            "valid dictionary",
            "instance of",
            "Value error",
            "function-after",
            "union[",
        ):
            assert raw not in text, text


def test_config_problems_are_worded_plainly_with_nested_did_you_mean(tmp_path: Path) -> None:
    config = write_project(
        tmp_path,
        {
            "d": {
                "source": "csv",
                "path": "d.csv",
                "fields": {"score": {"tipe": "integer"}},
                "min_n": "x",
            }
        },
        {"a": "name: a\nkind: count\ndataset: d\n"},
    )
    text = _problems(config)
    assert "datasets.d.fields.score.tipe: unknown key 'tipe' (did you mean 'type'?)" in text
    assert "Input should" not in text and "Value error" not in text


# ------------------------------------------- item 10 (rest): plugins, and deep YAML


def _plugin_module(tmp_path: Path, name: str, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body), "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))


def _run_main(*args: str) -> int:
    from cxengine.cli import main

    with pytest.raises(SystemExit) as code:
        main(list(args))
    return int(code.value.code or 0)


def test_a_plugin_with_an_unknown_hook_is_skipped_and_named_not_fatal(
    tmp_path: Path,
    fake_entry_points: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `register_kinds` is not a hook (register_aggregations is): pluggy's check_pending
    # used to raise after loading, outside the per-plugin guard — every command died.
    _plugin_module(
        tmp_path,
        "cxengine_typo_hook_plugin",
        """
        from cxengine.api import hookimpl

        @hookimpl
        def register_kinds(register):
            pass
        """,
        monkeypatch,
    )
    fake_entry_points("typo", "cxengine_typo_hook_plugin")
    project = tmp_path / "p"
    config = write_project(
        project, {"d": {"source": "csv", "path": "d.csv"}}, {"n": count_spec()}, {"d.csv": "a\n1\n"}
    )
    monkeypatch.chdir(project)
    try:
        assert _run_main("--config", str(config), "run", "--json") == 0
        out, err = capsys.readouterr()
        assert json.loads(out)["values"]
        assert "plugin 'typo'" in err
        assert "implements 'register_kinds', which is not a cxengine hook" in err
        assert "skipped" in err
        assert _run_main("--strict-plugins", "--config", str(config), "run", "--json") == 3
        assert "register_kinds" in capsys.readouterr().err
    finally:
        import sys

        sys.modules.pop("cxengine_typo_hook_plugin", None)


def test_a_plugin_that_hangs_at_import_is_given_up_on(
    tmp_path: Path, fake_entry_points: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import cxengine.plugins as plugins

    _plugin_module(
        tmp_path,
        "cxengine_hanging_plugin",
        "import threading\nthreading.Event().wait()\n",
        monkeypatch,
    )
    monkeypatch.setenv(plugins.TIMEOUT_ENV, "0.3")
    monkeypatch.setattr(plugins, "SLOW_LOAD_S", 0.05)
    fake_entry_points("hangs", "cxengine_hanging_plugin")
    warnings: list[str] = []
    try:
        pm = plugins.get_plugin_manager(warn=warnings.append)
    finally:
        sys.modules.pop("cxengine_hanging_plugin", None)
    assert any("still loading plugin 'hangs'" in w for w in warnings), warnings
    assert any(
        "plugin 'hangs'" in w and "did not finish loading within 0.3 s" in w for w in warnings
    ), warnings
    assert [f.name for f in pm.failures] == ["hangs"]
    assert pm.get_plugin("hangs") is None


def count_spec(dataset: str = "d", name: str = "rows") -> str:
    return f"name: {name}\nkind: count\ndataset: {dataset}\n"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: x\nkind: count\nwhere: " + "[" * 5000 + "]" * 5000 + "\n", 3),
        ("name: x\nkind: count\nby: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", 3),
        ("name: x\nkind: count\ntags:\n" + "".join("  " * i + "- \n" for i in range(1, 100)), 67),
    ],
)
def test_deep_nesting_is_refused_with_its_line_before_the_yaml_is_composed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: int
) -> None:
    import yaml

    from cxengine.yamlsafe import YamlProblems, load_file

    def compose(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the composer recursed into the nesting")

    monkeypatch.setattr(yaml, "compose", compose)
    path = tmp_path / "deep.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(YamlProblems) as info:
        load_file(path, "deep.yaml")
    assert [str(p) for p in info.value.problems] == [
        f"deep.yaml:{line}: nesting deeper than 64 levels"
    ]


@pytest.mark.parametrize("field", ["c_n", "c_positive", "c_sum"])
def test_a_slice_field_named_like_an_internal_count_stays_a_slice(
    tmp_path: Path, field: str
) -> None:
    # The grouped query named its counts c_<count>: a slice field `c_n` was read as
    # the count n (slice 'a' became 2). Counts now carry the reserved _cx_ prefix.
    config = write_project(
        tmp_path,
        {"d": {"source": "csv", "path": "d.csv"}},
        {
            "m": f"name: m\nkind: mean\ndataset: d\nfield: score\nby: [{field}]\n",
            "s": f"name: s\nkind: share\ndataset: d\nfield: score\npositive: [5]\nby: [{field}]\n",
        },
        {"d.csv": f"score,{field}\n1,a\n3,a\n5,b\n"},
    )
    result = run(config)
    by_slice = {(v.metric, v.slice[field]): (v.value, v.n) for v in result.values if v.slice}
    assert by_slice == {
        ("m", "a"): (2.0, 2),
        ("m", "b"): (5.0, 1),
        ("s", "a"): (0.0, 2),
        ("s", "b"): (100.0, 1),
    }


ORDER_EVENTS = "order_id,customer_id,ordered_at,channel\n" + "".join(
    f"{i},{'abcdefg'[i % 7]},2025-{1 + i % 5:02d}-{1 + (i * 3) % 27:02d} "
    f"{('00:30', '23:30', '12:00', '12:00')[i % 4]}:00,{'web' if i % 2 else 'app'}\n"
    for i in range(60)
)


def test_customer_kinds_give_the_same_values_on_any_zone_for_the_same_wall_clock(
    tmp_path: Path,
) -> None:
    # The same local times declared in UTC and in Europe/Berlin (across the March
    # change, stamps near midnight): the instants differ by 1-2 h, but every period,
    # window and 30-day inactivity is read on the wall clock and in elapsed time the
    # same way, so churn, repeat purchase and the backlog-style windows agree.
    specs = {
        "churn": "name: churn\nkind: churn\ndataset: o\nactivity: ordered_at\n"
        "customer: customer_id\ninactive_after_days: 30\nperiod: month\n",
        "repeat": "name: repeat\nkind: repeat_purchase\ndataset: o\ncustomer: customer_id\n"
        "purchase: ordered_at\nby: [channel]\nperiod: month\nwithin_days: 45\n",
        "n": "name: n\nkind: count\ndataset: o\ntime: ordered_at\nperiod: week\n",
    }
    results = []
    for zone in ("UTC", "Europe/Berlin"):
        fields = {
            "order_id": "string",
            "customer_id": "string",
            "ordered_at": {"type": "datetime", "timezone": zone},
            "channel": "string",
        }
        root = tmp_path / zone.replace("/", "_")
        config = write_project(
            root,
            {"o": {"source": "csv", "path": "o.csv", "fields": fields}},
            specs,
            {"o.csv": ORDER_EVENTS},
        )
        result = run(config)
        assert not result.failed
        results.append(
            sorted((v.metric, str(v.period), v.slice_key, v.value, v.n) for v in result.values)
        )
    assert results[0] == results[1]
