"""The `csv` source: delimited text files, read by DuckDB's read_csv.

Python only looks at the first megabyte (encoding, delimiter, header) and, when a
locator is needed, re-reads the file up to the requested rows. DuckDB reads the
rows as text; malformed lines land in its reject table and come back as rejects
with their physical line numbers, computed from the byte positions DuckDB reports.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import sys
import weakref
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cxengine import hookimpl
from cxengine.dataset.encoding import (
    SAMPLE_BYTES,
    detect_encoding,
    is_utf8,
    newline_problem,
    normalize_encoding,
    normalize_newlines,
    sample_text,
    sniff_delimiter,
    transcode_to_utf8,
)
from cxengine.dataset.files import FileHasher, input_file, lines_at_offsets
from cxengine.dataset.notes import note, unique_names
from cxengine.dataset.sql import ident, run
from cxengine.default_plugins.sources.csv_lines import (
    CsvLayout,
    count_lines,
    dialect,
    lines_of_rows,
    row_start_lines,
)
from cxengine.interfaces import Reject, SourceContext, SourceData

if TYPE_CHECKING:
    import duckdb
else:
    from cxengine.lazy import duckdb

_scans = itertools.count()
#: DuckDB's read buffer: 4 lines of its 2 MiB maximum (the least it accepts). Its
#: default, 16 such lines, held ~80 MiB more at the peak of a 1M-row load (224 ->
#: 153 MiB in a test of the read alone) for no measurable speed.
BUFFER_BYTES = 8 << 20
csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))  # quoted comments can be long


class CsvOptions(BaseModel):
    """Options of the csv source."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="the CSV file, relative to cxengine.yaml")
    delimiter: str | None = Field(
        None, description="field separator; detected among , ; TAB | when absent"
    )
    quote: str = Field('"', description="quote character ('' for none)")
    escape: str | None = Field(
        None, description="escape character inside quotes; default: a doubled quote"
    )
    encoding: str = Field(
        "auto",
        description="auto (UTF-8 with/without BOM, UTF-16 with BOM, cp1251, latin-1) or a codec",
    )
    header: bool = Field(True, description="the first line (after skip_rows) names the columns")
    skip_rows: int = Field(0, ge=0, description="lines to skip before the header")

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = {"tab": "\t", "\\t": "\t"}.get(value.lower(), value)
        if len(value) != 1:
            raise ValueError(f"the delimiter must be one character, got {value!r}")
        return value

    @field_validator("quote", "escape")
    @classmethod
    def _at_most_one_char(cls, value: str | None) -> str | None:
        if value is not None and len(value) > 1:
            raise ValueError(f"must be one character, got {value!r}")
        return value


@dataclass
class _Scan:
    """What one open() learned about the file, shared by its relation, malformed and locate."""

    dataset: str
    path: Path  # the file as given
    read_path: Path  # what DuckDB reads: the file itself or a UTF-8 copy
    encoding: str  # Python codec of `path`
    origin: str
    delimiter: str
    quote: str
    escape: str
    header: bool
    skip_rows: int
    columns: list[str]
    lines_path: Path  # the file whose lines locators count: `path`, or a copy
    lines_encoding: str
    rejects_table: str = field(default_factory=lambda: f"_cx_csv_rejects_{next(_scans)}")
    malformed_lines: set[int] | None = None
    #: Rows DuckDB parsed (told by the loader), for the one-line-per-record check.
    rows: int | None = None
    malformed_records: int = 0
    #: When every record is one line: the lines that hold no row (skipped, header,
    #: blank, malformed), sorted; row i is then the i-th other line. None: not known
    #: yet; False: some record spans lines, the full index is needed.
    not_rows: list[int] | bool | None = None
    #: Start line of each parsed row, built on the first locate and shared by later ones.
    row_lines: array[int] | None = None
    row_lines_complete: bool = False

    @property
    def rejects_scan(self) -> str:
        return self.rejects_table + "_scans"


