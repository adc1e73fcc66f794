"""Migrations are known by name: an existing database upgrades without running one twice.

The database of the 0.1.0 release is built here the way that release built it: its
migration runner (copied below, as it shipped) records each migration's position and
name. Opening it with today's code must apply nothing, keep its data, and accept runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cxengine.store import migrations
from cxengine.store.migrations import MIGRATIONS, applied_migrations, apply_migrations
from cxengine.store.results import ResultsStore


def release_0_1_apply(conn: sqlite3.Connection, chosen: list[tuple[str, Callable]]) -> None:
    """The migration runner of cxengine 0.1.0: keyed by position (`id`), not by name."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _cxengine_migrations "
        "(id INTEGER PRIMARY KEY, name TEXT, applied TEXT)"
    )
    for number, (name, fn) in enumerate(chosen, start=1):
        conn.execute("BEGIN IMMEDIATE")
        done = conn.execute("SELECT 1 FROM _cxengine_migrations WHERE id = ?", (number,)).fetchone()
        if not done:
            fn(conn)
            conn.execute(
                "INSERT INTO _cxengine_migrations (id, name, applied) VALUES (?, ?, ?)",
                (number, name, datetime.now(UTC).isoformat(timespec="seconds")),
            )
        conn.execute("COMMIT")


def release_0_1_database(path: Path, chosen: list[tuple[str, Callable]] | None = None) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    release_0_1_apply(conn, list(MIGRATIONS if chosen is None else chosen))
    conn.execute(
        "INSERT INTO runs (id, status, started, cxengine_version) "
        "VALUES ('old', 'ok', '2025-01-01T00:00:00', '0.1.0')"
    )
    conn.close()


def test_a_database_of_the_current_release_upgrades_without_running_anything(
    tmp_path: Path,
) -> None:
    db = tmp_path / "cx.db"
    release_0_1_database(db)
    conn = sqlite3.connect(db, isolation_level=None)
    assert apply_migrations(conn) == []
    assert applied_migrations(conn) == [name for name, _ in MIGRATIONS]
    conn.close()
    with ResultsStore(db) as store:
        assert [r["id"] for r in store.runs()] == ["old"]


def test_migrations_recorded_in_another_order_are_not_run_again(tmp_path: Path) -> None:
    # Two features landed in the other order on the branch that made this database,
    # and the last migration did not exist there yet.
    # `m_checks` and `m_comment_tags` are independent features; swap them, and leave
    # out the newest migration.
    by_name = dict(MIGRATIONS)
    other_order = [
        (name, by_name[name])
        for name in ("m001_initial", "m_comment_tags", "m_checks", "m_comment_tag_snapshots")
    ]
    newer = [name for name, _ in MIGRATIONS if name not in dict(other_order)]
    db = tmp_path / "cx.db"
    release_0_1_database(db, other_order)
    conn = sqlite3.connect(db, isolation_level=None)
    assert apply_migrations(conn) == newer
    assert sorted(applied_migrations(conn)) == sorted(name for name, _ in MIGRATIONS)
    assert apply_migrations(conn) == []


