"""The `excel` source: a sheet of an .xlsx workbook, loaded end to end like any dataset.

Workbooks are written with openpyxl inside each test, so the cells carry Excel's own
types (numbers as doubles, dates as datetimes) exactly as a real export does.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest

from cxengine.config import DatasetConfig
from cxengine.dataset.load import LoadedDataset, load_dataset
from cxengine.default_plugins.sources.excel import ExcelSource
from cxengine.errors import DataError
from cxengine.plugins import get_registry

FIELDS = {"id": "string", "score": "integer", "answered": "date", "comment": "string"}


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def load(base: Path, options: dict[str, Any]) -> tuple[LoadedDataset, list[tuple[Any, ...]]]:
    con = duckdb.connect()
    cfg = DatasetConfig.model_validate({"source": "excel", **options, "fields": FIELDS})
    ds = load_dataset(con, "survey", cfg, ExcelSource(), base_dir=base)
    assert ds.rows_read == ds.rows_used + ds.rows_rejected
    assert len(ds.rejects) == ds.rows_rejected + sum(ds.cells_rejected.values())
    rows = con.execute(
        f'SELECT id, score, answered, comment FROM "{ds.table}" ORDER BY _cx_row'
    ).fetchall()
    return ds, rows


ANSWERS = [
    ["id", "score", "answered", "comment"],
    ["r1", 5, dt.datetime(2025, 3, 1), "Быстро и вежливо"],
    ["r2", 4.0, dt.datetime(2025, 3, 2), None],  # Excel keeps every number as a double
    ["r3", "пять", dt.datetime(2025, 3, 2), "a word in a score cell"],
    [None, None, None, None],  # a styled empty row: formatting, not a record
    ["r4", 1, dt.datetime(2025, 3, 4), "slow"],
]


def test_excel_registers_like_every_other_source() -> None:
    assert "excel" in get_registry(load_entry_points=False).sources


def test_a_sheet_loads_with_typed_cells_and_rejects_point_at_excel_rows(tmp_path: Path) -> None:
    workbook(tmp_path / "survey.xlsx", {"Responses": ANSWERS})
    ds, rows = load(tmp_path, {"path": "survey.xlsx"})
    assert rows == [
        ("r1", 5, dt.date(2025, 3, 1), "Быстро и вежливо"),
        ("r2", 4, dt.date(2025, 3, 2), None),
        ("r3", None, dt.date(2025, 3, 2), "a word in a score cell"),
        ("r4", 1, dt.date(2025, 3, 4), "slow"),
    ]
    assert (ds.rows_read, ds.rows_used, ds.rows_rejected) == (4, 4, 0)
    assert ds.cells_rejected == {"score": 1}
    (reject,) = ds.rejects
    # Row 4 as Excel shows it: header on row 1, r3 on row 4.
    assert reject.locator == "survey.xlsx[Responses]:4"
    assert reject.field == "score" and reject.value == "пять"


def test_the_sheet_is_chosen_by_name_or_position(tmp_path: Path) -> None:
    workbook(tmp_path / "book.xlsx", {"Notes": [["x"], ["y"]], "Responses": ANSWERS})
    by_name, _ = load(tmp_path, {"path": "book.xlsx", "sheet": "Responses"})
    by_position, _ = load(tmp_path, {"path": "book.xlsx", "sheet": 2})
    assert by_name.rows_read == by_position.rows_read == 4


def test_a_header_below_a_title_row(tmp_path: Path) -> None:
    workbook(tmp_path / "report.xlsx", {"Sheet": [["Survey export, March 2025"], *ANSWERS]})
    ds, rows = load(tmp_path, {"path": "report.xlsx", "header_row": 2})
    assert rows[0][0] == "r1"
    assert ds.rejects[0].locator == "report.xlsx[Sheet]:5"


def test_a_misspelt_sheet_is_an_error_that_lists_the_sheets(tmp_path: Path) -> None:
    workbook(tmp_path / "book.xlsx", {"Responses": ANSWERS, "Tickets": [["id"]]})
    with pytest.raises(DataError, match=r"no sheet 'Responce'.*did you mean 'Responses'.*Tickets"):
        load(tmp_path, {"path": "book.xlsx", "sheet": "Responce"})


def test_a_file_that_is_not_a_workbook_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "fake.xlsx").write_text("id,score\n1,5\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"fake.xlsx: not a readable .xlsx workbook"):
        load(tmp_path, {"path": "fake.xlsx"})


def test_old_binary_workbooks_are_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DataError, match=r"\.xls workbooks are not supported; save the sheet as"):
        load(tmp_path, {"path": "old.xls"})
