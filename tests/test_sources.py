"""The built-in sources, loaded end to end through `load_dataset`.

Every test checks the invariant read = used + rejected, and rejects carry a locator a
person can open: `file:line` for text files, `file[index]` for JSON arrays.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxengine.config import DatasetConfig
from cxengine.dataset.load import LoadedDataset, load_dataset
from cxengine.default_plugins.sources.csv import CsvSource
from cxengine.default_plugins.sources.json_array import JsonSource
from cxengine.default_plugins.sources.jsonl import JsonlSource
from cxengine.default_plugins.sources.parquet import ParquetSource
from cxengine.default_plugins.sources.sqlite import SqliteSource
from cxengine.errors import DataError
from cxengine.plugins import get_registry

DATA = Path(__file__).parent / "data"
SOURCES = {
    "csv": CsvSource(),
    "jsonl": JsonlSource(),
    "json": JsonSource(),
    "sqlite": SqliteSource(),
    "parquet": ParquetSource(),
}


def load(
    base: Path, config: dict[str, Any], name: str = "ds"
) -> tuple[LoadedDataset, list[tuple[Any, ...]]]:
    con = duckdb.connect()
    cfg = DatasetConfig.model_validate(config)
    ds = load_dataset(con, name, cfg, SOURCES[cfg.source], base_dir=base)
    assert ds.rows_read == ds.rows_used + ds.rows_rejected
    assert len(ds.rejects) == ds.rows_rejected + sum(ds.cells_rejected.values())
    cols = ", ".join(f'"{f}"' for f in ds.fields)
    rows = con.execute(f'SELECT _cx_row, {cols} FROM "{ds.table}" ORDER BY _cx_row').fetchall()
    return ds, rows


def test_builtin_sources_register_like_plugins() -> None:
    registry = get_registry(load_entry_points=False)
    assert {"csv", "jsonl", "json", "sqlite", "parquet"} <= set(registry.sources)


# ------------------------------------------------------------------------------ csv


def test_csv_utf8_with_declared_types(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text(
        "id,score,when\n1,5,2024-01-02 03:04:05\n2,,2024-01-03 00:00:00\n", encoding="utf-8"
    )
    ds, rows = load(
        tmp_path,
        {
            "source": "csv",
            "path": "s.csv",
            "fields": {"id": "integer", "score": "integer", "when": "datetime"},
        },
    )
    assert (ds.rows_read, ds.rows_used, ds.rows_rejected) == (2, 2, 0)
    assert rows == [
        (0, 1, 5, dt.datetime(2024, 1, 2, 3, 4, 5)),
        (1, 2, None, dt.datetime(2024, 1, 3)),
    ]
    assert ds.fingerprint.startswith("sha1:")


def test_csv_utf8_bom_header_is_clean(tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_bytes("имя,оценка\nАня,5\n".encode("utf-8-sig"))
    ds, rows = load(tmp_path, {"source": "csv", "path": "bom.csv"})
    assert ds.fields == {"имя": "string", "оценка": "integer"}
    assert rows == [(0, "Аня", 5)]


def test_csv_russian_excel_export_cp1251(tmp_path: Path) -> None:
    text = (
        "Дата;Канал;Оценка;Сумма\r\n"
        "01.03.2024;Сайт;4,5;1\u00a0234,50\r\n"
        "15.03.2024;Приложение;3,0;99,90\r\n"
        "31.03.2024;Сайт;5;-\r\n"
    )
    (tmp_path / "excel.csv").write_bytes(
        text.encode("cp1251", errors="replace").replace(b"\xa0", b"\xa0")
    )
    ds, rows = load(
        tmp_path,
        {
            "source": "csv",
            "path": "excel.csv",
            "fields": {"Дата": "date", "Канал": "string", "Оценка": "number", "Сумма": "number"},
        },
    )
    assert ds.rows_rejected == 0
    assert rows == [
        (0, dt.date(2024, 3, 1), "Сайт", 4.5, 1234.5),
        (1, dt.date(2024, 3, 15), "Приложение", 3.0, 99.9),
        (2, dt.date(2024, 3, 31), "Сайт", 5.0, None),
    ]


def test_csv_inferred_types_from_russian_export(tmp_path: Path) -> None:
    text = "дата;оценка;ответ\n01.03.2024 10:00;4,5;да\n02.03.2024 11:30;3;нет\n"
    (tmp_path / "r.csv").write_bytes(text.encode("cp1251"))
    ds, rows = load(tmp_path, {"source": "csv", "path": "r.csv"})
    assert ds.fields == {"дата": "datetime", "оценка": "number", "ответ": "boolean"}
    assert rows[0] == (0, dt.datetime(2024, 3, 1, 10, 0), 4.5, True)


def test_csv_ragged_rows_rejected_with_physical_line_numbers() -> None:
    # ragged.csv: a quoted comment spans lines 3-4, so the short row is on line 5,
    # the bad integer on line 6 (a reject of that field; the row stays) and the row
    # with an extra column on line 7.
    ds, rows = load(
        DATA,
        {
            "source": "csv",
            "path": "ragged.csv",
            "fields": {"id": "integer", "recommend": "integer", "comment": "string"},
        },
    )
    assert (ds.rows_read, ds.rows_used, ds.rows_rejected) == (6, 4, 2)
    assert ds.cells_rejected == {"recommend": 1}
    by_line = {r.locator: r for r in ds.rejects}
    assert set(by_line) == {"ragged.csv:5", "ragged.csv:6", "ragged.csv:7"}
    assert (
        by_line["ragged.csv:5"].reason
        == "malformed line (missing columns): expected 5 columns, found 2"
    )
    assert (
        by_line["ragged.csv:7"].reason
        == "malformed line (too many columns): expected 5 columns, found 6"
    )
    assert by_line["ragged.csv:6"].reason == "field 'recommend': 'ten' is not an integer"
    assert by_line["ragged.csv:6"].field == "recommend"
    assert by_line["ragged.csv:6"].value == "ten"
    assert [r[1] for r in rows] == [1, 2, 4, 6]
    assert rows[1][3] == "two\nlines"
    # Row indexes count the rows the reader parsed; locate maps them back to lines.
    assert ds.locate([0, 1, 3]) == {0: "ragged.csv:2", 1: "ragged.csv:3", 3: "ragged.csv:8"}


def test_csv_unterminated_quote_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text('a,b\n1,2\n3,"open\n')
    ds, rows = load(tmp_path, {"source": "csv", "path": "q.csv"})
    assert rows == [(0, 1, 2)]
    assert [r.locator for r in ds.rejects] == ["q.csv:3"]
    assert "unquoted value" in ds.rejects[0].reason


def test_csv_duplicate_and_blank_headers_are_renamed(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("score,,Score\n1,2,3\n")
    ds, rows = load(tmp_path, {"source": "csv", "path": "h.csv"})
    assert list(ds.fields) == ["score", "column_2", "Score_2"]
    assert rows == [(0, 1, 2, 3)]
    assert any("repeats the name" in n for n in ds.notes)


def test_csv_tab_and_pipe_delimiters_detected(tmp_path: Path) -> None:
    (tmp_path / "t.tsv").write_text("a\tb\n1\tx,y\n")
    (tmp_path / "p.csv").write_text("a|b\n1|x;y\n")
    assert load(tmp_path, {"source": "csv", "path": "t.tsv"})[1] == [(0, 1, "x,y")]
    assert load(tmp_path, {"source": "csv", "path": "p.csv"})[1] == [(0, 1, "x;y")]


def test_csv_without_header_and_skip_rows(tmp_path: Path) -> None:
    (tmp_path / "n.csv").write_text("exported by tool\n1,a\n2,b\n")
    ds, rows = load(tmp_path, {"source": "csv", "path": "n.csv", "header": False, "skip_rows": 1})
    assert list(ds.fields) == ["column_1", "column_2"]
    assert rows == [(0, 1, "a"), (1, 2, "b")]
    assert ds.locate([1]) == {1: "n.csv:3"}


def test_csv_utf16_and_latin1(tmp_path: Path) -> None:
    (tmp_path / "u16.csv").write_bytes("name,n\nZoë,1\n".encode("utf-16"))
    (tmp_path / "l1.csv").write_bytes("name,n\nCafé crème,1\n".encode("latin-1"))
    assert load(tmp_path, {"source": "csv", "path": "u16.csv"})[1] == [(0, "Zoë", 1)]
    assert load(tmp_path, {"source": "csv", "path": "l1.csv"})[1] == [(0, "Café crème", 1)]


def test_csv_empty_file_is_zero_rows(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    ds, rows = load(
        tmp_path, {"source": "csv", "path": "empty.csv", "fields": {"score": "integer"}}
    )
    assert (ds.rows_read, rows, ds.fields) == (0, [], {"score": "integer"})


def test_csv_header_only(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("a,b\n")
    ds, rows = load(tmp_path, {"source": "csv", "path": "h.csv"})
    assert (ds.rows_read, rows, list(ds.fields)) == (0, [], ["a", "b"])


def test_csv_path_with_quotes_is_safe(tmp_path: Path) -> None:
    folder = tmp_path / 'it\'s "here"'
    folder.mkdir()
    (folder / "x.csv").write_text("a\n1\n")
    _ds, rows = load(folder, {"source": "csv", "path": "x.csv"})
    assert rows == [(0, 1)]


@pytest.mark.parametrize("source", ["csv", "jsonl", "json", "sqlite", "parquet"])
def test_missing_file_and_directory_are_data_errors(tmp_path: Path, source: str) -> None:
    extra = {"table": "t"} if source == "sqlite" else {}
    with pytest.raises(DataError, match=r"dataset 'ds': file not found: .*nope"):
        load(tmp_path, {"source": source, "path": "nope", **extra})
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataError, match="is a directory, not a file"):
        load(tmp_path, {"source": source, "path": "folder", **extra})


def test_unknown_option_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("a\n1\n")
    with pytest.raises(DataError, match=r"invalid options for source 'csv'.*delimeter"):
        load(tmp_path, {"source": "csv", "path": "a.csv", "delimeter": ";"})


# ----------------------------------------------------------------------------- json


def test_jsonl_broken_line_is_rejected_with_its_line() -> None:
    ds, rows = load(
        DATA,
        {
            "source": "jsonl",
            "path": "tickets.jsonl",
            "fields": {
                "ticket": "integer",
                "opened": {"type": "datetime", "timezone": "Europe/Moscow"},
                "resolved": "boolean",
            },
        },
    )
    assert (ds.rows_read, ds.rows_used, ds.rows_rejected) == (4, 3, 1)
    (bad,) = ds.rejects
    assert bad.locator == "tickets.jsonl:4"
    assert bad.reason.startswith("malformed record: invalid JSON")
    assert rows == [
        # Stored as UTC instants; the field's zone is where periods are cut.
        (0, 1, dt.datetime(2024, 3, 1, 7, 0), True),
        (1, 2, dt.datetime(2024, 3, 1, 12, 0), False),
        (2, 4, dt.datetime(2024, 3, 2, 6, 0), True),
    ]
    assert ds.locate([2]) == {2: "tickets.jsonl:5"}


def test_json_array_with_a_non_object_element(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('[{"id": 1, "tags": ["a"]}, 7, {"id": "x", "note": "n"}]')
    ds, rows = load(
        tmp_path,
        {"source": "json", "path": "a.json", "fields": {"id": "integer", "tags": "string"}},
    )
    assert (ds.rows_read, ds.rows_used, ds.rows_rejected) == (3, 2, 1)
    assert [(r.locator, r.reason) for r in ds.rejects] == [
        ("a.json[1]", "malformed record: a JSON number is not an object of fields"),
        ("a.json[2]", "field 'id': 'x' is not an integer"),
    ]
    assert rows == [(0, 1, '["a"]'), (1, None, None)]


def test_json_array_that_does_not_parse_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('[{"a": 1} {"a": 2}]')
    with pytest.raises(
        DataError, match=r"dataset 'ds': bad.json:1: invalid JSON: .* \(column 11\)"
    ):
        load(tmp_path, {"source": "json", "path": "bad.json"})


# --------------------------------------------------------------------------- sqlite


@pytest.fixture
def survey_db(tmp_path: Path) -> Path:
    db = tmp_path / "survey.db"
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE responses (id INTEGER PRIMARY KEY, score INTEGER, channel TEXT, at TEXT)"
    )
    con.executemany(
        "INSERT INTO responses VALUES (?, ?, ?, ?)",
        [
            (10, 9, "web", "2024-01-01 10:00:00"),
            (11, None, "app", "2024-01-02 11:00:00"),
            (12, "n/a?", "web", None),
        ],
    )
    con.commit()
    con.close()
    return db


def test_sqlite_table_rejects_locate_by_rowid(survey_db: Path) -> None:
    ds, rows = load(
        survey_db.parent,
        {
            "source": "sqlite",
            "path": "survey.db",
            "table": "responses",
            "fields": {"id": "integer", "score": "integer", "at": "datetime"},
        },
    )
    assert (ds.rows_read, ds.rows_used, ds.rows_rejected) == (3, 3, 0)
    assert ds.cells_rejected == {"score": 1}
    assert ds.rejects[0].locator == "survey.db:responses key=12"
    assert rows[0] == (0, 10, 9, dt.datetime(2024, 1, 1, 10, 0))


def test_sqlite_query(survey_db: Path) -> None:
    ds, rows = load(
        survey_db.parent,
        {
            "source": "sqlite",
            "path": "survey.db",
            "query": "SELECT channel, count(*) AS n FROM responses "
            "GROUP BY channel ORDER BY channel",
        },
    )
    assert ds.fields == {"channel": "string", "n": "integer"}
    assert rows == [(0, "app", 1), (1, "web", 2)]


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM responses",
        "SELECT 1; DROP TABLE responses",
        "ATTACH 'x.db' AS x",
        "PRAGMA table_info(responses)",
    ],
)
def test_sqlite_refuses_anything_but_select(survey_db: Path, query: str) -> None:
    with pytest.raises(DataError, match="sqlite query"):
        load(survey_db.parent, {"source": "sqlite", "path": "survey.db", "query": query})


def test_sqlite_needs_table_or_query(survey_db: Path) -> None:
    with pytest.raises(DataError, match="exactly one of `table` or `query`"):
        load(survey_db.parent, {"source": "sqlite", "path": "survey.db"})


# -------------------------------------------------------------------------- parquet


def test_parquet_keeps_types(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "score": pa.array([9.0, 7.5, None]),
            "at": pa.array(
                [dt.datetime(2024, 1, 1, 12), dt.datetime(2024, 1, 2), None], pa.timestamp("us")
            ),
            "code": pa.array(["5", "x", "7"]),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    ds, rows = load(tmp_path, {"source": "parquet", "path": "t.parquet"})
    assert ds.fields == {"id": "integer", "score": "number", "at": "datetime", "code": "string"}
    assert rows[0] == (0, 1, 9.0, dt.datetime(2024, 1, 1, 12), "5")
    ds, rows = load(
        tmp_path,
        {
            "source": "parquet",
            "path": "t.parquet",
            "fields": {"score": "integer", "code": "integer"},
        },
    )
    # Each bad cell is its own reject; the row keeps its other fields.
    assert [(r.locator, r.field) for r in ds.rejects] == [
        ("t.parquet row 2", "score"),
        ("t.parquet row 2", "code"),
    ]
    assert rows == [(0, 9, 5), (1, None, None), (2, None, 7)]


def test_file_fingerprint_follows_content(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("a\n1\n")
    shutil.copy(tmp_path / "a.csv", tmp_path / "b.csv")
    fa = load(tmp_path, {"source": "csv", "path": "a.csv"})[0].fingerprint
    fb = load(tmp_path, {"source": "csv", "path": "b.csv"})[0].fingerprint
    (tmp_path / "b.csv").write_text("a\n2\n")
    fc = load(tmp_path, {"source": "csv", "path": "b.csv"})[0].fingerprint
    assert fa == fb != fc
