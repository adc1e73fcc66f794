"""Where each row of a CSV file starts: the physical line a reject points at.

DuckDB parses the file but does not say on which line each row began, and a quoted
field may span lines, so the row index alone is not the line number. This module
re-reads the file once and builds an index: row i (among the rows DuckDB parsed)
starts on line ``index[i]``. The index is kept by the scan, so the rejects of loading
and the later per-metric exclusions share one pass over the file.

Two scanners. The byte scanner splits the file into physical lines and follows,
quote by quote, where DuckDB 2.0 opens and closes a quoted field (at a field start,
one space allowed before it, or right after a closed quoted part; a doubled quote
inside is one character). It is used whenever quotes are escaped by doubling them
(RFC 4180, what Excel and DuckDB write) or there is no quoting, in any encoding
where a newline is one byte, and it needs the malformed lines DuckDB rejected (they
take no row index). Otherwise the csv module parses every record. The byte scanner
is the slower of the two on heavily quoted files (0.71 s against 0.44 s for 1M rows
with every third comment quoted) and is preferred because only it agrees with
DuckDB on every damaged file the property test in tests/test_reliability_inputs.py
generates: a reject on the wrong line is worse than a slow one.
"""

from __future__ import annotations

import csv
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# 4-byte line numbers: files of up to four billion lines, at half the memory of 'q'.
LINE_TYPECODE = "I"
CHUNK = 1 << 22


@dataclass(frozen=True)
class CsvLayout:
    """How to read the file's records: what the scan learned when it was opened."""

    path: Path
    encoding: str
    delimiter: str
    quote: str
    escape: str
    header: bool
    skip_rows: int
    width: int  # columns in the header: records of another width are malformed


def row_start_lines(layout: CsvLayout, last: int, malformed: set[int] | None) -> array[int]:
    """Return the start line of rows 0..last (fewer when the file ends sooner).

    ``malformed`` holds the physical lines DuckDB rejected; None when not known yet,
    in which case a record of the wrong width is taken to be one of them.
    """
    doubling = not layout.quote or layout.escape in ("", layout.quote)
    # The byte scanner follows DuckDB's quoting rules, which the csv module does not
    # all share (a quote re-opening after a closed one), so it is preferred even
    # where it is slower: 0.71 s against 0.44 s parsing, for 1M rows with every
    # third comment quoted. utf-8-sig encodes a BOM in front of each character:
    # past the BOM the file is plain UTF-8.
    plain = "utf-8" if layout.encoding.lower().replace("_", "-") == "utf-8-sig" else layout.encoding
    quote = _single_byte(layout.quote, plain) if layout.quote else b""
    delim = _single_byte(layout.delimiter, plain)
    if (
        malformed is not None
        and doubling
        and quote is not None
        and delim is not None
        and _ascii_lines(plain)
    ):
        with layout.path.open("rb") as f:
            return _by_quote_parity(f, layout, quote, delim, last, malformed)
    with layout.path.open(encoding=layout.encoding, errors="replace", newline="") as text:
        for _ in range(layout.skip_rows):
            text.readline()
        return _by_parsing(text, layout, last, malformed)


def _single_byte(char: str, encoding: str) -> bytes | None:
    try:
        encoded = char.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return None
    return encoded if len(encoded) == 1 else None


def _ascii_lines(encoding: str) -> bool:
    # UTF-8, cp1251, latin-1, koi8-r…: a newline is the byte 0x0A and no other
    # character contains it, so lines can be split as bytes. Not so in UTF-16.
    try:
        return "\n\r".encode(encoding) == b"\n\r"
    except (UnicodeEncodeError, LookupError):
        return False


def _by_quote_parity(
    f: BinaryIO, layout: CsvLayout, quote: bytes, delim: bytes, last: int, malformed: set[int]
) -> array[int]:
    out: array[int] = array(LINE_TYPECODE)
    header_pending = layout.header
    number = 0
    start = 0
    open_quote = False
    rest = b""
    while True:
        chunk = f.read(CHUNK)
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop() if chunk else b""
        for line in lines:
            number += 1
            if number <= layout.skip_rows:
                continue
            if not open_quote:
                start = number
                if not line or line == b"\r":
                    continue  # a blank line is no record, for DuckDB as for csv
            if quote and (open_quote or quote in line):
                open_quote = _quote_open_after(line, quote, delim, open_quote)
            if open_quote:
                continue  # the record goes on over the next line
            if header_pending:
                header_pending = False
            elif start not in malformed:
                out.append(start)
                if len(out) > last:
                    return out
        if not chunk:
            return out


