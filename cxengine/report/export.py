"""Write a flat table of values as CSV, Parquet, Excel or JSON, with the right types.

Dates are dates and numbers are numbers in every format that has types: an `.xlsx`
opens in Excel or LibreOffice with real date cells (formatted yyyy-mm-dd) and numeric
cells, a Parquet file has date32, float64, int64 and bool columns.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

from cxengine.report.flat import FlatTable
from cxengine.textsafe import visible

FORMATS = ("csv", "parquet", "xlsx", "json")


def write(table: FlatTable, fmt: str, path: Path) -> None:
    """Write the table to `path` in `fmt` (one of FORMATS), replacing the file whole."""
    writer = {"csv": _csv, "parquet": _parquet, "xlsx": _xlsx, "json": _json}[fmt]
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        writer(table, tmp)
        tmp.replace(path)  # a reader never sees half a file
    finally:
        tmp.unlink(missing_ok=True)


def csv_text(table: FlatTable) -> str:
    """The table as CSV text (dates ISO, empty cells for None, formula-like text defused)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([defuse_formula(c) for c in table.columns])
    for row in table.rows:
        w.writerow([_csv_cell(row.get(k)) for k in table.columns])
    return buf.getvalue()


# A spreadsheet runs a cell that starts with one of these as a formula ("=HYPERLINK(…)",
# "@SUM(…)", "=cmd|' /C calc'!A0"). Slice values come from customers' data, so a text
# cell that starts with one is prefixed with an apostrophe, the OWASP advice for CSV
# injection; spreadsheets show the text and hide the apostrophe. Numbers are never text
# here, so "-0.5" as a value is untouched.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def defuse_formula(text: str) -> str:
    """`text` as a spreadsheet shows it literally: a leading formula character is escaped."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv_cell(x: Any) -> Any:
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, date):
        return x.isoformat()
    if isinstance(x, str):
        return defuse_formula(x)
    return x


def json_rows(table: FlatTable) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts (dates ISO)."""
    return [
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
        for row in table.rows
    ]


def _csv(table: FlatTable, path: Path) -> None:
    # utf-8-sig: Excel opens a CSV with a BOM as UTF-8 (Cyrillic slice values stay readable).
    path.write_text(csv_text(table), encoding="utf-8-sig")


def _json(table: FlatTable, path: Path) -> None:
    path.write_text(
        json.dumps(json_rows(table), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _parquet(table: FlatTable, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {
        "text": pa.string(),
        "date": pa.date32(),
        "number": pa.float64(),
        "integer": pa.int64(),
        "boolean": pa.bool_(),
    }
    arrays = {}
    for col in table.columns:
        kind = table.type_of(col)
        cells = [row.get(col) for row in table.rows]
        if kind == "number":
            cells = [None if c is None else float(c) for c in cells]
        arrays[col] = pa.array(cells, type=types[kind])
    pq.write_table(pa.table(arrays), path)


def _xlsx_cell(value: Any) -> Any:
    return visible(value, keep="\n\t") if isinstance(value, str) else value


def _xlsx(table: FlatTable, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook(write_only=False)
    ws = wb.active
    assert ws is not None
    ws.title = "values"
    ws.append(table.columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    formats = {"date": "yyyy-mm-dd", "number": "0.0###", "integer": "0"}
    kinds = [table.type_of(c) for c in table.columns]
    for row in table.rows:
        # Excel cells cannot hold C0 control characters (openpyxl refuses the whole
        # workbook): a slice value with an ESC in it is written with the escape shown.
        ws.append([_xlsx_cell(row.get(c)) for c in table.columns])
        for cell, kind in zip(ws[ws.max_row], kinds, strict=True):
            if kind in formats and cell.value is not None:
                cell.number_format = formats[kind]
            elif cell.data_type == "f":
                # Text from data that looks like a formula ("=cmd|…") stays text.
                cell.data_type = "s"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for i, col in enumerate(table.columns, start=1):
        width = max([len(col)] + [len(str(r.get(col) or "")) for r in table.rows[:200]])
        ws.column_dimensions[ws.cell(1, i).column_letter].width = min(40, width + 2)
    wb.save(path)
