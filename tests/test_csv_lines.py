"""Where each CSV row starts: the fast quote-parity scanner agrees with the csv module.

Rejects point at `file:line`, the physical line where a row begins, so a quoted
comment spanning three lines must move every later row down by two. The fast
scanner is only allowed because it gives the same index as a full parse.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxengine.default_plugins.sources.csv_lines import CsvLayout, row_start_lines

CELL = st.text(alphabet='ab ,"\nё\r', max_size=6)


def layout(path: Path, encoding: str = "utf-8", header: bool = True, skip: int = 0) -> CsvLayout:
    return CsvLayout(path, encoding, ",", '"', '"', header, skip, 2)


def test_a_quoted_field_over_three_lines_moves_later_rows_down(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text('id,comment\n1,"first\nsecond\nthird"\n2,ok\n\n3,"say ""hi"""\n')
    lines = row_start_lines(layout(path), last=10, malformed=set())
    assert list(lines) == [2, 5, 7]  # the blank line 6 is no row


def test_malformed_lines_take_no_row_index(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,score\n1,5\n2,4,extra\n3,3\n")
    assert list(row_start_lines(layout(path), last=10, malformed={3})) == [2, 4]
    # Not yet told which lines DuckDB rejected: a record of the wrong width is one.
    assert list(row_start_lines(layout(path), last=10, malformed=None)) == [2, 4]


def test_skipped_preamble_and_crlf_and_cp1251(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes('Отчёт за март\r\nid,comment\r\n1,"да\r\nнет"\r\n2,ок\r\n'.encode("cp1251"))
    fast = row_start_lines(layout(path, "cp1251", skip=1), last=10, malformed=set())
    assert list(fast) == [3, 5]


def test_it_stops_once_the_last_wanted_row_is_found(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,x\n" + "".join(f"{i},a\n" for i in range(1000)))
    assert list(row_start_lines(layout(path), last=2, malformed=set())) == [2, 3, 4]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.tuples(CELL, CELL), max_size=12),
    blank_after=st.sets(st.integers(0, 12)),
    newline=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(["utf-8", "cp1251", "utf-16"]),
)
def test_fast_scanner_matches_a_full_parse(
    tmp_path: Path,
    rows: list[tuple[str, str]],
    blank_after: set[int],
    newline: str,
    encoding: str,
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["a", "b"])
    for i, row in enumerate(rows):
        writer.writerow([cell.replace("\r", "") for cell in row])
        if i in blank_after:
            buffer.write(newline)
    path = tmp_path / f"h-{encoding}.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))
    by_parity = row_start_lines(layout(path, encoding), last=100, malformed=set())
    by_parsing = row_start_lines(layout(path, encoding), last=100, malformed=None)
    assert list(by_parity) == list(by_parsing)
    assert len(by_parity) == len(rows)