class CsvSource:
    """Delimited text files (CSV, TSV, semicolon-separated Excel exports)."""

    name = "csv"
    description = (
        "CSV/TSV files; encoding and delimiter detected; malformed lines rejected with line numbers"
    )
    options_model = CsvOptions

    def input_files(self, context: SourceContext) -> list[Path]:
        """Return the file the rows are read from (for the rerun cache)."""
        opts = CsvOptions.model_validate(context.options)
        return [input_file(context, opts.path)]

    def open(self, context: SourceContext) -> SourceData:
        """Inspect the file and describe how DuckDB reads it."""
        opts = CsvOptions.model_validate(context.options)
        path = input_file(context, opts.path)
        hasher = FileHasher(path)
        origin = opts.path
        if path.stat().st_size == 0:
            return SourceData(rows=[], origin=origin, fingerprint=hasher.result)

        with path.open("rb") as f:
            head = f.read(SAMPLE_BYTES + 1)
        if opts.encoding == "auto":
            encoding = detect_encoding(head[:SAMPLE_BYTES], complete=len(head) <= SAMPLE_BYTES)
        else:
            encoding = normalize_encoding(opts.encoding)
        if is_utf8(encoding):
            encoding, read_path = "utf-8-sig", path  # utf-8-sig also reads files without a BOM
        else:
            read_path = transcode_to_utf8(path, encoding)
        lines_path, lines_encoding = path, encoding  # what locators count lines in
        if problem := newline_problem(read_path):
            normalized, lone = normalize_newlines(read_path, problem)
            _unlink_copy(path, read_path)
            read_path = normalized
            # Locators count lines in the copy: its LF are the original's (or, for a
            # CR-only file, its CRs), and no stray CR is left to be read as a line end.
            lines_path, lines_encoding = read_path, "utf-8-sig"
            if problem == "cr":
                note(f"{origin}: lines end in CR only (old Mac format); read as LF")
            else:
                note(
                    f"{origin}: the file mixes line ends (CRLF and LF); read as LF"
                    + (f", {lone} stray carriage returns (CR) read as spaces" if lone else "")
                )

        text, complete = sample_text(read_path, "utf-8-sig")
        body = _after_lines(text, opts.skip_rows)
        if complete and not body.strip():
            # Only spaces and blank lines: an empty file, not a one-column table of blanks.
            _unlink_copy(path, read_path)
            return SourceData(rows=[], origin=origin, fingerprint=hasher.result)
        delimiter = opts.delimiter or sniff_delimiter(body, opts.quote)
        escape = opts.escape if opts.escape is not None else opts.quote
        first = _first_records(body, delimiter, opts.quote, escape)
        if not first:  # nothing but skipped lines
            _unlink_copy(path, read_path)
            return SourceData(rows=[], origin=origin, fingerprint=hasher.result)
        if opts.header:
            columns, messages = unique_names(first[0])
            for m in messages:
                note(f"{origin}: {m}")
            if sum(bool(_NUMERIC.fullmatch(c.strip())) for c in first[0]) * 2 > len(first[0]):
                note(
                    f"{origin}: the header line is mostly numbers ({', '.join(first[0][:5])}); "
                    "if the file has no header, set `header: false`"
                )
        else:
            widths = [len(r) for r in first if r]
            width = max(set(widths), key=widths.count)
            columns = [f"column_{i}" for i in range(1, width + 1)]

        scan = _Scan(
            context.dataset,
            path,
            read_path,
            encoding,
            origin,
            delimiter,
            opts.quote,
            escape,
            opts.header,
            opts.skip_rows,
            columns,
            lines_path=lines_path,
            lines_encoding=lines_encoding,
        )
        if read_path != path:
            # Fallback cleanup if malformed() is never called (an aborted load).
            weakref.finalize(scan, read_path.unlink, missing_ok=True)
        return SourceData(
            relation=lambda con: _relation(con, scan),
            origin=origin,
            locate=lambda rows: _locate(scan, rows),
            malformed=lambda con: _malformed(con, scan),
            fingerprint=hasher.result,
            rows_loaded=lambda n: setattr(scan, "rows", n),
        )


def _after_lines(text: str, n: int) -> str:
    if n == 0:
        return text
    parts = text.split("\n", n)
    return parts[n] if len(parts) > n else ""


def _first_records(
    text: str, delimiter: str, quote: str, escape: str, limit: int = 50
) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), **dialect(delimiter, quote, escape))  # type: ignore[arg-type]
    out: list[list[str]] = []
    try:
        for row in reader:
            if row:
                out.append(row)
            if len(out) >= limit:
                break
    except csv.Error:
        pass
    return out


def _relation(con: duckdb.DuckDBPyConnection, scan: _Scan) -> duckdb.DuckDBPyRelation:
    # Every user-controlled value is a bound parameter; the reject table names are ours.
    sql = (
        "SELECT * FROM read_csv($path, columns = $columns, auto_detect = false, header = $header, "
        "skip = $skip, delim = $delim, quote = $quote, escape = $escape, null_padding = false, "
        f"buffer_size = {BUFFER_BYTES}, "
        f"store_rejects = true, rejects_table = '{scan.rejects_table}', "
        f"rejects_scan = '{scan.rejects_scan}')"
    )
    params = {
        "path": str(scan.read_path),
        "columns": {c: "VARCHAR" for c in scan.columns},
        "header": scan.header,
        "skip": scan.skip_rows,
        "delim": scan.delimiter,
        "quote": scan.quote,
        "escape": scan.escape,
    }
    return con.sql(sql, params=params)


_EXPECTED = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_NUMERIC = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")


