"""The example project of `cxengine init`: files, determinism, data shape, deliberate errors."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from cxengine.errors import ConfigError
from cxengine.scaffold import (
    example_specs,
    generate_customers,
    generate_responses,
    generate_tickets,
    init_project,
    standard_specs,
    write_responses_csv,
)
from cxengine.scaffold.comments import AGENTS, EN, RU, comment_pool

RESPONSE_COLUMNS = [
    "response_id", "submitted_at", "touchpoint", "channel", "agent", "customer_id",
    "recommend", "satisfaction", "effort", "comment", "ticket_id",
]  # fmt: skip
TOUCHPOINTS = {"website", "checkout", "onboarding", "support", "delivery", "renewal"}
STAMP = re.compile(r"^2025-\d\d-\d\d \d\d:\d\d:\d\d$")
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("example")
    init_project(target)
    return target


@pytest.fixture(scope="module")
def responses(project: Path) -> list[dict[str, str]]:
    with open(project / "data" / "responses.csv", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == RESPONSE_COLUMNS
        return list(reader)


@pytest.fixture(scope="module")
def tickets(project: Path) -> list[dict[str, Any]]:
    lines = (project / "data" / "tickets.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def customers(project: Path) -> list[dict[str, str]]:
    with open(project / "data" / "customers.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _nps(values: list[int]) -> float:
    return 100 * (sum(v >= 9 for v in values) - sum(v <= 6 for v in values)) / len(values)


# --- the project files ---------------------------------------------------------------


def test_writes_the_project_files(tmp_path: Path) -> None:
    result = init_project(tmp_path / "proj", rows=300)
    root = tmp_path / "proj"
    expected = {
        "cxengine.yaml", "README.md", ".gitignore",
        "data/responses.csv", "data/tickets.jsonl", "data/customers.csv",
        "data/invitations.csv",
    }  # fmt: skip
    written = {p.as_posix() for p in result.files}
    assert expected <= written
    assert all(p.is_file() for p in result.paths())
    invitations = result.rows.pop("invitations")
    assert result.rows == {"responses": 300, "tickets": 150, "customers": 75}
    assert invitations > 300  # every response was invited, most invitations unanswered
    assert "cx.db*" in (root / ".gitignore").read_text().splitlines()
    readme = (root / "README.md").read_text()
    for command in ("cxengine run", "cxengine validate", "cxengine run --json"):
        assert command in readme


def test_copies_every_standard_spec_that_runs_on_the_example_data(tmp_path: Path) -> None:
    result = init_project(tmp_path, rows=50)
    specs = example_specs()
    assert result.specs == [name for name, _ in specs]
    # The CSI example needs the restaurant reviews (examples/restaurant_csi), not copied.
    left_out = {name for name, _ in standard_specs()} - set(result.specs)
    assert left_out == {"csi_restaurant.yaml"}
    for name, content in specs:
        assert (tmp_path / "metric_specs" / name).read_bytes() == content
    assert (tmp_path / "metric_specs").is_dir()


def test_config_parses_and_declares_the_datasets(project: Path) -> None:
    config = yaml.safe_load((project / "cxengine.yaml").read_text(encoding="utf-8"))
    assert config["database"] == "cx.db"
    assert config["metrics"] == ["metric_specs"]
    datasets = config["datasets"]
    assert set(datasets) == {
        "responses", "tickets", "customers", "invitations",
        "answered_tickets", "answered_invitations",
    }  # fmt: skip
    joins = {name: d["join"] for name, d in datasets.items() if "join" in d}
    assert {n: (j["from"], j["to"]) for n, j in joins.items()} == {
        "answered_tickets": ("responses", "tickets"),
        "answered_invitations": ("responses", "invitations"),
    }
    assert (datasets["responses"]["source"], datasets["responses"]["path"]) == (
        "csv", "data/responses.csv",
    )  # fmt: skip
    assert (datasets["tickets"]["source"], datasets["tickets"]["path"]) == (
        "jsonl", "data/tickets.jsonl",
    )  # fmt: skip
    assert (datasets["customers"]["source"], datasets["customers"]["path"]) == (
        "csv", "data/customers.csv",
    )  # fmt: skip
    assert datasets["responses"]["comments"] == {
        "field": "comment", "key": "response_id", "language": "auto",
    }  # fmt: skip
    types = {"integer", "number", "string", "datetime", "date", "boolean"}
    for name, dataset in datasets.items():
        for field, spec in dataset.get("fields", {}).items():
            kind = spec if isinstance(spec, str) else spec["type"]
            assert kind in types, (name, field)
    assert list(datasets["responses"]["fields"]) == RESPONSE_COLUMNS
    assert datasets["responses"]["fields"]["recommend"] == "integer"
    assert datasets["tickets"]["fields"]["first_contact_resolved"] == "boolean"
    assert datasets["customers"]["fields"]["churned_at"] == "date"
    # Every declared path exists in the project.
    assert all((project / d["path"]).is_file() for d in datasets.values() if "path" in d)


def test_refuses_an_existing_project_without_force(tmp_path: Path) -> None:
    init_project(tmp_path, rows=40)
    (tmp_path / "cxengine.yaml").write_text("database: mine.db\n")
    with pytest.raises(ConfigError, match=r"cxengine\.yaml already exists.*--force"):
        init_project(tmp_path, rows=40)
    assert (tmp_path / "cxengine.yaml").read_text() == "database: mine.db\n"
    init_project(tmp_path, rows=40, force=True)
    assert "database: cx.db" in (tmp_path / "cxengine.yaml").read_text()


def test_refuses_to_overwrite_data_without_force(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "responses.csv").write_text("mine\n")
    with pytest.raises(ConfigError, match=r"data/responses\.csv"):
        init_project(tmp_path, rows=40)
    assert (tmp_path / "data" / "responses.csv").read_text() == "mine\n"


def test_keeps_an_existing_readme_and_gitignore(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# My repo\n")
    (tmp_path / ".gitignore").write_text("*.pyc")
    result = init_project(tmp_path, rows=40)
    assert (tmp_path / "README.md").read_text() == "# My repo\n"
    assert Path("README.md") in result.skipped
    assert (tmp_path / ".gitignore").read_text().splitlines() == ["*.pyc", "cx.db*", ".cxengine/"]
    init_project(tmp_path, rows=40, force=True)  # cx.db* is not added twice
    assert (tmp_path / ".gitignore").read_text().count("cx.db*") == 1


def test_refuses_a_file_as_target(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        init_project(target)


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    def snapshot(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    init_project(tmp_path / "a", rows=500, seed=3)
    init_project(tmp_path / "b", rows=500, seed=3)
    init_project(tmp_path / "c", rows=500, seed=4)
    a, b, c = snapshot(tmp_path / "a"), snapshot(tmp_path / "b"), snapshot(tmp_path / "c")
    assert a == b
    assert a["data/responses.csv"] != c["data/responses.csv"]
    assert a["data/tickets.jsonl"] != c["data/tickets.jsonl"]
    assert a["data/customers.csv"] != c["data/customers.csv"]


# --- responses -----------------------------------------------------------------------


def test_responses_shape(responses: list[dict[str, str]]) -> None:
    assert len(responses) == 4000
    assert responses[0]["response_id"] == "R00001"
    assert responses[-1]["response_id"] == "R04000"
    assert len({r["response_id"] for r in responses}) == 4000
    assert all(STAMP.match(r["submitted_at"]) for r in responses)
    stamps = [r["submitted_at"] for r in responses]
    assert stamps == sorted(stamps)
    assert {r["submitted_at"][:7] for r in responses} == {f"2025-{m:02d}" for m in range(1, 13)}
    touchpoints = Counter(r["touchpoint"] for r in responses)
    assert set(touchpoints) == TOUCHPOINTS
    assert max(touchpoints.values()) > 2 * min(touchpoints.values())  # uneven volumes
    assert set(Counter(r["channel"] for r in responses)) == {"web", "email", "phone", "chat"}
    names = {a.name for a in AGENTS}
    for r in responses:
        if r["touchpoint"] == "support":
            assert r["agent"] in names
        else:
            assert r["agent"] == ""
    assert all(re.fullmatch(r"C\d{5}", r["customer_id"]) for r in responses)


def test_responses_scores_in_range_apart_from_the_deliberate_errors(
    responses: list[dict[str, str]],
) -> None:
    bad: Counter[str] = Counter()
    for r in responses:
        rec, sat, eff = _int(r["recommend"]), _int(r["satisfaction"]), _int(r["effort"])
        if rec is None or not 0 <= rec <= 10:
            bad[f"recommend={r['recommend']}"] += 1
        if sat is None or not 1 <= sat <= 5:
            bad[f"satisfaction={r['satisfaction']}"] += 1
        assert eff is not None and 1 <= eff <= 7
    assert set(bad) == {"recommend=11", "recommend=-1", "satisfaction=five"}
    assert 10 <= sum(bad.values()) <= 40  # about 0.5 %


def test_scores_are_realistic_per_touchpoint(responses: list[dict[str, str]]) -> None:
    by: dict[str, list[dict[str, str]]] = {}
    for r in responses:
        by.setdefault(r["touchpoint"], []).append(r)
    nps: dict[str, float] = {}
    for touchpoint, rows in by.items():
        recs = [v for r in rows if (v := _int(r["recommend"])) is not None and 0 <= v <= 10]
        sats = [v for r in rows if (v := _int(r["satisfaction"])) is not None]
        nps[touchpoint] = _nps(recs)
        csat = 100 * sum(s >= 4 for s in sats) / len(sats)
        assert -20 <= nps[touchpoint] <= 60, touchpoint
        assert 55 <= csat <= 90, touchpoint
    assert nps["website"] > nps["delivery"] + 20
    assert nps["website"] > nps["support"] + 20
    # Scores agree with each other.
    pairs = [
        (int(r["recommend"]), int(r["satisfaction"]))
        for r in responses
        if r["recommend"].lstrip("-").isdigit() and r["satisfaction"].isdigit()
    ]
    low = [s for rec, s in pairs if rec <= 4]
    high = [s for rec, s in pairs if rec >= 9]
    assert sum(low) / len(low) + 1.5 < sum(high) / len(high)


def test_delivery_dips_in_november(responses: list[dict[str, str]]) -> None:
    monthly: dict[int, list[int]] = {}
    for r in responses:
        rec = _int(r["recommend"])
        if r["touchpoint"] == "delivery" and rec is not None and 0 <= rec <= 10:
            monthly.setdefault(int(r["submitted_at"][5:7]), []).append(rec)
    november = _nps(monthly[11])
    others = [_nps(v) for m, v in monthly.items() if m != 11]
    assert november < min(others) - 10


def test_comments_mix_languages_and_agree_with_scores(responses: list[dict[str, str]]) -> None:
    comments = [r["comment"] for r in responses]
    empty = sum(not c for c in comments) / len(comments)
    assert 0.25 <= empty <= 0.45
    written = [c for c in comments if c]
    russian = sum(bool(CYRILLIC.search(c)) for c in written) / len(written)
    assert 0.2 <= russian <= 0.4
    negative = {s for lang in (EN, RU) for tp in lang.values() for s in tp["negative"]}
    positive = {s for lang in (EN, RU) for tp in lang.values() for s in tp["positive"]}
    for r in responses:
        sat = _int(r["satisfaction"])
        if not r["comment"] or sat is None:
            continue
        if sat >= 4:
            assert not any(r["comment"].startswith(s) for s in negative), r
        if sat <= 2:
            assert not any(r["comment"].startswith(s) for s in positive), r
    text = " ".join(written).lower()
    for theme in ("courier", "курьер", "доставк", "оператор", "сайт", "оплат", "цен",
                  "ожидани", "website", "payment", "price", "wait"):  # fmt: skip
        assert theme in text, theme


def test_russian_agent_comments_agree_in_gender() -> None:
    olivia = " ".join(comment_pool("ru", "support", "positive", "Olivia"))
    timur = " ".join(comment_pool("ru", "support", "positive", "Timur"))
    assert "Оливия" in olivia and "решила" in olivia and "решил " not in olivia
    assert "Тимур" in timur and "решил " in timur and "решила" not in timur
    assert "оператору Оливии" in olivia
    for pool in (olivia, timur):
        assert "[" not in pool and "{" not in pool


def test_generators_return_dicts_and_are_deterministic() -> None:
    a = generate_responses(300, seed=11)
    assert a == generate_responses(300, seed=11)
    assert a != generate_responses(300, seed=12)
    assert list(a[0]) == RESPONSE_COLUMNS
    assert generate_tickets(100, seed=11) == generate_tickets(100, seed=11)
    assert generate_customers(100, seed=11) == generate_customers(100, seed=11)


def test_write_responses_csv_streams_what_generate_returns(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    assert write_responses_csv(path, n=1200, seed=5) == 1200
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected = [{k: str(v) for k, v in row.items()} for row in generate_responses(1200, seed=5)]
    assert rows == expected


# --- tickets -------------------------------------------------------------------------


def test_tickets_shape_and_timings(tickets: list[dict[str, Any]]) -> None:
    assert len(tickets) == 2000
    assert set(tickets[0]) >= {
        "ticket_id", "created_at", "first_response_at", "resolved_at", "channel", "agent",
        "team", "first_contact_resolved", "csat", "reopened",
    }  # fmt: skip
    assert {t["channel"] for t in tickets} == {"phone", "chat", "email", "social", "web_form"}
    assert {t["team"] for t in tickets} == {"tier1", "tier2", "billing"}
    assert all(isinstance(t["first_contact_resolved"], bool) for t in tickets)
    assert all(isinstance(t["reopened"], bool) for t in tickets)
    assert all(t["csat"] is None or 1 <= t["csat"] <= 5 for t in tickets)
    assert any(t["csat"] is None for t in tickets) and any(t["csat"] for t in tickets)

    def minutes(t: dict[str, Any], end: str) -> float:
        delta = datetime.fromisoformat(t[end]) - datetime.fromisoformat(t["created_at"])
        return delta.total_seconds() / 60

    frt: dict[str, list[float]] = {}
    for t in tickets:
        if t["first_response_at"]:
            frt.setdefault(t["channel"], []).append(minutes(t, "first_response_at"))
    median = {c: sorted(v)[len(v) // 2] for c, v in frt.items()}
    assert 2 <= median["phone"] <= 4
    assert 1 <= median["chat"] <= 2
    assert 30 <= median["social"] <= 90
    assert 60 <= median["email"] <= 24 * 60
    assert 60 <= median["web_form"] <= 24 * 60
    assert max(frt["email"]) > 24 * 60  # a long tail

    negative = [
        t for t in tickets if t["first_response_at"] and minutes(t, "first_response_at") < 0
    ]
    assert 2 <= len(negative) <= 3
    resolved = [t for t in tickets if t["resolved_at"]]
    assert all(minutes(t, "resolved_at") > 0 for t in resolved)
    open_ = [t for t in tickets if t["resolved_at"] is None]
    assert 5 <= len(open_) <= 0.05 * len(tickets)
    recent = sum(t["created_at"] >= "2025-12-01" for t in open_)
    assert recent > len(open_) / 2  # the backlog is mostly recent
    assert any(t["first_response_at"] is None for t in tickets)
    assert not any(t["first_contact_resolved"] for t in open_)


# --- customers -----------------------------------------------------------------------


def test_customers_shape(customers: list[dict[str, str]], responses: list[dict[str, str]]) -> None:
    assert len(customers) == 1000
    assert list(customers[0]) == [
        "customer_id", "signed_up_at", "churned_at", "plan", "region", "orders",
    ]  # fmt: skip
    ids = {c["customer_id"] for c in customers}
    assert {r["customer_id"] for r in responses} <= ids
    assert {c["signed_up_at"][:4] for c in customers} == {"2023", "2024", "2025"}
    churned = [c for c in customers if c["churned_at"]]
    assert 0.15 <= len(churned) / len(customers) <= 0.25
    assert all(c["signed_up_at"] < c["churned_at"] <= "2025-12-31" for c in churned)
    assert any(c["churned_at"].startswith("2025") for c in churned)
    assert {c["plan"] for c in customers} == {"basic", "pro", "enterprise"}
    orders = [int(c["orders"]) for c in customers]
    assert min(orders) >= 0
    repeat = sum(o >= 2 for o in orders) / sum(o >= 1 for o in orders)
    assert 0.3 <= repeat <= 0.8
