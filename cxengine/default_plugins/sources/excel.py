"""The `excel` source: one sheet of an .xlsx / .xlsm workbook, as CX teams keep them.

Read with openpyxl in read-only mode, so a large workbook streams row by row instead
of being loaded whole. Cells come typed from Excel (numbers, dates, booleans) and are
turned into the same text every other source produces, so field types, scale checks
and rejects work exactly as for CSV. A reject points at the cell's row as Excel
numbers it: ``data/survey.xlsx[Responses]:17``.
"""

from __future__ import annotations

import zipfile
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from cxengine import hookimpl
from cxengine.dataset.files import FileHasher, input_file
from cxengine.dataset.notes import note, unique_names
from cxengine.dataset.rows import to_text
from cxengine.errors import DataError
from cxengine.interfaces import SourceContext, SourceData

if TYPE_CHECKING:
    import pyarrow as pa

BATCH = 10_000
_OLD_FORMATS = (".xls", ".xlsb", ".ods")


class ExcelOptions(BaseModel):
    """Options of the excel source."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="the .xlsx or .xlsm workbook, relative to cxengine.yaml")
    sheet: str | int | None = Field(
        None, description="sheet name, or its 1-based position; default the first sheet"
    )
    header_row: int = Field(
        1, ge=1, description="the row (as Excel numbers it) that holds the column names"
    )


class ExcelSource:
    """One sheet of an Excel workbook; the header row names the columns."""

    name = "excel"
    description = "one sheet of an .xlsx/.xlsm workbook (header row, typed cells)"
    options_model = ExcelOptions

    def input_files(self, context: SourceContext) -> list[Path]:
        """Return the file the rows are read from (for the rerun cache)."""
        opts = ExcelOptions.model_validate(context.options)
        return [input_file(context, opts.path)]

    def open(self, context: SourceContext) -> SourceData:
        """Open the workbook read-only, find the sheet and the header, describe the rows."""
        import pyarrow as pa

        opts = ExcelOptions.model_validate(context.options)
        path = input_file(context, opts.path)
        where = f"dataset {context.dataset!r}: {opts.path}"
        if path.suffix.lower() in _OLD_FORMATS:
            raise DataError(
                f"{where}: {path.suffix} workbooks are not supported; "
                "save the sheet as .xlsx (or CSV) and point the dataset at that file"
            )
        workbook = _open_workbook(path, where)
        try:
            sheet = _pick_sheet(workbook, opts.sheet, where)
            label = f"{opts.path}[{sheet.title}]"
            rows = sheet.iter_rows(min_row=opts.header_row, values_only=True)
            header = next(rows, None)
        except DataError:
            workbook.close()
            raise
        except Exception as exc:  # a damaged sheet inside a valid zip
            workbook.close()
            raise DataError(f"{where}: cannot read the sheet ({exc})") from None
        if header is None or all(cell is None for cell in header):
            workbook.close()
            note(f"{label}: row {opts.header_row} is empty: no header, so no rows")
            return SourceData(rows=[], origin=label, fingerprint=FileHasher(path).result)
        width = _header_width(header)
        names, messages = unique_names([to_text(c) or "" for c in header[:width]])
        for message in messages:
            note(f"{label}: {message}")
        excel_rows = array("q")  # 0-based data row -> Excel row number, for locators
        schema = pa.schema([(n, pa.string()) for n in names])
        reader = pa.RecordBatchReader.from_batches(
            schema, _batches(workbook, rows, names, width, opts.header_row, excel_rows, label)
        )

        def locate(indexes: Sequence[int]) -> Mapping[int, str]:
            return {i: f"{label}:{excel_rows[i]}" for i in indexes if i < len(excel_rows)}

        return SourceData(
            arrow=reader, origin=label, locate=locate, fingerprint=FileHasher(path).result
        )


def _open_workbook(path: Path, where: str) -> Any:
    import openpyxl  # imported here: it is slow to import and only this source needs it

    if not zipfile.is_zipfile(path):
        # Judged by content, not name: a CSV renamed .xlsx (or an .xlsx without an
        # extension) is common, and openpyxl's own refusal names neither file nor fix.
        raise DataError(
            f"{where}: not a readable .xlsx workbook (an .xlsx file is a zip archive, this "
            "is not); for a CSV or text export use `source: csv`"
        )
    try:
        # A file object rather than the name: openpyxl refuses names without an
        # .xlsx-like extension even when the content is a workbook.
        return openpyxl.load_workbook(path.open("rb"), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise DataError(f"{where}: not a readable .xlsx workbook ({exc})") from None


def _pick_sheet(workbook: Any, wanted: str | int | None, where: str) -> Any:
    names = list(workbook.sheetnames)
    if wanted is None:
        return workbook[names[0]]
    if isinstance(wanted, int):
        if not 1 <= wanted <= len(names):
            raise DataError(f"{where}: sheet {wanted} does not exist; it has {len(names)}")
        return workbook[names[wanted - 1]]
    if wanted not in names:
        from cxengine.errors import did_you_mean

        raise DataError(
            f"{where}: no sheet {wanted!r}{did_you_mean(wanted, names)}. Sheets: {', '.join(names)}"
        )
    return workbook[wanted]


def _header_width(header: Sequence[Any]) -> int:
    # Read-only sheets often report trailing empty columns: the last named column ends it.
    width = len(header)
    while width and header[width - 1] is None:
        width -= 1
    return width


def _cell_text(value: Any) -> str | None:
    # Excel stores every number as a double: 5 is read back as 5 or 5.0, so
    # integral values are written without '.0' and integer fields parse them.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return to_text(value)


def _batches(
    workbook: Any,
    rows: Iterator[tuple[Any, ...]],
    names: list[str],
    width: int,
    header_row: int,
    excel_rows: array[int],
    label: str,
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    extra_cells = 0
    try:
        columns: list[list[str | None]] = [[] for _ in names]
        for number, row in enumerate(rows, start=header_row + 1):
            # A row with no value at all is formatting, not a record (Excel keeps
            # styled empty rows at the end of a sheet); anything else is a row.
            if all(cell is None for cell in row):
                continue
            if any(cell is not None for cell in row[width:]):
                extra_cells += 1
            excel_rows.append(number)
            for i, col in enumerate(columns):
                col.append(_cell_text(row[i]) if i < len(row) else None)
            if len(columns[0]) >= BATCH:
                yield pa.record_batch([pa.array(c, pa.string()) for c in columns], names=names)
                columns = [[] for _ in names]
        if columns and columns[0]:
            yield pa.record_batch([pa.array(c, pa.string()) for c in columns], names=names)
    except Exception as exc:  # a damaged sheet: a located DataError, never a traceback
        raise DataError(
            f"{label}: cannot read the sheet after row {len(excel_rows)}: {exc}"
        ) from None
    finally:
        workbook.close()
    if extra_cells:
        note(f"{label}: {extra_cells} rows have values right of the last named column; ignored")


@hookimpl
def register_sources(register: Callable[..., None]) -> None:
    """Register the excel source."""
    register(ExcelSource())
