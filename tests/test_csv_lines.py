"""Where each CSV row starts: the fast quote-parity scanner agrees with the csv module.

Rejects point at `file:line`, the physical line where a row begins, so a quoted
comment spanning three lines must move every later row down by two. The fast
scanner is only allowed because it gives the same index as a full parse.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxengine.default_plugins.sources import csv_lines
from cxengine.default_plugins.sources.csv_lines import (
    CsvLayout,
    count_lines,
    lines_of_rows,
    row_start_lines,
)

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


# ------------------------------------------- one line per record: counting is enough

LINE_PIECES = [b"a", b"1,2", b"", b"\r", b'"q"', b"\xff"]


def _lines_by_split(data: bytes, skip: int) -> tuple[int, list[int]]:
    """The plain definition: split on LF; a line that is empty or a lone CR is blank."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the file's last newline ends a line, it does not start one
    blank = [i for i, line in enumerate(lines, start=1) if i > skip and line in (b"", b"\r")]
    return max(len(lines) - skip, 0) - len(blank), blank


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(LINE_PIECES), st.sampled_from([b"\n", b"\r\n", b""]))),
    st.integers(0, 3),
    st.sampled_from([1, 3, 1 << 22]),
)
def test_counting_lines_in_chunks_matches_splitting_the_file(
    tmp_path_factory: pytest.TempPathFactory,
    pieces: list[tuple[bytes, bytes]],
    skip: int,
    chunk: int,
) -> None:
    data = b"".join(text + end for text, end in pieces)
    path = tmp_path_factory.mktemp("count") / "c.csv"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(csv_lines, "CHUNK", chunk)  # lines cut across chunk ends too
        assert count_lines(path, "utf-8", skip) == _lines_by_split(data, skip)


def test_counting_lines_is_refused_where_a_newline_is_two_bytes(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes("a,b\n1,2\n".encode("utf-16"))
    assert count_lines(path, "utf-16", 0) is None


def test_rows_map_to_the_lines_left_after_the_ones_holding_no_row() -> None:
    # Header on 1, a blank line 3, a malformed line 5: rows sit on 2, 4, 6, 7.
    assert lines_of_rows([3, 0, 2, 1], [1, 3, 5]) == {0: 2, 1: 4, 2: 6, 3: 7}
    assert lines_of_rows([0], []) == {0: 1}


def test_a_file_whose_records_are_all_one_line_is_located_by_counting(tmp_path: Path) -> None:
    from cxengine.config import DatasetConfig
    from cxengine.dataset.load import load_dataset
    from cxengine.default_plugins.sources import csv as csv_source

    (tmp_path / "d.csv").write_bytes(b"id,score\n1,5\n\n2,x\n3,4,extra\n4,y\r\n5,1\n")
    cfg = {"source": "csv", "path": "d.csv", "fields": {"id": "integer", "score": "integer"}}
    full_scans: list[int] = []
    real = csv_source.row_start_lines

    def counted(*args: object, **kwargs: object) -> object:
        full_scans.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    con = duckdb.connect()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(csv_source, "row_start_lines", counted)
        ds = load_dataset(
            con, "d", DatasetConfig.model_validate(cfg), csv_source.CsvSource(), base_dir=tmp_path
        )
    bad = {r.locator: r.value for r in ds.rejects}
    assert bad == {"d.csv:4": "x", "d.csv:5": "3,4,extra", "d.csv:6": "y"}
    assert full_scans == []  # every record is one line: no per-line scan of the file
    assert ds.locate([0, 1, 2, 3]) == {0: "d.csv:2", 1: "d.csv:4", 2: "d.csv:6", 3: "d.csv:7"}
