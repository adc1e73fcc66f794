"""Each export adapter reads its vendor's fixture into the standard specs.

The fixtures in tests/fixtures/ are written from each vendor's documented export
format (header rows, column names, date styles, encodings), with made-up answers
whose CSAT / NPS / CES / FRT are easy to count by hand: the expected values below
are those counts. Each fixture also holds one or two records with something wrong:
a broken record is rejected whole, a value that cannot be converted (an answer label
with no score, an unreadable date) is rejected in its field only, so the record's other
answers still count. The tests check each reject's locator points into the vendor's file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cxengine.testing import check_source, run_project, write_project

import cxengine_exports.plugin as exports

FIXTURES = Path(__file__).parent / "fixtures"
SURVEY_SPECS = ("csat", "nps", "ces")


def run_standard(
    root: Path, source: str, fixture: str, specs: tuple[str, ...], **options: Any
) -> dict[str, Any]:
    """Run standard specs over one export (as `responses` and `tickets`): overall values."""
    dataset = {"source": source, "path": str(FIXTURES / fixture), **options}
    # The fixtures live outside the test's project folder: allowed as a user would.
    config = write_project(
        root,
        {"responses": dataset, "tickets": dataset},
        standard=specs,
        allow_paths=[str(FIXTURES)],
    )
    result = run_project(config, exports)
    overall = {v.metric: v for v in result.values if v.period is None and not v.slice}
    return {name: overall[name] for name in specs}


def by_month(result_values: Any, metric: str) -> dict[dt.date, int]:
    return {v.period: v.n for v in result_values if v.metric == metric and not v.slice and v.period}


# ---------------------------------------------------------------- survey tools


def test_surveymonkey_csv_two_header_rows_and_answer_labels(tmp_path: Path) -> None:
    values = run_standard(
        tmp_path, "surveymonkey", "surveymonkey.csv", SURVEY_SPECS, timezone="America/New_York"
    )
    # Respondent 099 answered "Sort of" for satisfaction: only that answer is lost. Their
    # NPS 8 (a passive) and CES "Agree" (6, an easy one) count: 5 promoters and 3
    # detractors of 11, 7 easy of 11; CSAT 6 satisfied of the 10 who gave a usable answer.
    assert values["nps"].value == pytest.approx(200 / 11) and values["nps"].n == 11
    assert values["csat"].value == pytest.approx(60.0) and values["csat"].n == 10
    assert values["ces"].value == pytest.approx(700 / 11) and values["ces"].n == 11


def test_surveymonkey_rejects_an_unknown_label_at_its_physical_line(tmp_path: Path) -> None:
    run = check_source(
        "surveymonkey",
        {"path": "surveymonkey.csv", "timezone": "America/New_York"},
        base_dir=FIXTURES,
        plugins=[exports],
        locator=r"surveymonkey\.csv:\d+",
        read=11,
        used=11,
        rejected=0,
        bad_values=1,
    )
    # Two header rows, four answers, then a comment spanning two lines: line 8.
    reject = run.reject_at("surveymonkey.csv:8")
    assert reject.field == "satisfaction" and reject.value == "Sort of"
    assert "labels.satisfaction" in reject.reason
    # 11:40 PM on Nov 30 in New York is Dec 1 in UTC.
    last = run.rows[-1]["submitted_at"]
    assert last == dt.datetime(2024, 12, 1, 4, 40)
    assert run.rows[2]["comment"] == "Good, but the\nhold music was loud."
    assert {"response_id", "collector_id", "custom_data", "touchpoint"} <= set(run.fields)


def test_surveymonkey_xlsx_reads_like_the_csv(tmp_path: Path) -> None:
    import csv

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    with (FIXTURES / "surveymonkey.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            sheet.append([int(c) if c.isdigit() and len(c) < 4 else c for c in row])
    (tmp_path / "p").mkdir()
    book.save(tmp_path / "p" / "export.xlsx")  # inside the project folder
    values = run_standard(
        tmp_path / "p",
        "surveymonkey",
        str(tmp_path / "p" / "export.xlsx"),
        SURVEY_SPECS,
        timezone="America/New_York",
    )
    assert [values[m].value for m in SURVEY_SPECS] == pytest.approx([60.0, 200 / 11, 700 / 11])
    run = check_source(
        "surveymonkey",
        {"path": str(tmp_path / "p" / "export.xlsx")},
        base_dir=tmp_path,
        plugins=[exports],
        rejected=0,
        bad_values=1,
    )
    assert run.rejects[0].locator.endswith("export.xlsx[Sheet]:7")


def test_typeform_csv_hidden_fields_and_utc_dates(tmp_path: Path) -> None:
    values = run_standard(tmp_path, "typeform", "typeform.csv", SURVEY_SPECS)
    # Line 5 recommends "ten": its NPS is lost, its CSAT 5 and CES 7 count.
    assert (values["nps"].value, values["nps"].n) == (pytest.approx(30.0), 10)
    assert (values["csat"].value, values["csat"].n) == (pytest.approx(800 / 11), 11)
    assert (values["ces"].value, values["ces"].n) == (pytest.approx(700 / 11), 11)
    run = check_source(
        "typeform",
        {"path": "typeform.csv"},
        base_dir=FIXTURES,
        plugins=[exports],
        locator=r"typeform\.csv:\d+",
        rejected=0,
        bad_values=1,
    )
    assert run.reject_at("typeform.csv:5").field == "recommend"
    assert run.column("customer_id")[0] == "C200"
    assert set(run.column("touchpoint")) == {"delivery", "checkout"}
    assert run.column("response_id")[0] == "x7kq00ab9mzt4e1"
    assert run.rows[0]["submitted_at"] == dt.datetime(2024, 11, 10, 8, 0, 41)
    assert not run.notes  # the header says UTC: no zone is assumed


def test_google_forms_timestamp_in_the_forms_locale_and_zone(tmp_path: Path) -> None:
    options = {"locale": "en_US", "timezone": "America/Los_Angeles"}
    values = run_standard(tmp_path, "google_forms", "google_forms.csv", SURVEY_SPECS, **options)
    # Line 4's timestamp (31 November) is unreadable: with no time the response is in
    # no period, so no metric counts it, while the row itself is used.
    assert (values["nps"].value, values["nps"].n) == (pytest.approx(25.0), 8)
    assert values["csat"].value == pytest.approx(62.5)
    assert values["ces"].value == pytest.approx(62.5)
    run = check_source(
        "google_forms",
        {"path": "google_forms.csv", **options},
        base_dir=FIXTURES,
        plugins=[exports],
        rejected=0,
        bad_values=1,
    )
    bad = run.reject_at("google_forms.csv:4")
    assert bad.field == "submitted_at" and bad.value == "31/11/2024 10:00:00"
    # 11/5/2024 9:03:41 in Los Angeles (PST, UTC-8) is 17:03:41 UTC, November the 5th.
    assert run.rows[0]["submitted_at"] == dt.datetime(2024, 11, 5, 17, 3, 41)
    # 8:15 PM on Nov 30 in Los Angeles is already December in UTC.
    assert run.rows[-1]["submitted_at"] == dt.datetime(2024, 12, 1, 4, 15)


def test_google_forms_day_first_locale(tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text(
        "Отметка времени,Насколько вероятно что вы порекомендуете нас?\n"
        "05.11.2024 9:03:41,10\n25.11.2024 18:00:00,6\n",
        encoding="utf-8",
    )
    run = check_source(
        "google_forms",
        {"path": "f.csv", "locale": "ru_RU", "timezone": "Europe/Moscow"},
        base_dir=tmp_path,
        plugins=[exports],
        used=2,
    )
    assert run.column("submitted_at") == [
        dt.datetime(2024, 11, 5, 6, 3, 41),
        dt.datetime(2024, 11, 25, 15, 0),
    ]
    assert run.column("recommend") == [10, 6]


def test_qualtrics_three_header_rows_zone_from_import_id_and_previews(tmp_path: Path) -> None:
    values = run_standard(tmp_path, "qualtrics", "qualtrics.csv", SURVEY_SPECS)
    assert (values["nps"].value, values["nps"].n) == (pytest.approx(50.0), 10)
    assert values["csat"].value == pytest.approx(70.0)
    assert values["ces"].value == pytest.approx(70.0)
    run = check_source(
        "qualtrics",
        {"path": "qualtrics.csv"},
        base_dir=FIXTURES,
        plugins=[exports],
        locator=r"qualtrics\.csv:\d+",
        read=12,
        rejected=2,
    )
    preview = run.reject_at("qualtrics.csv:6")
    assert "Survey Preview" in preview.reason and preview.field == "status"
    assert "Spam" in run.reject_at("qualtrics.csv:10").reason
    # RecordedDate is in the zone its ImportId JSON names (America/Denver, UTC-7).
    assert run.rows[-1]["submitted_at"] == dt.datetime(2024, 12, 1, 3, 0)
    assert run.column("comment")[0] == "Setup was smooth"
    assert set(run.column("channel")) == {"web", "email"}
    assert set(run.column("touchpoint")) == {"onboarding"}  # embedded data


# ------------------------------------------------------------------- helpdesks


@pytest.mark.parametrize(
    ("fixture", "csat"),
    [
        # Good 6, bad 2; offered and not offered are no answer. Ticket 3198 ("created
        # yesterday") has no time, so it is in no period and counts nowhere.
        ("zendesk.jsonl", (75.0, 8)),
        # Ticket 3199's first reply "about an hour" is lost; its "Good" rating counts.
        ("zendesk.csv", (700 / 9, 9)),
    ],
)
def test_zendesk_json_and_csv_exports_frt_and_csat(
    tmp_path: Path, fixture: str, csat: tuple[float, int]
) -> None:
    values = run_standard(tmp_path, "zendesk", fixture, ("frt", "csat"))
    # First replies 2+3+1+120+40+4+2+1+7 = 180 min over 9 answered tickets.
    assert (values["frt"].value, values["frt"].n) == (pytest.approx(20.0), 9)
    assert (values["csat"].value, values["csat"].n) == (pytest.approx(csat[0]), csat[1])


def test_zendesk_rejects_keep_their_line(tmp_path: Path) -> None:
    run = check_source(
        "zendesk",
        {"path": "zendesk.jsonl"},
        base_dir=FIXTURES,
        plugins=[exports],
        locator=r"zendesk\.jsonl:\d+",
        read=12,
        rejected=1,  # the broken JSON line
        bad_values=1,  # created_at "yesterday"
    )
    assert "invalid JSON" in run.reject_at("zendesk.jsonl:6").reason
    assert run.reject_at("zendesk.jsonl:9").field == "created_at"
    assert set(run.column("channel")) == {"email", "web_form", "chat", "phone"}
    csv_run = check_source(
        "zendesk",
        {"path": "zendesk.csv"},
        base_dir=FIXTURES,
        plugins=[exports],
        read=11,
        rejected=0,
        bad_values=1,
    )
    assert csv_run.reject_at("zendesk.csv:4").field == "first_response_at"
    assert csv_run.column("agent")[0] == "Anna Petrova"


def test_freshdesk_first_response_from_time_or_hours(tmp_path: Path) -> None:
    values = run_standard(
        tmp_path, "freshdesk", "freshdesk.csv", ("frt", "csat"), timezone="Asia/Kolkata"
    )
    assert (values["frt"].value, values["frt"].n) == (pytest.approx(60.0), 7)
    assert (values["csat"].value, values["csat"].n) == (pytest.approx(80.0), 5)
    run = check_source(
        "freshdesk",
        {"path": "freshdesk.csv", "timezone": "Asia/Kolkata"},
        base_dir=FIXTURES,
        plugins=[exports],
        rejected=0,
        bad_values=1,
    )
    assert run.reject_at("freshdesk.csv:6").value == "Amazing"
    # 09:00 in Kolkata (UTC+5:30) is 03:30 UTC.
    assert run.rows[0]["created_at"] == dt.datetime(2024, 11, 4, 3, 30)


def test_intercom_conversations_from_the_api(tmp_path: Path) -> None:
    values = run_standard(tmp_path, "intercom", "intercom.json", ("frt", "csat"))
    # 60 + 120 + 30 + 90 + 300 s = 10 min over 5 replied conversations.
    assert (values["frt"].value, values["frt"].n) == (pytest.approx(2.0), 5)
    assert (values["csat"].value, values["csat"].n) == (pytest.approx(60.0), 5)
    run = check_source(
        "intercom", {"path": "intercom.json"}, base_dir=FIXTURES, plugins=[exports], rejected=1
    )
    assert run.rejects[0].locator == "intercom.json conversations[3]"
    assert set(run.column("channel")) == {"chat", "email"}


# ------------------------------------------------------------------------ CRMs


def test_bitrix24_cp1251_semicolons_russian_headers(tmp_path: Path) -> None:
    values = run_standard(
        tmp_path, "bitrix24", "bitrix24.csv", SURVEY_SPECS, timezone="Europe/Moscow"
    )
    # Deal 1299 scored NPS "десять": that answer is lost, its CSAT 5 and CES 7 count.
    assert (values["nps"].value, values["nps"].n) == (pytest.approx(25.0), 8)
    assert (values["csat"].value, values["csat"].n) == (pytest.approx(600 / 9), 9)
    assert (values["ces"].value, values["ces"].n) == (pytest.approx(600 / 9), 9)
    run = check_source(
        "bitrix24",
        {"path": "bitrix24.csv", "timezone": "Europe/Moscow"},
        base_dir=FIXTURES,
        plugins=[exports],
        rejected=0,
        bad_values=1,
    )
    assert run.reject_at("bitrix24.csv:5").value == "десять"
    assert run.column("agent")[0] == "Иванова Мария"
    assert run.column("channel")[:3] == ["phone", "email", "chat"]
    assert run.rows[0]["created_at"] == dt.datetime(2024, 11, 1, 7, 0)
    # Moscow is UTC+3 all year: 23:30 on Nov 30 stays in November in UTC.
    assert run.rows[-1]["submitted_at"] == dt.datetime(2024, 11, 30, 20, 30)


def test_amocrm_leads_with_survey_custom_fields(tmp_path: Path) -> None:
    values = run_standard(tmp_path, "amocrm", "amocrm.csv", SURVEY_SPECS, timezone="Europe/Moscow")
    assert (values["nps"].value, values["nps"].n) == (pytest.approx(50.0), 6)
    assert values["csat"].value == pytest.approx(400 / 6)
    assert values["ces"].value == pytest.approx(500 / 6)
    run = check_source(
        "amocrm",
        {"path": "amocrm.csv", "timezone": "Europe/Moscow"},
        base_dir=FIXTURES,
        plugins=[exports],
        rejected=0,
        bad_values=1,  # created 31 November: in no period, so no metric counts it
    )
    assert run.reject_at("amocrm.csv:8").field == "created_at"
    assert run.column("comment")[0] == "Хороший сервис"


# ---------------------------------------------------------------- file safety


@pytest.mark.parametrize("source", ["surveymonkey", "zendesk", "bitrix24"])
def test_an_export_outside_the_project_is_refused_unless_its_folder_is_allowed(
    tmp_path: Path, source: str
) -> None:
    """The adapters read files under cxengine's own rules, as the built-in sources do."""
    from cxengine.api import DataError, SourceContext

    outside = tmp_path / "elsewhere" / "export.csv"
    outside.parent.mkdir()
    outside.write_text("a,b\n1,2\n", encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    adapter = {s.name: s for s in _registered_sources()}[source]
    for path in (str(outside), "../elsewhere/export.csv"):
        context = SourceContext(source, {"path": path}, project)
        with pytest.raises(DataError, match="outside the project folder"):
            adapter.input_files(context)
    allowed = SourceContext(source, {"path": str(outside)}, project, (outside.parent,))
    assert adapter.input_files(allowed) == [outside]


def test_an_export_that_is_a_fifo_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    """Opening a named pipe would block the run until a writer appears."""
    import os

    from cxengine.api import DataError, SourceContext

    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    adapter = {s.name: s for s in _registered_sources()}["surveymonkey"]
    with pytest.raises(DataError, match="named pipe"):
        adapter.open(SourceContext("surveymonkey", {"path": "export.csv"}, tmp_path))


def _registered_sources() -> list[Any]:
    from cxengine.api import LazyEntry

    found: list[Any] = []
    exports.register_sources(register=found.append)
    return [item.load() if isinstance(item, LazyEntry) else item for item in found]
