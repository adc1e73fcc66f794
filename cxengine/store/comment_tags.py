"""The `comment_tags` table: one row per tagged comment and enricher, doubling as the cache.

A row is current while its `text_hash` matches the comment's text and its `version`
matches the enricher's version (which covers lexicon, code and taxonomy): then a
rerun reuses it and does no NLP work. Writes for one (dataset, field, enricher) go in
a single IMMEDIATE transaction, so a crash never leaves half of a dataset retagged,
and a rerun over unchanged comments writes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

#: Tag columns of comment_tags (and of the DuckDB tag tables), with their value kind.
#: An enricher's standard tag keys map onto them; any other key goes to `extra`.
TAG_COLUMNS: dict[str, str] = {
    "language": "string",
    "themes": "string",  # JSON list of theme ids
    "sentiment": "number",
    "label": "string",
    "theme_sentiment": "string",  # JSON object theme id -> score
    "lexicon_version": "string",
    "taxonomy_version": "string",
    "extra": "string",  # JSON object of non-standard tags
}
_STANDARD = set(TAG_COLUMNS) - {"extra"}
#: What the engine exposes as columns, and so what a cached rerun reads back.
EXPOSED_COLUMNS = ("language", "themes", "sentiment", "label", "theme_sentiment")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def tag_values(tags: dict[str, Any]) -> tuple[Any, ...]:
    """Return the column values, in TAG_COLUMNS order, of the dict an enricher returned."""
    themes = tags.get("themes")
    per_theme = tags.get("theme_sentiment")
    sentiment = tags.get("sentiment")
    extra = {k: v for k, v in tags.items() if k not in _STANDARD}
    return (
        tags.get("language"),
        _json(list(themes)) if themes is not None else None,
        float(sentiment) if sentiment is not None else None,
        tags.get("label"),
        _json(dict(per_theme)) if per_theme is not None else None,
        tags.get("lexicon_version"),
        tags.get("taxonomy_version"),
        _json(extra) if extra else None,
    )


def read_tags(
    database: Path,
    dataset: str,
    field: str,
    enricher: str,
    version: str,
    *,
    use_snapshot: bool = True,
) -> tuple[dict[str, list[Any]] | None, bytes | None]:
    """Return the cached tags of this enricher version: (columns, None) or (None, snapshot).

    The snapshot (an Arrow IPC stream of the same columns, already parsed) is used when
    it still mirrors `comment_tags`: same row count and latest `tagged_at`. Reading it
    is ~20× cheaper than reading 100,000 rows one by one, which is what a cached rerun
    would otherwise spend most of its time on. Otherwise the rows are read, as columns
    (key, hash, EXPOSED_COLUMNS). Opens the file read-only, so a `--no-store` run can
    use the cache without creating or migrating a database.
    """
    names = ["comment_key", "text_hash", *EXPOSED_COLUMNS]
    empty: dict[str, list[Any]] = {n: [] for n in names}
    if not database.is_file():
        return empty, None
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name IN ('comment_tags', 'comment_tag_snapshots')"
            )
        }
        if "comment_tags" not in tables:
            return empty, None
        scope = (dataset, field, enricher, version)
        if use_snapshot and "comment_tag_snapshots" in tables:
            snap = conn.execute(
                "SELECT rows, latest, arrow FROM comment_tag_snapshots "
                "WHERE dataset = ? AND field = ? AND enricher = ? AND version = ?",
                scope,
            ).fetchone()
            if snap is not None and tuple(snap[:2]) == _state(conn, scope):
                return None, bytes(snap[2])
        rows = conn.execute(
            f"SELECT {', '.join(names)} FROM comment_tags "
            "WHERE dataset = ? AND field = ? AND enricher = ? AND version = ?",
            scope,
        ).fetchall()
    finally:
        conn.close()
    if not rows:
        return empty, None
    return {n: list(col) for n, col in zip(names, zip(*rows, strict=True), strict=True)}, None


def _state(conn: sqlite3.Connection, scope: tuple[str, str, str, str]) -> tuple[int, str | None]:
    row = conn.execute(
        "SELECT count(*), max(tagged_at) FROM comment_tags "
        "WHERE dataset = ? AND field = ? AND enricher = ? AND version = ?",
        scope,
    ).fetchone()
    return (int(row[0]), row[1]) if row else (0, None)


def write_snapshot(
    conn: sqlite3.Connection,
    *,
    dataset: str,
    field: str,
    enricher: str,
    version: str,
    arrow: bytes | memoryview,
) -> None:
    """Store the snapshot of a scope's tags, stamped with the rows it mirrors (in a transaction).

    `arrow` may be a memoryview of an Arrow buffer: sqlite3 binds it as a BLOB
    without a copy in Python.
    """
    scope = (dataset, field, enricher, version)
    rows, latest = _state(conn, scope)
    conn.execute(
        "INSERT INTO comment_tag_snapshots "
        "(dataset, field, enricher, version, rows, latest, arrow) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dataset, field, enricher) DO UPDATE SET "
        "version = excluded.version, rows = excluded.rows, latest = excluded.latest, "
        "arrow = excluded.arrow",
        (*scope, rows, latest, arrow),
    )


def stamp_snapshot(
    conn: sqlite3.Connection, *, dataset: str, field: str, enricher: str, version: str
) -> None:
    """Stamp a scope's snapshot with the rows it mirrors now (after write_tags, one transaction)."""
    scope = (dataset, field, enricher, version)
    rows, latest = _state(conn, scope)
    conn.execute(
        "UPDATE comment_tag_snapshots SET rows = ?, latest = ? "
        "WHERE dataset = ? AND field = ? AND enricher = ? AND version = ?",
        (rows, latest, *scope),
    )