def _malformed(con: duckdb.DuckDBPyConnection, scan: _Scan) -> list[Reject]:
    """Read DuckDB's reject table into rejects located by physical line; clean up."""
    try:
        # One reject per bad record: DuckDB's `line` (its record count) identifies
        # the record. Its byte position gives the physical line, but DuckDB 2.0 can
        # report the position of the record before (after an empty quoted value,
        # `1,""a`); a record never starts before its record count, so the larger
        # of the two is used.
        rows = con.execute(
            "SELECT min(line_byte_position), "
            "any_value(error_type::VARCHAR ORDER BY byte_position), "
            f"any_value(error_message ORDER BY byte_position), "
            f"any_value(csv_line ORDER BY byte_position), line "
            f"FROM {ident(scan.rejects_table)} "
            "GROUP BY line ORDER BY line"
        ).fetchall()
        at = lines_at_offsets(scan.read_path, [r[0] for r in rows])
    finally:
        run(con, f"DROP TABLE IF EXISTS {ident(scan.rejects_table)}")
        run(con, f"DROP TABLE IF EXISTS {ident(scan.rejects_scan)}")
        if scan.lines_path != scan.read_path:  # else locate still reads it (finalizer)
            _unlink_copy(scan.path, scan.read_path)
    rejects = []
    lines = []
    for pos, kind, message, text, record in rows:
        line = max(at[pos], int(record or 0))
        lines.append(line)
        m = _EXPECTED.search(message or "")
        detail = f"expected {m[1]} columns, found {m[2]}" if m else (message or "").strip()
        if str(kind).lower() == "invalid encoding":
            # DuckDB only ever reads UTF-8 here (other encodings were transcoded first).
            detail = (
                "the line is not valid UTF-8 text; if the whole file is in another "
                "encoding (cp1251, latin-1), set `encoding:`"
            )
        if line > at[pos]:
            text = None  # DuckDB's text is then that of the wrong line too
        rejects.append(
            Reject(
                dataset=scan.dataset,
                locator=f"{scan.origin}:{line}",
                reason=f"malformed line ({str(kind).lower()}): {detail}",
                value=(text or "").strip("\r\n")[:200] or None,
            )
        )
    scan.malformed_lines = set(lines)
    scan.malformed_records = len(rows)
    return rejects


def _unlink_copy(path: Path, read_path: Path) -> None:
    if read_path != path:
        read_path.unlink(missing_ok=True)


def _locate(scan: _Scan, rows: Sequence[int]) -> Mapping[int, str]:
    """Map row indexes (rows DuckDB parsed, in order) to 'file:line' where each row starts."""
    if not rows:
        return {}
    if scan.not_rows is None:
        scan.not_rows = _single_line_records(scan) or False
    if scan.not_rows is not False:
        assert isinstance(scan.not_rows, list)
        lines = lines_of_rows(rows, scan.not_rows)
        return {r: f"{scan.origin}:{lines[r]}" for r in rows}
    last = max(rows)
    if scan.row_lines is None or (len(scan.row_lines) <= last and not scan.row_lines_complete):
        # The whole file at once: the type rejects and every metric's exclusions are
        # then located from this one index (a partial one was rebuilt per request).
        last = sys.maxsize
        layout = _layout(scan)
        scan.row_lines = row_start_lines(layout, last, scan.malformed_lines)
        scan.row_lines_complete = len(scan.row_lines) <= last  # the file ended first
    index = scan.row_lines
    return {r: f"{scan.origin}:{index[r]}" for r in rows if r < len(index)}


def _layout(scan: _Scan) -> CsvLayout:
    return CsvLayout(
        scan.lines_path,
        scan.lines_encoding,
        scan.delimiter,
        scan.quote,
        scan.escape,
        scan.header,
        scan.skip_rows,
        len(scan.columns),
    )


def _single_line_records(scan: _Scan) -> list[int] | None:
    """Return the lines holding no row when every record DuckDB read is one line; else None.

    Counting is enough to know (a byte-level pass, no Python per line): each record
    starts on a non-blank line and takes at least one, so when the non-blank lines
    after the skipped ones are exactly header + rows + malformed records, no record
    spans lines and row i starts on the i-th non-blank line that is neither the
    header nor malformed. Otherwise (quoted newlines), None: the full scan decides.
    A one-column file is left to the full scan: a blank line could be a row there.
    """
    if scan.rows is None or scan.malformed_lines is None or len(scan.columns) < 2:
        return None
    counted = count_lines(scan.lines_path, scan.lines_encoding, scan.skip_rows)
    if counted is None:
        return None
    nonblank, blank = counted
    expected = int(scan.header) + scan.rows + scan.malformed_records
    if nonblank != expected or len(scan.malformed_lines) != scan.malformed_records:
        return None
    blank_set = set(blank)
    if any(line in blank_set or line <= scan.skip_rows for line in scan.malformed_lines):
        return None
    not_rows = set(blank) | scan.malformed_lines
    if scan.header:
        header = scan.skip_rows + 1
        while header in blank_set:
            header += 1
        not_rows.add(header)
    return sorted(not_rows)


@hookimpl
def register_sources(register: Callable[..., None]) -> None:
    """Register the csv source."""
    register(CsvSource())
