"""Writing comment tags: each distinct tag result once, per comment a reference.

Issue 12 item 5. `comment_tags` is a view with the columns the table of that name had;
these tests read it as any consumer would, and count what is stored underneath
(never time it).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cxengine.store import comment_tags
from cxengine.store.comment_tags import TAG_COLUMNS, write_tags
from cxengine.store.results import ResultsStore

COLUMNS = ", ".join(("comment_key", "version", "text_hash", *TAG_COLUMNS, "tagged_at"))


def fresh(text_hash: str, label: str) -> tuple[Any, ...]:
    tags = {"language": "en", "themes": ["price"], "sentiment": 0.5, "label": label}
    return (text_hash, *comment_tags.tag_values(tags))


def write(
    conn: sqlite3.Connection,
    pairs: list[tuple[str, str]],
    new: list[tuple[Any, ...]],
    at: str,
    *,
    version: str = "v1",
    gone: tuple[str, ...] = (),
) -> int:
    return write_tags(
        conn, dataset="d", field="comment", enricher="nlp", version=version,
        fresh=new, keys=[pairs], gone=gone, tagged_at=at,
    )  # fmt: skip


def view(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(f"SELECT {COLUMNS} FROM comment_tags ORDER BY comment_key").fetchall()


def counts(conn: sqlite3.Connection) -> tuple[int, int]:
    """(tag sets, per-comment rows) stored."""
    sets = conn.execute("SELECT count(*) FROM comment_tag_sets").fetchone()[0]
    rows = conn.execute("SELECT count(*) FROM comment_tag_rows").fetchone()[0]
    return int(sets), int(rows)


def test_comments_sharing_a_text_share_one_stored_tag_set(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "cx.db") as store:
        with store.write() as conn:
            pairs = [(f"k{i}", "h1" if i % 3 else "h2") for i in range(9)]
            assert write(conn, pairs, [fresh("h1", "a"), fresh("h2", "b")], "t1") == 9
        assert counts(store.conn) == (2, 9)
        rows = view(store.conn)
    assert [(r[0], r[2], r[6]) for r in rows[:3]] == [
        ("k0", "h2", "b"), ("k1", "h1", "a"), ("k2", "h1", "a"),
    ]  # fmt: skip
    assert {r[-1] for r in rows} == {"t1"}


def test_a_comment_whose_text_is_stored_gets_its_tags_without_a_fresh_analysis(
    tmp_path: Path,
) -> None:
    with ResultsStore(tmp_path / "cx.db") as store:
        with store.write() as conn:
            write(conn, [("k1", "h1"), ("k2", "h2")], [fresh("h1", "a"), fresh("h2", "b")], "t1")
        with store.write() as conn:
            # k3 has a text already stored under k1; h3 is new.
            write(conn, [("k3", "h1"), ("k4", "h3"), ("k5", "h3")], [fresh("h3", "c")], "t2")
        rows = view(store.conn)
        assert counts(store.conn) == (3, 5)
    assert [(r[0], r[2], r[6], r[-1]) for r in rows] == [
        ("k1", "h1", "a", "t1"), ("k2", "h2", "b", "t1"), ("k3", "h1", "a", "t2"),
        ("k4", "h3", "c", "t2"), ("k5", "h3", "c", "t2"),
    ]  # fmt: skip


def test_writing_the_same_tags_again_does_not_double_count(tmp_path: Path) -> None:
    pairs = [("k1", "h1"), ("k2", "h1"), ("k3", "h2")]
    with ResultsStore(tmp_path / "cx.db") as store:
        for at in ("t1", "t2"):
            with store.write() as conn:
                write(conn, pairs, [fresh("h1", "a"), fresh("h2", "b")], at)
        assert counts(store.conn) == (2, 3)
        assert [r[-1] for r in view(store.conn)] == ["t2", "t2", "t2"]


def test_a_failed_write_leaves_the_stored_tags_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ResultsStore(tmp_path / "cx.db") as store:
        with store.write() as conn:
            write(conn, [("k1", "h1")], [fresh("h1", "a")], "t1")
        before = view(store.conn), counts(store.conn)

        def batches() -> Any:
            yield [("k1", "h2"), ("k2", "h2")]
            raise RuntimeError("killed while the comments streamed in")

        with pytest.raises(RuntimeError), store.write() as conn:
            write_tags(
                conn, dataset="d", field="comment", enricher="nlp", version="v1",
                fresh=[fresh("h2", "b")], keys=batches(), tagged_at="t2",
            )  # fmt: skip
        assert (view(store.conn), counts(store.conn)) == before


def test_gone_comments_and_the_sets_only_they_used_are_deleted(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "cx.db") as store:
        with store.write() as conn:
            write(conn, [("k1", "h1"), ("k2", "h2")], [fresh("h1", "a"), fresh("h2", "b")], "t1")
        with store.write() as conn:
            write(conn, [], [], "t2", gone=("k2",))
        assert [r[0] for r in view(store.conn)] == ["k1"]
        assert counts(store.conn) == (1, 1)


def test_a_new_version_replaces_every_row_and_set_of_the_old_one(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "cx.db") as store:
        with store.write() as conn:
            write(conn, [("k1", "h1"), ("k2", "h1")], [fresh("h1", "a")], "t1")
        with store.write() as conn:
            write(conn, [("k1", "h1"), ("k2", "h1")], [fresh("h1", "z")], "t2", version="v2")
        assert {(r[1], r[6]) for r in view(store.conn)} == {("v2", "z")}
        assert counts(store.conn) == (1, 2)


def test_deleting_from_the_view_deletes_those_comments_rows(tmp_path: Path) -> None:
    # Deleting a comment's tags by hand, as one did with the table, still works.
    with ResultsStore(tmp_path / "cx.db") as store:
        with store.write() as conn:
            write(conn, [("k1", "h1"), ("k2", "h1")], [fresh("h1", "a")], "t1")
        with store.write() as conn:
            conn.execute("DELETE FROM comment_tags WHERE comment_key = 'k2'")
        assert [r[0] for r in view(store.conn)] == ["k1"]
        assert counts(store.conn) == (1, 1)


def test_a_database_not_yet_migrated_is_read_as_it_is_without_being_changed(
    tmp_path: Path,
) -> None:
    # `run --no-store` opens the database read-only: an old comment_tags table is the cache.
    from tests.test_migrations import old_tags_database

    db = tmp_path / "cx.db"
    old_tags_database(db)
    stored = comment_tags.read_tags(db, "survey", "comment", "nlp", "v1")
    assert stored.snapshot is None and stored.keys is not None
    assert sorted(zip(stored.keys["comment_key"], stored.keys["text_hash"], strict=True)) == [
        ("r1", "h1"), ("r2", "h1"), ("r3", "h2"),
    ]  # fmt: skip
    assert sorted(set(stored.sets["text_hash"])) == ["h1", "h2"]
    conn = sqlite3.connect(db)
    kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'comment_tags'").fetchone()
    conn.close()
    assert kind == ("table",)


def test_the_cache_reads_each_text_once_and_who_has_it(tmp_path: Path) -> None:
    db = tmp_path / "cx.db"
    with ResultsStore(db) as store, store.write() as conn:
        write(
            conn,
            [("k1", "h1"), ("k2", "h1"), ("k3", "h2")],
            [fresh("h1", "a"), fresh("h2", "b")],
            "t1",
        )
    stored = comment_tags.read_tags(db, "d", "comment", "nlp", "v1", use_snapshot=False)
    assert sorted(zip(stored.sets["text_hash"], stored.sets["label"], strict=True)) == [
        ("h1", "a"), ("h2", "b"),
    ]  # fmt: skip
    assert stored.keys is not None and len(stored.keys["comment_key"]) == 3
    # Another version's cache is empty.
    other = comment_tags.read_tags(db, "d", "comment", "nlp", "v2", use_snapshot=False)
    assert other.sets["text_hash"] == [] and other.keys == {"comment_key": [], "text_hash": []}