def _quote_open_after(line: bytes, quote: bytes, delim: bytes, open_quote: bool) -> bool:
    """Return whether a quoted field is still open at the end of a physical line.

    As DuckDB reads it: a quote opens quoting at the start of a field (line start
    or after the delimiter, one space allowed in between) or right after a closed
    quoted part; elsewhere, as in `5" screen`, it is a plain character. Inside
    quotes a doubled quote is one quote character. Only quote positions are
    visited, with bytes.find, so long quoted texts stay fast.
    """
    i = 0
    closed = -2  # where the last quoted field closed on this line
    while True:
        j = line.find(quote, i)
        if j < 0:
            return open_quote
        if open_quote:
            if line[j + 1 : j + 2] == quote:
                i = j + 2  # a doubled quote: still inside
                continue
            open_quote, closed = False, j
        else:
            # As measured on DuckDB 2.0: a quote opens at a field start with at most one
            # space before it (`1, "a"`), and after a closed quote with any spaces
            # between (`"a"  "b"`); two spaces or a tab make it a plain character.
            before = line[:j].rstrip(b" ")
            if len(before) == closed + 1:
                open_quote = True
            else:
                at_start = j == 0 or line[j - 1 : j] == delim
                one_space = (
                    j >= 1 and line[j - 1 : j] == b" " and (j == 1 or line[j - 2 : j - 1] == delim)
                )
                open_quote = at_start or one_space
        i = j + 1


def _by_parsing(
    f: Iterable[str], layout: CsvLayout, last: int, malformed: set[int] | None
) -> array[int]:
    out: array[int] = array(LINE_TYPECODE)
    reader = csv.reader(f, **dialect(layout.delimiter, layout.quote, layout.escape))  # type: ignore[arg-type]
    end = 0  # physical lines consumed by the reader so far
    if layout.header:
        next(reader, None)
        end = reader.line_num
    try:
        for record in reader:
            start = layout.skip_rows + end + 1
            end = reader.line_num
            if not record:
                continue  # DuckDB skips blank lines too
            if malformed is not None:
                if start in malformed:
                    continue
            elif len(record) != layout.width:
                continue
            out.append(start)
            if len(out) > last:
                break
    except csv.Error:
        pass
    return out


def count_lines(path: Path, encoding: str, skip: int) -> tuple[int, list[int]] | None:
    """Count the non-blank lines after the first `skip` and list the blank ones (1-based).

    A blank line is empty or a lone CR, as in the scanners above. Lines are counted
    as the file's pieces between LF bytes (a last piece without LF is a line too).
    NumPy finds the LFs of each 4 MiB chunk (read into one reused buffer) and the
    lengths of the lines they end, so no Python runs per line: 0.043 s of CPU for
    bench_run's 113 MB file at 1M rows, against 0.18 s for a bytes count plus a
    regexp for the blank lines. None when a newline is not one byte in `encoding`
    (UTF-16).
    """
    plain = "utf-8" if encoding.lower().replace("_", "-") == "utf-8-sig" else encoding
    if not _ascii_lines(plain):
        return None
    import numpy as np  # only when a reject is located: not on every run's imports

    blank: list[int] = []
    number = 0  # lines ended by an LF so far
    # The unfinished line at a chunk's end: its length so far (only 0, 1 or more
    # matters) and whether its one byte is a CR.
    carry, carry_cr = 0, False
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(view):
            data = np.frombuffer(buffer, np.uint8, n)
            ends = np.flatnonzero(data == 0x0A)
            if len(ends):
                lengths = np.diff(ends, prepend=-1) - 1
                # A line of one byte ending at LF e holds data[e - 1]; lines of other
                # lengths are blank only when empty.
                one = lengths == 1
                cr = np.zeros(len(ends), dtype=bool)
                cr[one] = data[ends[one] - 1] == 0x0D
                is_blank = (lengths == 0) | cr
                # The first line began in an earlier chunk: judge it whole.
                first = carry + int(ends[0])
                is_blank[0] = first == 0 or (
                    first == 1 and (carry_cr if carry else bool(data[0] == 0x0D))
                )
                found = np.flatnonzero(is_blank) + number + 1
                blank.extend(int(line) for line in found if line > skip)
                number += len(ends)
                tail = n - int(ends[-1]) - 1
                carry, carry_cr = tail, tail == 1 and bool(data[n - 1] == 0x0D)
            else:
                carry_cr = carry == 0 and n == 1 and bool(data[0] == 0x0D)
                carry += n
    if carry:  # a last line without a newline
        number += 1
        if carry == 1 and carry_cr and number > skip:
            blank.append(number)
    return max(number - skip, 0) - len(blank), blank


def lines_of_rows(rows: Iterable[int], not_rows: list[int]) -> dict[int, int]:
    """Map row indexes to 1-based lines when row i is the i-th line not in `not_rows`."""
    out: dict[int, int] = {}
    k = 0  # lines of `not_rows` at or before the current row's line
    for r in sorted(set(rows)):
        while k < len(not_rows) and not_rows[k] <= r + 1 + k:
            k += 1
        out[r] = r + 1 + k
    return out


def dialect(delimiter: str, quote: str, escape: str) -> dict[str, object]:
    """Return csv-module reader options matching DuckDB's delimiter, quote and escape."""
    if not quote:
        return {
            "delimiter": delimiter,
            "quoting": csv.QUOTE_NONE,
            "escapechar": escape or None,
            "strict": False,
        }
    # skipinitialspace: DuckDB opens a quoted field after spaces too (`1, "a, b"`).
    if escape == quote:
        return {
            "delimiter": delimiter,
            "quotechar": quote,
            "doublequote": True,
            "strict": False,
            "skipinitialspace": True,
        }
    return {
        "delimiter": delimiter,
        "quotechar": quote,
        "escapechar": escape or None,
        "doublequote": False,
        "strict": False,
        "skipinitialspace": True,
    }