def test_a_new_migration_is_applied_once_and_recorded_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "cx.db"
    release_0_1_database(db)

    def m_test_notes(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS test_notes (note TEXT)")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*MIGRATIONS, ("m_test_notes", m_test_notes)])
    conn = sqlite3.connect(db, isolation_level=None)
    assert migrations.apply_migrations(conn) == ["m_test_notes"]
    assert migrations.apply_migrations(conn) == []
    assert applied_migrations(conn)[-1] == "m_test_notes"


def test_two_migrations_cannot_share_a_name() -> None:
    def m001_initial(conn: sqlite3.Connection) -> None: ...

    with pytest.raises(ValueError, match="m001_initial"):
        migrations.migration(m001_initial)


# The comment_tags table as it was before m_comment_tag_sets: built by the migrations
# that made it, then filled the way cxengine wrote it (one full row per comment).
BEFORE_TAG_SETS = [name for name, _ in MIGRATIONS if name not in ("m_comment_tag_sets",)]
OLD_ROWS = [
    # dataset, field, comment_key, enricher, version, text_hash, language, themes,
    # sentiment, label, theme_sentiment, lexicon_version, taxonomy_version, extra, tagged_at
    ("survey", "comment", "r1", "nlp", "v1", "h1", "en", '["price"]', -0.5, "negative",
     '{"price":-0.5}', "lx", "tx", None, "2026-01-01T00:00:00"),
    ("survey", "comment", "r2", "nlp", "v1", "h1", "en", '["price"]', -0.5, "negative",
     '{"price":-0.5}', "lx", "tx", None, "2026-01-02T00:00:00"),
    ("survey", "comment", "r3", "nlp", "v1", "h2", "ru", "[]", None, None, None, "lx", "tx",
     '{"k":1}', "2026-01-02T00:00:00"),
    ("survey", "comment", "r1", "other", "w9", "h1", "en", "[]", 0.0, "neutral", None, None,
     None, None, "2026-01-03T00:00:00"),
    ("chats", "text", "r1", "nlp", "v1", "h1", "en", '["price"]', -0.4, "negative",
     '{"price":-0.4}', "lx", "tx", None, "2026-01-04T00:00:00"),
]  # fmt: skip


def old_tags_database(path: Path) -> list[tuple[object, ...]]:
    """A database of the schema before tag sets, with tags; return its rows as read."""
    by_name = dict(MIGRATIONS)
    release_0_1_database(path, [(name, by_name[name]) for name in BEFORE_TAG_SETS])
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(f"INSERT INTO comment_tags VALUES ({', '.join('?' * 15)})", OLD_ROWS)
    rows = conn.execute(ORDERED_TAGS).fetchall()
    conn.close()
    return rows


ORDERED_TAGS = "SELECT * FROM comment_tags ORDER BY dataset, field, enricher, comment_key"


def test_an_old_comment_tags_table_becomes_tag_sets_behind_a_view_of_the_same_rows(
    tmp_path: Path,
) -> None:
    db = tmp_path / "cx.db"
    before = old_tags_database(db)
    with ResultsStore(db) as store:
        after = store.conn.execute(ORDERED_TAGS).fetchall()
        kind = store.conn.execute(
            "SELECT type FROM sqlite_master WHERE name = 'comment_tags'"
        ).fetchone()[0]
        sets = store.conn.execute("SELECT count(*) FROM comment_tag_sets").fetchone()[0]
        rows = store.conn.execute("SELECT count(*) FROM comment_tag_rows").fetchone()[0]
        columns = [r[1] for r in store.conn.execute("PRAGMA table_info(comment_tags)")]
    # Same rows, same values, same column names and order, for every consumer.
    assert after == before and len(after) == 5
    assert columns == [
        "dataset", "field", "comment_key", "enricher", "version", "text_hash", "language",
        "themes", "sentiment", "label", "theme_sentiment", "lexicon_version",
        "taxonomy_version", "extra", "tagged_at",
    ]  # fmt: skip
    # r1 and r2 share one text and version: one set. The rest differ in scope.
    assert (kind, sets, rows) == ("view", 4, 5)


def test_upgrading_twice_moves_nothing_twice(tmp_path: Path) -> None:
    db = tmp_path / "cx.db"
    before = old_tags_database(db)
    ResultsStore(db).close()
    conn = sqlite3.connect(db, isolation_level=None)
    assert apply_migrations(conn) == []
    # Run the migration itself again, as a second process racing the first might have.
    conn.execute("BEGIN IMMEDIATE")
    dict(MIGRATIONS)["m_comment_tag_sets"](conn)
    conn.execute("COMMIT")
    assert conn.execute(ORDERED_TAGS).fetchall() == before
    assert conn.execute("SELECT count(*) FROM comment_tag_rows").fetchone()[0] == 5
    conn.close()


def test_an_upgrade_killed_midway_leaves_the_old_table_and_a_later_one_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "cx.db"
    before = old_tags_database(db)
    real = dict(MIGRATIONS)["m_comment_tag_sets"]

    def killed(conn: sqlite3.Connection) -> None:
        real(conn)  # every row moved and the table dropped, not yet committed
        raise KeyboardInterrupt

    monkeypatch.setattr(
        migrations,
        "MIGRATIONS",
        [(n, killed if n == "m_comment_tag_sets" else fn) for n, fn in MIGRATIONS],
    )
    conn = sqlite3.connect(db, isolation_level=None)
    with pytest.raises(KeyboardInterrupt):
        migrations.apply_migrations(conn)
    assert "m_comment_tag_sets" not in applied_migrations(conn)
    kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'comment_tags'").fetchone()
    assert kind == ("table",)
    assert conn.execute(ORDERED_TAGS).fetchall() == before
    conn.close()
    monkeypatch.undo()
    with ResultsStore(db) as store:
        assert store.conn.execute(ORDERED_TAGS).fetchall() == before
