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