def write_tags(
    conn: sqlite3.Connection,
    *,
    dataset: str,
    field: str,
    enricher: str,
    version: str,
    fresh: Iterable[Sequence[Any]],
    keys: Iterable[Sequence[tuple[str, str]]],
    gone: Sequence[str] = (),
    tagged_at: str,
) -> int:
    """Store the tags of changed comments, delete `gone` keys; return rows written.

    `fresh` are (text_hash, *TAG_COLUMNS) of the texts analysed in this run (any
    iterable: it may stream), one row per distinct text, however many comments share
    it. `keys` are batches of
    (comment_key, text_hash), one per comment whose stored row changes: its tags are
    the fresh ones of its text, or else those already stored for its text under
    another key. Only the pairs cross from Python to SQLite, batch by batch; the
    rows are made inside SQLite by two INSERT … SELECT, so 642,000 comments of 818
    texts never become 642,000 Python tuples of tags.

    Call inside a transaction (`ResultsStore.write()`); it issues no COMMIT itself.
    Comments that left the dataset lose their rows, so the table describes the data
    as it is now (the text-hash cache still covers a comment that comes back).
    """
    columns = ("dataset", "field", "enricher", "version", "comment_key", "text_hash", *TAG_COLUMNS)
    updates = ", ".join(
        f"{c} = excluded.{c}" for c in ("version", "text_hash", *TAG_COLUMNS, "tagged_at")
    )
    tag_list = ", ".join(TAG_COLUMNS)
    scope = (dataset, field, enricher, version)
    conn.execute("DROP TABLE IF EXISTS temp._cx_fresh_tags")
    conn.execute("DROP TABLE IF EXISTS temp._cx_tag_keys")
    conn.execute(f"CREATE TEMP TABLE _cx_fresh_tags (text_hash TEXT PRIMARY KEY, {tag_list})")
    conn.execute("CREATE TEMP TABLE _cx_tag_keys (comment_key TEXT NOT NULL, text_hash TEXT)")
    try:
        conn.executemany(
            f"INSERT OR REPLACE INTO _cx_fresh_tags (text_hash, {tag_list}) "
            f"VALUES ({', '.join('?' * (len(TAG_COLUMNS) + 1))})",
            fresh,
        )
        for batch in keys:
            conn.executemany("INSERT INTO _cx_tag_keys VALUES (?, ?)", batch)
        written = conn.execute("SELECT count(*) FROM _cx_tag_keys").fetchone()[0]
        insert = f"INSERT INTO comment_tags ({', '.join(columns)}, tagged_at) "
        upsert = f"ON CONFLICT (dataset, field, comment_key, enricher) DO UPDATE SET {updates}"
        # A write at least as large as the table (a first run): the secondary indexes
        # are built once after the rows, by sorting, instead of taking 643k inserts
        # each at random places (bench/README.md, "Lean tagging": -1.1 s of 7.6 s).
        rebuilt = _drop_indexes(conn) if written and written >= _table_rows(conn) else []
        conn.execute(
            f"{insert}SELECT ?, ?, ?, ?, k.comment_key, k.text_hash, "
            f"{', '.join('f.' + c for c in TAG_COLUMNS)}, ? "
            f"FROM _cx_tag_keys AS k JOIN _cx_fresh_tags AS f USING (text_hash) "
            f"WHERE true {upsert}",
            (*scope, tagged_at),
        )
        # Before the copies below: they look tags up through the cache index.
        for sql in rebuilt:
            conn.execute(sql)
        # Tags already stored under another key for the same text: copied in SQLite
        # (one stored row per text, found through the cache index).
        conn.execute(
            f"{insert}SELECT ?, ?, ?, ?, k.comment_key, k.text_hash, "
            f"{', '.join('c.' + c for c in TAG_COLUMNS)}, ? "
            "FROM _cx_tag_keys AS k JOIN comment_tags AS c ON c.rowid = ("
            "  SELECT min(o.rowid) FROM comment_tags AS o WHERE o.enricher = ? "
            "  AND o.version = ? AND o.text_hash = k.text_hash AND o.dataset = ? "
            "  AND o.field = ?) "
            f"WHERE k.text_hash NOT IN (SELECT text_hash FROM _cx_fresh_tags) {upsert}",
            (*scope, tagged_at, enricher, version, dataset, field),
        )
    finally:
        conn.execute("DROP TABLE IF EXISTS temp._cx_fresh_tags")
        conn.execute("DROP TABLE IF EXISTS temp._cx_tag_keys")
    conn.executemany(
        "DELETE FROM comment_tags WHERE dataset = ? AND field = ? AND enricher = ? "
        "AND comment_key = ?",
        ((dataset, field, enricher, key) for key in gone),
    )
    if written:
        # Every present comment was just written with this version; rows of another
        # version left are comments that are gone.
        conn.execute(
            "DELETE FROM comment_tags WHERE dataset = ? AND field = ? AND enricher = ? "
            "AND version <> ?",
            (dataset, field, enricher, version),
        )
    return int(written)


def _table_rows(conn: sqlite3.Connection) -> int:
    """Return how many rows comment_tags holds (all scopes)."""
    return int(conn.execute("SELECT count(*) FROM comment_tags").fetchone()[0])


def _drop_indexes(conn: sqlite3.Connection) -> list[str]:
    """Drop comment_tags' own indexes (not its primary key); return the SQL that makes them.

    Inside the caller's transaction: a failure before they are made again rolls the
    drop back with the rest.
    """
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
        "AND tbl_name = 'comment_tags' AND sql IS NOT NULL ORDER BY name"
    ).fetchall()
    for name, _sql in rows:
        quoted = str(name).replace('"', '""')
        conn.execute(f'DROP INDEX "{quoted}"')
    return [str(sql) for _name, sql in rows]
