"""Loading datasets: typing fields, rejecting rows, and guarding against plugin sources.

A tiny in-test source (`RowsSource`) gives plain Python rows, the simplest shape a
third-party plugin can return, so these tests exercise the typing rules directly.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from pydantic import BaseModel, ConfigDict

from cxengine.config import DatasetConfig
from cxengine.dataset.fieldtypes import MAX_INFERRED_COLUMNS
from cxengine.dataset.load import LoadedDataset, load_dataset
from cxengine.dataset.sql import ident
from cxengine.default_plugins.sources.csv import CsvSource
from cxengine.errors import DataError, PluginError
from cxengine.interfaces import SourceContext, SourceData


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RowsSource:
    """A third-party style source handing over Python rows (or anything it is given)."""

    name = "rows_plugin"
    description = "rows from a test"
    options_model = NoOptions

    def __init__(
        self, rows: Iterable[Any] | None = None, *, arrow: Any = None, fail_open: bool = False
    ):
        self.rows, self.arrow, self.fail_open = rows, arrow, fail_open

    def open(self, context: SourceContext) -> SourceData:
        if self.fail_open:
            raise ConnectionError("service unavailable")
        if self.arrow is not None:
            return SourceData(arrow=self.arrow, origin="api")
        return SourceData(rows=self.rows, origin="api")


def load(
    rows: Iterable[Any] | RowsSource, fields: dict[str, Any] | None = None, **config: Any
) -> tuple[LoadedDataset, list[tuple[Any, ...]]]:
    source = rows if isinstance(rows, RowsSource) else RowsSource(rows)
    batch_size = config.pop("batch_size", 50_000)
    con = duckdb.connect()
    cfg = DatasetConfig.model_validate({"source": "rows_plugin", "fields": fields or {}, **config})
    ds = load_dataset(con, "survey", cfg, source, base_dir=Path("."), batch_size=batch_size)
    assert ds.rows_read == ds.rows_used + ds.rows_rejected
    cols = ", ".join(ident(f) for f in ds.fields)
    rows_out = con.execute(f'SELECT _cx_row, {cols} FROM "{ds.table}" ORDER BY _cx_row').fetchall()
    return ds, rows_out


# ---------------------------------------------------------------------- declared


def test_bad_integer_rejects_that_value_with_locator_and_reason_not_the_row() -> None:
    ds, rows = load(
        [{"recommend": "10"}, {"recommend": "ten"}, {"recommend": " 7 "}], {"recommend": "integer"}
    )
    assert (ds.rows_read, ds.rows_used, ds.rows_rejected) == (3, 3, 0)
    assert ds.cells_rejected == {"recommend": 1}
    (r,) = ds.rejects
    assert (r.dataset, r.locator, r.field, r.value) == ("survey", "api row 2", "recommend", "ten")
    assert r.reason == "field 'recommend': 'ten' is not an integer"
    assert rows == [(0, 10), (1, None), (2, 7)]


def test_one_bad_cell_keeps_the_other_answers_of_the_respondent() -> None:
    rows_in = [
        {"nps": "9", "csat": "пять", "ces": "x"},
        {"nps": "oops", "csat": "4", "ces": "6"},
        {"nps": "7", "csat": "5", "ces": "2"},
    ]
    ds, rows = load(rows_in, {"nps": "integer", "csat": "integer", "ces": "integer"})
    assert (ds.rows_read, ds.rows_used, ds.rows_rejected) == (3, 3, 0)
    assert rows == [(0, 9, None, None), (1, None, 4, 6), (2, 7, 5, 2)]
    assert ds.cells_rejected == {"csat": 1, "ces": 1, "nps": 1}
    # Every bad cell is its own reject, in row order, each naming its field and value.
    assert [(r.locator, r.field, r.value) for r in ds.rejects] == [
        ("api row 1", "csat", "пять"),
        ("api row 1", "ces", "x"),
        ("api row 2", "nps", "oops"),
    ]


def test_integer_accepts_integral_decimals_only() -> None:
    ds, rows = load([{"n": "5.0"}, {"n": "5.5"}, {"n": "1e3"}], {"n": "integer"})
    assert rows == [(0, 5), (1, None), (2, None)]
    assert [r.value for r in ds.rejects] == ["5.5", "1e3"]


def test_excel_mangled_ids() -> None:
    ds, rows = load(
        [{"id": "5.70306E+17", "ref": "5.70306E+17"}], {"id": "integer", "ref": "string"}
    )
    assert "looks like an Excel-mangled number" in ds.rejects[0].reason
    ds, rows = load([{"ref": "5.70306E+17"}], {"ref": "string"})
    assert rows == [(0, "5.70306E+17")]  # strings are never "fixed"


def test_null_values_are_missing_not_rejected() -> None:
    rows_in = [{"score": v} for v in ["", "NA", " n/a ", "-", None, "3"]]
    ds, rows = load(rows_in, {"score": "integer"})
    assert ds.rows_rejected == 0
    assert [r[1] for r in rows] == [None, None, None, None, None, 3]
    ds, rows = load([{"score": "9999"}, {"score": "4"}], {"score": "integer"}, null_values=["9999"])
    assert [r[1] for r in rows] == [None, 4]


def test_numbers_with_decimal_comma_and_group_spaces() -> None:
    ds, rows = load([{"x": "1\u00a0234,5"}, {"x": "-0,25"}, {"x": "7"}], {"x": "number"})
    assert [r[1] for r in rows] == [1234.5, -0.25, 7.0]
    ds, rows = load([{"x": "1,5"}], {"x": {"type": "number", "decimal": "."}})
    assert ds.rejects[0].reason == "field 'x': '1,5' is not a number (reading with a decimal point)"
    ds, rows = load([{"x": "nan"}, {"x": "2.5"}], {"x": "number"})
    assert [r[1] for r in rows] == [None, 2.5]


def test_booleans_in_english_russian_and_custom_words() -> None:
    words = ["true", "No", "да", "нет", "Y", "0", "Resolved", "maybe"]
    cfg = {"ok": {"type": "boolean", "true_values": ["Resolved"]}}
    ds, rows = load([{"ok": w} for w in words], cfg)
    assert [r[1] for r in rows] == [True, False, True, False, True, False, True, None]
    assert ds.rejects[0].value == "maybe"


def test_datetimes_naive_are_in_the_field_zone_and_are_stored_as_utc_instants() -> None:
    # Stored values are instants (naive UTC): elapsed time is a plain difference.
    fields = {"at": {"type": "datetime", "timezone": "Europe/Moscow"}}
    _ds, rows = load(
        [
            {"at": "2024-03-01 10:00"},
            {"at": "2024-03-01T10:00:00Z"},
            {"at": "2024-03-01T10:00:00+05:00"},
        ],
        fields,
    )
    assert [r[1] for r in rows] == [
        dt.datetime(2024, 3, 1, 7),
        dt.datetime(2024, 3, 1, 10),
        dt.datetime(2024, 3, 1, 5),
    ]


def test_the_hour_repeated_in_october_keeps_its_two_instants() -> None:
    # Europe/Berlin goes from 03:00 CEST back to 02:00 CET on 2024-10-27: 02:30 CEST
    # and 02:10 CET are 40 minutes apart, though the wall clock went backwards.
    fields = {
        "at": {"type": "datetime", "timezone": "Europe/Berlin"},
        "d": {"type": "date", "timezone": "Europe/Berlin"},
    }
    _ds, rows = load(
        [
            {"at": "2024-10-27T00:30:00Z", "d": "2024-10-26T23:30:00Z"},
            {"at": "2024-10-27T02:10:00+01:00", "d": "2024-10-26T21:30:00Z"},
            {"at": "2024-10-27 12:00", "d": "2024-10-27"},
        ],
        fields,
    )
    assert [r[1] for r in rows] == [
        dt.datetime(2024, 10, 27, 0, 30),
        dt.datetime(2024, 10, 27, 1, 10),
        dt.datetime(2024, 10, 27, 11, 0),
    ]
    # A date is the calendar day in its zone (23:30Z is already the 27th in Berlin).
    assert [r[2] for r in rows] == [
        dt.date(2024, 10, 27),
        dt.date(2024, 10, 26),
        dt.date(2024, 10, 27),
    ]


def test_date_format_detected_from_the_column() -> None:
    ds, rows = load([{"d": "31.01.2024"}, {"d": "01.02.2024 10:30"}, {"d": "junk"}], {"d": "date"})
    assert [r[1] for r in rows] == [dt.date(2024, 1, 31), dt.date(2024, 2, 1), None]
    assert ds.rejects[0].reason.startswith("field 'd': 'junk' is not a date in format %d.%m.%Y")


def test_ambiguous_slash_dates_read_month_first_with_a_note() -> None:
    ds, rows = load([{"d": "03/04/2024"}], {"d": "date"})
    assert rows == [(0, dt.date(2024, 3, 4))]
    assert any("month/day" in n for n in ds.notes)
    ds, rows = load([{"d": "03/04/2024"}, {"d": "25/04/2024"}], {"d": "date"})
    assert [r[1] for r in rows] == [dt.date(2024, 4, 3), dt.date(2024, 4, 25)]


def test_explicit_format() -> None:
    _ds, rows = load([{"d": "2024|03|05"}], {"d": {"type": "date", "format": "%Y|%m|%d"}})
    assert rows == [(0, dt.date(2024, 3, 5))]


def test_renamed_column_and_missing_column() -> None:
    _ds, rows = load([{"Q1 score": "5"}], {"score": {"type": "integer", "column": "Q1 score"}})
    assert rows == [(0, 5)]
    with pytest.raises(
        DataError,
        match=r"field 'recommend' reads column 'recommnd'.*did you mean 'recommend'.*"
        r"Available columns: recommend",
    ):
        load([{"recommend": "5"}], {"recommend": {"type": "integer", "column": "recommnd"}})


def test_unknown_timezone_is_a_data_error() -> None:
    with pytest.raises(DataError, match="unknown timezone 'Mars/Olympus'"):
        load([{"at": "2024-01-01"}], {"at": {"type": "datetime", "timezone": "Mars/Olympus"}})


def test_odd_names_are_quoted_not_pasted() -> None:
    name = 'x"; DROP TABLE t; --'
    _ds, rows = load([{name: "1"}], {name: "integer"}, null_values=["it's"])
    assert rows == [(0, 1)]


# ---------------------------------------------------------------------- inferred


def test_inferred_types_over_the_whole_column_never_reject() -> None:
    rows_in = [
        {"i": str(n), "x": str(n), "b": "yes", "d": "2024-01-02", "t": "2024-01-02 10:00"}
        for n in range(30_000)
    ]
    rows_in[-1]["x"] = "2.5"  # far beyond the sample
    ds, _rows = load(rows_in)
    assert ds.fields == {
        "i": "integer",
        "x": "number",
        "b": "boolean",
        "d": "date",
        "t": "datetime",
    }
    assert ds.rows_rejected == 0
    ds, _ = load([{"v": "1"}, {"v": "abc"}])
    assert ds.fields == {"v": "string"}


def test_rows_with_different_keys_and_python_values() -> None:
    rows_in: list[dict[str, Any]] = [
        {"a": 1, "flag": True},
        {"a": 2, "when": dt.datetime(2024, 5, 1, 8, 30), "flag": False},
        {"b": None, "flag": None},
    ]
    ds, rows = load(rows_in)
    assert ds.fields == {"a": "integer", "flag": "boolean", "when": "datetime", "b": "string"}
    assert rows == [
        (0, 1, True, None, None),
        (1, 2, False, dt.datetime(2024, 5, 1, 8, 30), None),
        (2, None, None, None, None),
    ]
    assert ds.fingerprint.startswith("rows:")
    assert load(rows_in)[0].fingerprint == ds.fingerprint


def test_arrow_source_keeps_native_types() -> None:
    table = pa.table({"n": [1, 2], "s": ["a", "b"]})
    ds, rows = load(RowsSource(arrow=table))
    assert ds.fields == {"n": "integer", "s": "string"}
    assert rows == [(0, 1, "a"), (1, 2, "b")]


def test_empty_rows() -> None:
    ds, rows = load([], {"score": "integer"})
    assert (ds.rows_read, rows, ds.fields) == (0, [], {"score": "integer"})


def test_a_million_lazy_rows_load_in_small_batches() -> None:
    produced = itertools.count()

    def generate() -> Iterator[Mapping[str, Any]]:
        for i in range(1_000_000):
            next(produced)
            yield {"id": i, "score": i % 11}

    ds, _ = load(RowsSource(generate()), {"score": "integer"}, batch_size=100_000)
    assert (ds.rows_read, ds.rows_used) == (1_000_000, 1_000_000)
    assert next(produced) == 1_000_000


# ------------------------------------------------------------- misbehaving plugins


def test_plugin_raising_midway_is_a_plugin_error() -> None:
    def rows() -> Iterator[dict[str, str]]:
        yield {"a": "1"}
        raise RuntimeError("API quota exceeded")

    with pytest.raises(
        PluginError,
        match=r"plugin 'rows_plugin': failed while producing row 2: "
        r"RuntimeError: API quota exceeded",
    ):
        load(RowsSource(rows()), batch_size=10)


def test_plugin_yielding_a_non_mapping_is_a_plugin_error() -> None:
    with pytest.raises(PluginError, match=r"plugin 'rows_plugin': row 2 is a list, not a mapping"):
        load(RowsSource([{"a": "1"}, ["a", "1"]]))


def test_plugin_failing_to_open_is_a_plugin_error() -> None:
    with pytest.raises(
        PluginError, match=r"plugin 'rows_plugin': ConnectionError: service unavailable"
    ):
        load(RowsSource(fail_open=True))


def test_plugin_returning_garbage_is_a_plugin_error() -> None:
    class Broken(RowsSource):
        def open(self, context: SourceContext) -> SourceData:
            return "rows"  # type: ignore[return-value]

    with pytest.raises(PluginError, match="open\\(\\) returned str, not SourceData"):
        load(Broken([]))


# ------------------------------------------------- names a source can shadow, width


def test_a_column_named_rowid_is_just_a_field(tmp_path: Path) -> None:
    # DuckDB gives `rowid` a meaning; the loader never depends on that name.
    (tmp_path / "d.csv").write_text("ROWID,rowid_2,score\n7,a,5\n8,b,x\n9,c,4\n", "utf-8")
    for fields in (None, {"ROWID": "integer", "score": "integer"}):
        cfg: dict[str, Any] = {"source": "csv", "path": "d.csv"}
        if fields:
            cfg["fields"] = fields
        con = duckdb.connect()
        ds = load_dataset(
            con, "d", DatasetConfig.model_validate(cfg), CsvSource(), base_dir=tmp_path
        )
        rows = con.execute(
            f'SELECT _cx_row, "ROWID", score FROM "{ds.table}" ORDER BY 1'
        ).fetchall()
        if fields:
            assert rows == [(0, 7, 5), (1, 8, None), (2, 9, 4)]
            assert [(r.locator, r.field) for r in ds.rejects] == [("d.csv:3", "score")]
        else:  # inferred: `x` makes score a string, and inference never rejects
            assert rows == [(0, 7, "5"), (1, 8, "x"), (2, 9, "4")]
            assert ds.rejects == []


def test_a_very_wide_csv_reads_only_its_declared_columns(tmp_path: Path) -> None:
    width, rows_n = 3_000, 20
    header = ",".join(f"c{i}" for i in range(width))
    body = "\n".join(",".join(str(r * width + i) for i in range(width)) for r in range(rows_n))
    (tmp_path / "wide.csv").write_text(header + "\n" + body + "\n", "utf-8")
    cfg = DatasetConfig.model_validate(
        {"source": "csv", "path": "wide.csv", "fields": {"c1": "integer", "c2999": "integer"}}
    )
    con = duckdb.connect()
    ds = load_dataset(con, "w", cfg, CsvSource(), base_dir=tmp_path)
    assert (ds.rows_read, ds.rows_used) == (rows_n, rows_n)
    # The dataset table and the work the load left behind hold only what was declared.
    assert [c for c in con.sql(f'SELECT * FROM "{ds.table}"').columns] == ["_cx_row", "c1", "c2999"]
    assert con.execute(f'SELECT sum(c2999) FROM "{ds.table}"').fetchone() == (
        sum(r * width + 2999 for r in range(rows_n)),
    )
    assert any("2998 undeclared columns are not read" in n for n in ds.notes)


def test_inference_without_fields_is_bounded_on_a_wide_file(tmp_path: Path) -> None:
    width = MAX_INFERRED_COLUMNS + 10
    header = ",".join(f"c{i}" for i in range(width))
    (tmp_path / "wide.csv").write_text(header + "\n" + ",".join("1" * width) + "\n", "utf-8")
    cfg = DatasetConfig.model_validate({"source": "csv", "path": "wide.csv"})
    ds = load_dataset(duckdb.connect(), "w", cfg, CsvSource(), base_dir=tmp_path)
    types = list(ds.fields.values())
    cap = MAX_INFERRED_COLUMNS
    assert types[:cap] == ["integer"] * cap and set(types[cap:]) == {"string"}
    assert any(f"inferred for the first {cap} only" in n for n in ds.notes)


# ------------------------------- one pass from a file types exactly as the general way

ONE_PASS_CASES = {
    "datetime, canonical and not": (
        {"type": "datetime", "timezone": "Europe/Moscow"},
        ["2024-03-01 10:00:00", "2024-03-01T10:00:00Z", " 2024-03-01 10:00:00 ",
         "2024-03-01 10:00:00.250", "2024-03-01T10:00:00+05:00", "NA", "soon",
         "10000-01-01 00:00:00", "0000-01-01 00:00:00", "2024-02-30 10:00:00", ""],
    ),
    "datetime, day first with one ISO value": (
        "datetime", ["31.01.2024 10:00", "01.02.2024", "2024-02-03 10:00:00", "x"],
    ),
    "date detected": ("date", ["31.01.2024", "01.02.2024 10:30", "junk", "2024-01-31"]),
    "integer": ("integer", ["5", " 7 ", "5.0", "5.5", "five", "1e3", "-", "0x1A", "+3", ""]),
    "number, decimal comma": ("number", ["3,5", "1 234,5", "x", "7", "NA"]),
    "number, decimal point": ("number", ["3.5", "1e3", "inf", ".5", "5."]),
    "boolean": ("boolean", ["yes", "Нет", "maybe", "1", "T", ""]),
}  # fmt: skip


@pytest.mark.parametrize("case", ONE_PASS_CASES)
def test_a_csv_typed_in_one_pass_gives_the_values_and_rejects_of_the_general_way(
    tmp_path: Path, case: str
) -> None:
    spec, values = ONE_PASS_CASES[case]
    fields = {"id": "integer", "v": spec}
    lines = ["id,v", *(f'{i},"{v}"' for i, v in enumerate(values))]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    con = duckdb.connect()
    cfg = DatasetConfig.model_validate({"source": "csv", "path": "d.csv", "fields": fields})
    from_file = load_dataset(con, "d", cfg, CsvSource(), base_dir=tmp_path)
    assert from_file.fingerprint.startswith("sha1:")  # the one-pass way was taken
    file_rows = con.execute(f'SELECT * FROM "{from_file.table}" ORDER BY _cx_row').fetchall()
    general, general_rows = load([{"id": str(i), "v": v} for i, v in enumerate(values)], fields)
    assert file_rows == general_rows
    assert [(r.field, r.value, r.reason) for r in from_file.rejects] == [
        (r.field, r.value, r.reason) for r in general.rejects
    ]
    assert [r.locator for r in from_file.rejects] == [
        f"d.csv:{int(general_rows[int(r.locator.rsplit(' ', 1)[1]) - 1][1]) + 2}"
        for r in general.rejects
    ]
    assert from_file.notes == general.notes
    assert from_file.cells_rejected == general.cells_rejected


def test_a_csv_datetime_of_canonical_texts_only_is_typed_in_the_pass(tmp_path: Path) -> None:
    # Canonical timestamps and null texts only: no format to detect, no column left
    # behind; one other text (an ISO `T`, a junk value) and the detection reads it.
    (tmp_path / "a.csv").write_text(
        "t,n\n2025-01-01 10:00:00,1\nNA,2\n,3\n2025-02-03 04:05:06,4\n", "utf-8"
    )
    (tmp_path / "b.csv").write_text(
        "t,n\n2025-01-01 10:00:00,1\n2025-01-02T11:00:00,2\njunk,3\nNA,4\n", "utf-8"
    )
    expected = {
        "a.csv": [dt.datetime(2025, 1, 1, 10), None, None, dt.datetime(2025, 2, 3, 4, 5, 6)],
        "b.csv": [dt.datetime(2025, 1, 1, 10), dt.datetime(2025, 1, 2, 11), None, None],
    }
    for name, values in expected.items():
        cfg = DatasetConfig.model_validate(
            {"source": "csv", "path": name, "fields": {"t": "datetime", "n": "integer"}}
        )
        con = duckdb.connect()
        ds = load_dataset(con, "d", cfg, CsvSource(), base_dir=tmp_path)
        assert con.sql(f'SELECT * FROM "{ds.table}"').columns == ["_cx_row", "t", "n"]
        rows = con.execute(f'SELECT t FROM "{ds.table}" ORDER BY _cx_row').fetchall()
        assert [r[0] for r in rows] == values
        rejects = [(r.locator, r.field, r.value) for r in ds.rejects]
        assert rejects == ([] if name == "a.csv" else [("b.csv:4", "t", "junk")])
