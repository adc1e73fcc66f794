"""Writing comment_tags: a write as large as the table builds its indexes afterwards.

Issue 12 item 5. The rows and the indexes must be exactly those the row-by-row path
makes; only the work differs (counted here as the statements run, never timed).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cxengine.store import comment_tags
from cxengine.store.comment_tags import TAG_COLUMNS, write_tags
from cxengine.store.results import ResultsStore


def fresh(text_hash: str, label: str) -> tuple[Any, ...]:
    tags = {"language": "en", "themes": ["price"], "sentiment": 0.5, "label": label}
    return (text_hash, *comment_tags.tag_values(tags))


def write(
    conn: sqlite3.Connection, pairs: list[tuple[str, str]], new: list[tuple[Any, ...]], at: str
) -> int:
    return write_tags(
        conn, dataset="d", field="comment", enricher="nlp", version="v1",
        fresh=new, keys=[pairs], gone=[], tagged_at=at,
    )  # fmt: skip


def rows_and_indexes(conn: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
    columns = ", ".join(("comment_key", "text_hash", *TAG_COLUMNS, "tagged_at"))
    rows = conn.execute(f"SELECT {columns} FROM comment_tags ORDER BY comment_key").fetchall()
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'comment_tags' ORDER BY name"
    ).fetchall()
    return rows, indexes


def history(database: Path, bulk: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[str]]:
    """Two writes (the second copies a stored text's tags); return the result and DROPs."""
    if not bulk:
        monkeypatch.setattr(comment_tags, "_table_rows", lambda conn: 10**9)
    drops: list[str] = []
    with ResultsStore(database) as store:
        store.conn.set_trace_callback(lambda sql: drops.append(sql) if "DROP INDEX" in sql else 0)
        with store.write() as conn:
            write(conn, [("k1", "h1"), ("k2", "h2")], [fresh("h1", "a"), fresh("h2", "b")], "t1")
        with store.write() as conn:
            # k3 has a text already stored under k1: its tags are copied in SQLite,
            # through the cache index, which must exist again by then.
            write(conn, [("k3", "h1"), ("k4", "h3"), ("k5", "h3")], [fresh("h3", "c")], "t2")
        with store.write() as conn:
            return rows_and_indexes(conn), drops


def test_a_write_as_large_as_the_table_gives_the_same_rows_and_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk, bulk_drops = history(tmp_path / "bulk.db", True, monkeypatch)
    slow, slow_drops = history(tmp_path / "slow.db", False, monkeypatch)
    assert bulk == slow
    rows, indexes = bulk
    assert [(r[0], r[1], r[5]) for r in rows] == [
        ("k1", "h1", "a"), ("k2", "h2", "b"), ("k3", "h1", "a"), ("k4", "h3", "c"),
        ("k5", "h3", "c"),
    ]  # fmt: skip
    assert {name for name, _ in indexes} >= {"comment_tags_cache", "comment_tags_scope"}
    # Both writes were at least as large as the table: indexes dropped and made again.
    assert len(bulk_drops) == 4 and not slow_drops


def test_a_small_write_into_a_larger_table_keeps_its_indexes(tmp_path: Path) -> None:
    drops: list[str] = []
    with ResultsStore(tmp_path / "cx.db") as store:
        with store.write() as conn:
            write(conn, [(f"k{i}", "h1") for i in range(5)], [fresh("h1", "a")], "t1")
        store.conn.set_trace_callback(lambda sql: drops.append(sql) if "DROP INDEX" in sql else 0)
        with store.write() as conn:
            write(conn, [("k0", "h2")], [fresh("h2", "b")], "t2")
    assert drops == []


def test_a_write_that_fails_after_dropping_the_indexes_leaves_them_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = comment_tags._drop_indexes

    def drop_then_fail(conn: sqlite3.Connection) -> list[str]:
        real(conn)
        raise RuntimeError("interrupted between the drop and the rebuild")

    monkeypatch.setattr(comment_tags, "_drop_indexes", drop_then_fail)
    with ResultsStore(tmp_path / "cx.db") as store:
        before = rows_and_indexes(store.conn)
        with pytest.raises(RuntimeError), store.write() as conn:
            write(conn, [("k1", "h1")], [fresh("h1", "a")], "t1")
        assert rows_and_indexes(store.conn) == before
        assert {name for name, _ in before[1]} >= {"comment_tags_cache", "comment_tags_scope"}
