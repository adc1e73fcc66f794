"""Joins, bands, drivers and weights in a whole project: validate, run, JSON, database, gate.

A small project: answers (some linked to tickets), tickets, invitations with a
segment. What the issue asks for, end to end: CSAT by first-response band through a
joined dataset with matched/unmatched counts; a duplicate key in a one-to-one join
refused with an example; weighted NPS with its effective-n interval beside the
unweighted value in `run`, `--json` and the results database.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from cxengine.cli import cli

CONFIG = """\
database: cx.db
metrics: [metric_specs]
datasets:
  responses:
    source: csv
    path: responses.csv
    fields: {response_id: string, ticket_id: string, segment: string, recommend: integer,
             satisfaction: integer, channel: string}
  tickets:
    source: csv
    path: tickets.csv
    fields: {ticket_id: string, frt_min: number, reopened: boolean, channel: string}
  invitations:
    source: csv
    path: invitations.csv
    fields: {invitation_id: string, segment: string}
  answered_tickets:
    join:
      from: responses
      to: tickets
      on: {ticket_id: ticket_id}
      how: {how}
      expect: one
"""
CSAT_BY_FRT = """\
name: csat_by_frt_band
kind: share
dataset: answered_tickets
field: satisfaction
scale: [1, 5]
where: "ticket_id IS NOT NULL AND tickets.channel <> 'spam'"
by: [{field: frt_min, bands: [0, 5, 30, 120, 1440]}]
"""
NPS_BY_REOPENED = """\
name: nps_by_reopened
kind: drivers
dataset: answered_tickets
score: recommend
factors: [reopened, {field: frt_min, bands: [0, 30]}]
min_n: 1
"""
NPS_WEIGHTED = """\
name: nps
kind: nps
dataset: responses
field: recommend
weights: {by: segment, population: invitations}
min_n: 5
"""

# (frt_min, reopened, satisfaction, recommend) of the answers about tickets.
LINKED = [(2, False, 5, 10)] * 6 + [(45, False, 4, 9)] * 3 + [(45, True, 2, 3)] * 3
LINKED += [(2000, True, 1, 0)] * 2


def _write(root: Path, how: str = "left", duplicate: bool = False) -> Path:
    (root / "metric_specs").mkdir(parents=True)
    (root / "cxengine.yaml").write_text(CONFIG.replace("{how}", how), encoding="utf-8")
    for name, text in (("csat_by_frt_band", CSAT_BY_FRT), ("nps_by_reopened", NPS_BY_REOPENED),
                       ("nps", NPS_WEIGHTED)):  # fmt: skip
        (root / "metric_specs" / f"{name}.yaml").write_text(text, encoding="utf-8")
    responses = ["response_id,ticket_id,segment,recommend,satisfaction,channel"]
    tickets = ["ticket_id,frt_min,reopened,channel"]
    for i, (frt, reopened, sat, rec) in enumerate(LINKED):
        responses.append(f"R{i},T{i},smb,{rec},{sat},web")
        tickets.append(f"T{i},{frt},{str(reopened).lower()},chat")
    # Answers without a ticket: enterprise customers, who answer far more often.
    for i in range(20):
        responses.append(f"E{i},,enterprise,{9 if i % 2 else 10},5,email")
    responses.append("X1,T404,smb,8,4,web")  # links to a ticket that does not exist
    tickets.append("T900,10,false,phone")  # a ticket nobody answered about
    if duplicate:
        tickets.append("T1,99,true,email")
    invitations = ["invitation_id,segment"]
    invitations += [f"I{i},smb" for i in range(150)] + [f"J{i},enterprise" for i in range(50)]
    for name, lines in (("responses", responses), ("tickets", tickets),
                        ("invitations", invitations)):  # fmt: skip
        (root / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _cx(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(root / "cxengine.yaml"), *args])
    return result.exit_code, result.stdout, result.stderr


def _overall(doc: dict, metric: str) -> dict:
    return next(v for v in doc["values"] if v["metric"] == metric and not v["slice"]
                and v["period"] is None)  # fmt: skip


def test_csat_by_frt_band_through_a_join_with_matched_counts(tmp_path: Path) -> None:
    root = _write(tmp_path)
    code, out, err = _cx(root, "run", "--json")
    assert code == 0, err
    doc = json.loads(out)
    join = doc["datasets"]["answered_tickets"]["join"]
    assert join == {"from_rows": 35, "from_matched": 14, "from_unmatched": 21, "to_rows": 15,
                    "to_matched": 14, "to_unmatched": 1, "joined_rows": 35}  # fmt: skip
    bands = [(v["slice"]["frt_min_band"], v["value"], v["n"]) for v in doc["values"]
             if v["metric"] == "csat_by_frt_band" and v["slice"]]  # fmt: skip
    # Listed in band order, not alphabetically (X1's ticket is missing: filtered out).
    assert [b[0] for b in bands] == ["0–5 min", "30–120 min", "≥ 1440 min"]
    assert bands[0][1:] == (100.0, 6) and bands[2][1:] == (0.0, 2)
    assert bands[1][1] == pytest.approx(50.0)


def test_drivers_rank_levels_with_interval_test_and_share(tmp_path: Path) -> None:
    root = _write(tmp_path)
    code, out, err = _cx(root, "run", "--json", "--metric", "nps_by_reopened")
    assert code == 0, err
    listed = [v for v in json.loads(out)["values"]
              if v["metric"] == "nps_by_reopened" and v["period"] is None]  # fmt: skip
    # Listed per factor, in the spec's order, largest effect first inside each.
    factors = [v["slice"]["driver"].split(" = ")[0] for v in listed]
    assert factors == ["reopened", "reopened", "frt_min_band", "frt_min_band"]
    values = {v["slice"]["driver"]: v for v in listed}
    reopened = values["reopened = true"]
    # 5 reopened answers, all detractors (−100), vs 9 promoters (100): −200 points.
    assert reopened["value"] == pytest.approx(-200.0)
    assert reopened["ci_low"] < reopened["value"] < reopened["ci_high"] < 0
    # A two-level factor: both levels are the same gap, one each way.
    assert "rank" in reopened["note"] and "35.7 % of answers" in reopened["note"]
    assert values["reopened = false"]["value"] == pytest.approx(200.0)
    assert set(values) >= {"frt_min_band = 0–30 min", "frt_min_band = ≥ 30 min"}
    db = sqlite3.connect(root / "cx.db")
    counts = json.loads(db.execute(
        "SELECT counts FROM metric_values WHERE metric = 'nps_by_reopened' AND slice LIKE ?",
        ('%reopened = true%',),
    ).fetchone()[0])  # fmt: skip
    assert counts["n"] == 5 and counts["n_rest"] == 9 and counts["rank"] in (1, 2)
    assert counts["p_value"] < 0.05 and counts["share"] == pytest.approx(100 * 5 / 14)
    ranks = [json.loads(c)["rank"] for (c,) in db.execute(
        "SELECT counts FROM metric_values WHERE metric = 'nps_by_reopened' AND period = ''"
        " ORDER BY rowid")]  # fmt: skip
    assert ranks == [1, 2, 1, 2]


def test_weighted_nps_beside_the_unweighted_in_json_table_and_database(tmp_path: Path) -> None:
    root = _write(tmp_path)
    code, out, err = _cx(root, "run", "--json", "--metric", "nps")
    assert code == 0, err
    doc = json.loads(out)
    plain, weighted = _overall(doc, "nps"), _overall(doc, "nps_weighted")
    # smb: 15 answers (9 promoters, 5 detractors), 75 % of the invited; enterprise:
    # 20 answers, all promoters, 25 %. Weighted NPS = .75 × 4/15 × 100 + .25 × 100.
    assert weighted["value"] == pytest.approx(75 * 4 / 15 + 25)
    assert plain["value"] == pytest.approx(100 * (29 - 5) / 35)
    w = [0.75 / (15 / 35)] * 15 + [0.25 / (20 / 35)] * 20
    n_eff = sum(w) ** 2 / sum(x * x for x in w)
    assert weighted["n"] == int(n_eff) and plain["n"] == 35
    assert "effective n" in weighted["note"] and "design effect" in weighted["note"]
    info = doc["weighting"]["nps"]
    assert info["effective_n"] == pytest.approx(n_eff) and info["messages"] == []
    code, table, _ = _cx(root, "run", "--metric", "nps", "--detail")
    assert (
        code == 0
        and "nps_weighted" in table
        and table.index("[nps:") < table.index("[nps_weighted:")
    )
    db = sqlite3.connect(root / "cx.db")
    stored = dict(db.execute(
        "SELECT metric, value FROM metric_values WHERE slice = '{}' AND period = ''"
        " AND run_id = (SELECT max(run_id) FROM metric_values) ORDER BY metric"
    ).fetchall())  # fmt: skip
    assert stored["nps_weighted"] == pytest.approx(weighted["value"])
    kinds = dict(db.execute("SELECT metric, kind FROM metrics").fetchall())
    assert kinds["nps_weighted"] == "nps"


def test_gate_tests_a_weighted_value_with_its_effective_n(tmp_path: Path) -> None:
    root = _write(tmp_path)
    assert _cx(root, "run", "--metric", "nps")[0] == 0
    assert _cx(root, "baseline", "save", str(root / "baseline.json"))[0] == 0
    saved = json.loads((root / "baseline.json").read_text(encoding="utf-8"))
    assert "nps_weighted" in json.dumps(saved)
    code, out, err = _cx(
        root, "run", "--json", "--metric", "nps", "--baseline", str(root / "baseline.json")
    )
    assert code == 0, err
    checks = {c["metric"]: c for c in json.loads(out)["checks"]["checks"] if not c["slice"]}
    w = [0.75 / (15 / 35)] * 15 + [0.25 / (20 / 35)] * 20
    n_eff = sum(w) ** 2 / sum(x * x for x in w)
    weighted = checks["nps_weighted"]
    assert weighted["current_n"] == weighted["baseline_n"] == int(n_eff) < 35
    assert weighted["method"] == "NPS difference z-test" and weighted["verdict"] == "pass"
    assert checks["nps"]["current_n"] == 35


def test_duplicate_key_in_a_one_to_one_join_is_refused_with_an_example(tmp_path: Path) -> None:
    root = _write(tmp_path, duplicate=True)
    code, _, err = _cx(root, "run")
    assert code == 1
    assert "cxengine.yaml:" in err and "answered_tickets.join.expect" in err
    assert "ticket_id = 'T1' (2 rows)" in err


def test_inner_join_stores_unmatched_answers_as_rejects(tmp_path: Path) -> None:
    root = _write(tmp_path, how="inner")
    code, out, err = _cx(root, "run", "--json", "--metric", "csat_by_frt_band")
    assert code == 0, err
    assert json.loads(out)["datasets"]["answered_tickets"]["rejected"] == 21
    db = sqlite3.connect(root / "cx.db")
    reasons = [
        r[0]
        for r in db.execute(
            "SELECT reason FROM rejects WHERE dataset = 'answered_tickets' ORDER BY locator"
        )
    ]
    assert "inner join with tickets: no tickets row with ticket_id = T404" in reasons
    assert reasons.count("inner join with tickets: ticket_id is empty") == 20


def test_validation_locates_join_band_and_weight_problems(tmp_path: Path) -> None:
    root = _write(tmp_path)
    config = (root / "cxengine.yaml").read_text(encoding="utf-8")
    config = config.replace("on: {ticket_id: ticket_id}", "on: {ticket_id: frt_min}")
    (root / "cxengine.yaml").write_text(config, encoding="utf-8")
    spec = root / "metric_specs" / "nps.yaml"
    spec.write_text(NPS_WEIGHTED.replace("segment", "segmnt"), encoding="utf-8")
    band = root / "metric_specs" / "csat_by_frt_band.yaml"
    band.write_text(CSAT_BY_FRT.replace("field: frt_min", "field: channel"), encoding="utf-8")
    code, out, err = _cx(root, "validate")
    text = out + err
    assert code == 1
    assert "join.on.ticket_id: key types differ: responses.ticket_id is string, " \
           "tickets.frt_min is number" in text  # fmt: skip
    assert "nps.yaml:5: weights.by[0]: 'segmnt' is not a field of dataset 'responses'" in text
    band = "csat_by_frt_band.yaml:7: by[0].field: field 'channel' is string, but this needs"
    assert band in text
