"""Reading export files into header rows and records that know where they came from.

Vendors' CSV and XLSX exports put one to three header rows above the data (question,
answer option, import id); JSON exports hold one object per ticket. Every record keeps
a locator a person can open (`export.csv:17`, the physical line where the record
starts, counting lines inside quoted fields; `export.xlsx[Sheet1]:17`; `tickets.json:3`
or `tickets.json tickets[2]`), so a reject points at the vendor's file, not at an
internal row number.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxengine_exports._host import DataError, Reject

SNIFF_BYTES = 64 * 1024


@dataclass
class Record:
    """One data row: its cells (text, aligned with the header) and where it is."""

    cells: list[str]
    locator: str


@dataclass
class Table:
    """Header rows and a lazy stream of records; malformed rows land in ``rejects``."""

    headers: list[list[str]]
    records: Iterator[Record]
    rejects: list[Reject] = field(default_factory=list)


def fingerprint(path: Path) -> str:
    """Content hash of the export (what makes a run id change when the file does)."""
    digest = hashlib.blake2b(digest_size=20)
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return "blake2b:" + digest.hexdigest()


def decode(path: Path, encoding: str, where: str) -> str:
    """Read the whole file as text: ``auto`` is UTF-8 (with or without BOM), else cp1251.

    Exports are read whole: they are downloads from a web UI (megabytes, not
    gigabytes), and a bad byte must name its line rather than garble the file.
    """
    raw = path.read_bytes()
    if encoding.lower() == "auto":
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            return raw.decode("utf-16")
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Russian Excel and 1C-era CRMs (Bitrix24, amoCRM) save "CSV" as cp1251.
            return raw.decode("cp1251", "replace")
    try:
        return raw.decode(encoding).removeprefix("\ufeff")
    except LookupError:
        raise DataError(f"{where}: unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{where}:{line}: the file is not {encoding} text ({exc.reason}); "
            "set `encoding:` to the export's encoding (or auto)"
        ) from None


def sniff_delimiter(text: str, candidates: str = ",;\t") -> str:
    """The candidate that splits the header line into the most fields."""
    first = text[:SNIFF_BYTES].split("\n", 1)[0]
    return max(candidates, key=lambda d: (first.count(d), -candidates.index(d)))


def read_csv(
    path: Path,
    *,
    label: str,
    dataset: str,
    header_rows: int = 1,
    encoding: str = "auto",
    delimiter: str | None = None,
) -> Table:
    """Split a delimited export into its header rows and records with line numbers."""
    where = f"dataset {dataset!r}: {label}"
    text = decode(path, encoding, where)
    delim = delimiter or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    headers: list[list[str]] = []
    try:
        while len(headers) < header_rows:
            row = next(reader, None)
            if row is None:
                break
            if row:  # blank lines above the header are not a header row
                headers.append([c.strip() for c in row])
    except csv.Error as exc:
        raise DataError(f"{where}:{reader.line_num}: cannot read the header: {exc}") from None
    if len(headers) < header_rows:
        if not headers:
            return Table(headers=[[] for _ in range(header_rows)], records=iter(()))
        raise DataError(
            f"{where}: this export has {header_rows} header rows; the file has only "
            f"{len(headers)} line(s)"
        )
    width = len(headers[0])
    table = Table(headers=headers, records=iter(()))
    table.records = _csv_records(reader, width, label, dataset, table.rejects)
    return table


def _csv_records(
    reader: Any, width: int, label: str, dataset: str, rejects: list[Reject]
) -> Iterator[Record]:
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            rejects.append(Reject(dataset, f"{label}:{start}", f"malformed CSV: {exc}"))
            return  # the reader cannot resynchronise after a broken quote
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if len(row) > width and not any(c.strip() for c in row[width:]):
            row = row[:width]  # trailing delimiters, as Excel writes them
        if len(row) != width:
            rejects.append(
                Reject(
                    dataset,
                    f"{label}:{start}",
                    f"{len(row)} fields where the header has {width}",
                )
            )
            continue
        yield Record(cells=row, locator=f"{label}:{start}")


def read_xlsx(
    path: Path, *, label: str, dataset: str, header_rows: int = 1, sheet: str | None = None
) -> Table:
    """Read the first (or the named) sheet of a workbook: header rows, then records."""
    import openpyxl  # slow to import; only the .xlsx exports need it

    where = f"dataset {dataset!r}: {label}"
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not xlsx
        raise DataError(f"{where}: not a readable .xlsx workbook ({exc})") from None
    if sheet is not None and sheet not in book.sheetnames:
        names = ", ".join(book.sheetnames)
        book.close()
        raise DataError(f"{where}: no sheet {sheet!r}; sheets: {names}")
    ws = book[sheet] if sheet is not None else book[book.sheetnames[0]]
    sheet_label = f"{label}[{ws.title}]"
    rows = ws.iter_rows(values_only=True)
    headers: list[list[str]] = []
    number = 0
    for row in rows:
        number += 1
        headers.append([_cell(c) for c in row])
        if len(headers) == header_rows:
            break
    width = max((len(h) for h in headers), default=0)
    while width and all(width > len(h) or not h[width - 1] for h in headers):
        width -= 1
    headers = [(h + [""] * width)[:width] for h in headers]

    def records() -> Iterator[Record]:
        try:
            for excel_row, row in enumerate(rows, start=number + 1):
                cells = [_cell(c) for c in row[:width]]
                if not any(cells):
                    continue
                yield Record(cells + [""] * (width - len(cells)), f"{sheet_label}:{excel_row}")
        finally:
            book.close()

    return Table(headers=headers, records=records())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat())
    return str(value).strip()


@dataclass
class JsonRecord:
    """One object of a JSON export and where it is."""

    value: dict[str, Any]
    locator: str


def read_json_objects(
    path: Path, *, label: str, dataset: str, list_keys: tuple[str, ...]
) -> tuple[Iterator[JsonRecord], list[Reject]]:
    """Objects of a JSON export: one per line (NDJSON), a top-level list, or a document
    whose ``list_keys`` member holds the list (an API page: ``{"tickets": [...]}``)."""
    where = f"dataset {dataset!r}: {label}"
    text = decode(path, "utf-8", where)
    rejects: list[Reject] = []
    stripped = text.lstrip()
    if not stripped:
        return iter(()), rejects
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if not _first_line_is_object(stripped):
            raise DataError(f"{where}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        # Not one document but one object per line (Zendesk's full JSON export).
        return _json_lines(text, label, dataset, rejects), rejects
    if isinstance(document, dict):
        found = next((k for k in list_keys if isinstance(document.get(k), list)), None)
        if found is None:
            # A single object of the export (one ticket): a list of one.
            items: list[Any] = [document]
            path_label = label
        else:
            items = document[found]
            path_label = f"{label} {found}"
    elif isinstance(document, list):
        items, path_label = document, label
    else:
        raise DataError(f"{where}: expected a JSON object or list, found {type(document).__name__}")

    def objects() -> Iterator[JsonRecord]:
        for i, item in enumerate(items):
            locator = f"{path_label}[{i}]"
            if not isinstance(item, dict):
                rejects.append(Reject(dataset, locator, "not a JSON object"))
                continue
            yield JsonRecord(item, locator)

    return objects(), rejects


def _first_line_is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text.split("\n", 1)[0]), dict)
    except json.JSONDecodeError:
        return False


def _json_lines(text: str, label: str, dataset: str, rejects: list[Reject]) -> Iterator[JsonRecord]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        locator = f"{label}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            rejects.append(
                Reject(dataset, locator, f"invalid JSON: {exc.msg} (column {exc.colno})")
            )
            continue
        if not isinstance(item, dict):
            rejects.append(Reject(dataset, locator, "not a JSON object"))
            continue
        yield JsonRecord(item, locator)
