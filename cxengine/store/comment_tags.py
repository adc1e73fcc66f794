"""Comment tags: each distinct tag result stored once, per comment only a reference.

`comment_tag_sets` holds the tags of one analysed text (one row per dataset, field,
enricher, version and text hash); `comment_tag_rows` holds, per comment, its key,
the set it points to and when it was written. `comment_tags` is a view joining the
two with the columns and meaning the table of that name had before (docs/storage.md),
so every reader keeps working; `DELETE FROM comment_tags` works through a trigger.

Why: 642,000 comments carry 818 distinct texts. One full row per comment (~600
bytes with its indexes) made the write ≥ 5 s of CPU, more than the rest of a tagged
run (bench/README.md, "Lean tagging"); a reference is ~60 bytes and one B-tree.

A comment's tags are current while its set's `text_hash` matches the comment's text
and its `version` matches the enricher's version (which covers lexicon, code and
taxonomy): then a rerun reuses them and does no NLP work. Writes for one (dataset,
field, enricher) go in a single IMMEDIATE transaction, so a crash never leaves half
of a dataset retagged, and a rerun over unchanged comments writes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class StoredTags:
    """The cached tags of one enricher version, as read from the results database.

    `sets`: columns text_hash and EXPOSED_COLUMNS, one row per stored text (a text may
    repeat in a database not yet migrated to tag sets; any of its rows will do).
    Which comment has which text is either `keys` (columns comment_key, text_hash) or
    `snapshot` (the same two columns as an Arrow IPC stream), never both.
    """

    sets: dict[str, list[Any]]
    keys: dict[str, list[Any]] | None
    snapshot: bytes | None


def _columns(names: Sequence[str], rows: list[tuple[Any, ...]]) -> dict[str, list[Any]]:
    if not rows:
        return {n: [] for n in names}
    return {n: list(col) for n, col in zip(names, zip(*rows, strict=True), strict=True)}


def read_tags(
    database: Path,
    dataset: str,
    field: str,
    enricher: str,
    version: str,
    *,
    use_snapshot: bool = True,
) -> StoredTags:
    """Return the cached tags of this enricher version: its tag sets, and who has which text.

    Who has which text comes from the snapshot (an Arrow IPC stream of comment keys
    and text hashes) when it still mirrors the stored rows: same row count and latest
    `tagged_at`; one value read instead of a row per comment, which is what a cached
    rerun would otherwise spend most of its time on. Otherwise the rows are read.
    The tags are read once per text from `comment_tag_sets`. Opens the file
    read-only, so a `--no-store` run can use the cache without creating or migrating
    a database (one not yet migrated to tag sets is read from its `comment_tags`
    table, without the snapshot).
    """
    sets = ["text_hash", *EXPOSED_COLUMNS]
    keys = ["comment_key", "text_hash"]
    empty = StoredTags(_columns(sets, []), _columns(keys, []), None)
    if not database.is_file():
        return empty
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name IN ('comment_tags', 'comment_tag_rows', 'comment_tag_snapshots')"
            )
        }
        if "comment_tags" not in tables:
            return empty
        scope = (dataset, field, enricher, version)
        if "comment_tag_rows" not in tables:
            rows = conn.execute(
                f"SELECT comment_key, {', '.join(sets)} FROM comment_tags "
                "WHERE dataset = ? AND field = ? AND enricher = ? AND version = ?",
                scope,
            ).fetchall()
            return StoredTags(
                _columns(sets, [r[1:] for r in rows]), _columns(keys, [r[:2] for r in rows]), None
            )
        tags = _columns(
            sets,
            conn.execute(
                f"SELECT {', '.join(sets)} FROM comment_tag_sets "
                "WHERE dataset = ? AND field = ? AND enricher = ? AND version = ?",
                scope,
            ).fetchall(),
        )
        if use_snapshot and "comment_tag_snapshots" in tables:
            snap = conn.execute(
                "SELECT rows, latest, arrow FROM comment_tag_snapshots "
                "WHERE dataset = ? AND field = ? AND enricher = ? AND version = ?",
                scope,
            ).fetchone()
            if snap is not None and tuple(snap[:2]) == _state(conn, scope[:3]):
                return StoredTags(tags, None, bytes(snap[2]))
        pairs = conn.execute(
            "SELECT r.comment_key, s.text_hash FROM comment_tag_rows AS r "
            "JOIN comment_tag_sets AS s ON s.id = r.set_id "
            "WHERE r.dataset = ? AND r.field = ? AND r.enricher = ? AND s.version = ?",
            scope,
        ).fetchall()
    finally:
        conn.close()
    return StoredTags(tags, _columns(keys, pairs), None)


def _state(conn: sqlite3.Connection, scope: tuple[str, str, str]) -> tuple[int, str | None]:
    """Return (rows, latest tagged_at) of a (dataset, field, enricher): what a snapshot mirrors.

    Over every version, so it reads the references alone (a range of their primary
    key) without looking up each one's set: a write leaves all rows of its scope at
    its own version, and the snapshot is looked up by version too.
    """
    row = conn.execute(
        "SELECT count(*), max(tagged_at) FROM comment_tag_rows "
        "WHERE dataset = ? AND field = ? AND enricher = ?",
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
    """Store the snapshot of a scope's tags, not yet valid: `stamp_snapshot` makes it so.

    Stamped with -1 rows, which no scope has, so a snapshot whose rows were never
    written after it (an error between the two) is never used. `arrow` may be a
    memoryview of an Arrow buffer: sqlite3 binds it as a BLOB without a copy in Python.
    """
    conn.execute(
        "INSERT INTO comment_tag_snapshots "
        "(dataset, field, enricher, version, rows, latest, arrow) "
        "VALUES (?, ?, ?, ?, -1, NULL, ?) ON CONFLICT (dataset, field, enricher) DO UPDATE SET "
        "version = excluded.version, rows = excluded.rows, latest = excluded.latest, "
        "arrow = excluded.arrow",
        (dataset, field, enricher, version, arrow),
    )


def stamp_snapshot(
    conn: sqlite3.Connection, *, dataset: str, field: str, enricher: str, version: str
) -> None:
    """Stamp a scope's snapshot with the rows it mirrors now (after write_tags, one transaction)."""
    rows, latest = _state(conn, (dataset, field, enricher))
    conn.execute(
        "UPDATE comment_tag_snapshots SET rows = ?, latest = ? "
        "WHERE dataset = ? AND field = ? AND enricher = ? AND version = ?",
        (rows, latest, dataset, field, enricher, version),
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
    it: each becomes one tag set. `keys` are batches of (comment_key, text_hash), one
    per comment whose stored row changes: it then points at the set of its text,
    fresh or stored before. Keys in order (as SQLite compares text) make the rows'
    B-tree grow at its end instead of at random places (bench/README.md). Only the
    pairs cross from Python to SQLite per comment; 642,000 comments of 818 texts never
    become 642,000 rows of tags. A pair whose text has no set (neither fresh nor
    stored) gets no row.

    Call inside a transaction (`ResultsStore.write()`); it issues no COMMIT itself, so
    a killed run leaves nothing half-written. Writing the same thing twice leaves the
    same rows: a comment has one row (its key is the primary key) and a text one set.
    Comments that left the dataset lose their rows, and sets no comment points at any
    more are deleted, so the tables describe the data as it is now.
    """
    scope = (dataset, field, enricher)
    tag_list = ", ".join(TAG_COLUMNS)
    had_rows = conn.execute(
        "SELECT 1 FROM comment_tag_rows WHERE dataset = ? AND field = ? AND enricher = ? LIMIT 1",
        scope,
    ).fetchone()
    had_sets = (
        had_rows
        or conn.execute(
            "SELECT 1 FROM comment_tag_sets "
            "WHERE dataset = ? AND field = ? AND enricher = ? LIMIT 1",
            scope,
        ).fetchone()
    )
    # A text analysed again (a caller's retry, or a set left by a deleted row) takes
    # its new tags in place: one set per text.
    conn.executemany(
        f"INSERT INTO comment_tag_sets (dataset, field, enricher, version, text_hash, {tag_list}) "
        f"VALUES ({', '.join('?' * (len(TAG_COLUMNS) + 5))}) "
        "ON CONFLICT (dataset, field, enricher, version, text_hash) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in TAG_COLUMNS),
        ((*scope, version, *row) for row in fresh),
    )
    conn.execute("DROP TABLE IF EXISTS temp._cx_tag_keys")
    conn.execute("CREATE TEMP TABLE _cx_tag_keys (comment_key TEXT NOT NULL, text_hash TEXT)")
    try:
        for batch in keys:
            conn.executemany("INSERT INTO _cx_tag_keys VALUES (?, ?)", batch)
        written = int(conn.execute("SELECT count(*) FROM _cx_tag_keys").fetchone()[0])
        conn.execute(
            "INSERT INTO comment_tag_rows (dataset, field, enricher, comment_key, set_id, "
            "tagged_at) SELECT ?, ?, ?, k.comment_key, s.id, ? FROM _cx_tag_keys AS k "
            # CROSS JOIN keeps the comments outside, each finding its set through the
            # index: the planner otherwise scanned every comment once per set.
            "CROSS JOIN comment_tag_sets AS s ON s.dataset = ? AND s.field = ? AND s.enricher = ? "
            "AND s.version = ? AND s.text_hash = k.text_hash WHERE true "
            "ON CONFLICT (dataset, field, enricher, comment_key) DO UPDATE SET "
            "set_id = excluded.set_id, tagged_at = excluded.tagged_at",
            (*scope, tagged_at, *scope, version),
        )
    finally:
        conn.execute("DROP TABLE IF EXISTS temp._cx_tag_keys")
    conn.executemany(
        "DELETE FROM comment_tag_rows WHERE dataset = ? AND field = ? AND enricher = ? "
        "AND comment_key = ?",
        ((*scope, key) for key in gone),
    )
    if written and had_rows:
        # Every present comment was just written with this version; rows of another
        # version left are comments that are gone. (With no row before, there are none.)
        conn.execute(
            "DELETE FROM comment_tag_rows WHERE dataset = ? AND field = ? AND enricher = ? "
            "AND set_id IN (SELECT id FROM comment_tag_sets WHERE dataset = ? AND field = ? "
            "AND enricher = ? AND version <> ?)",
            (*scope, *scope, version),
        )
    if had_sets and (written or gone):
        # Rows were overwritten or deleted: the sets they pointed at may be unused now.
        # A text no comment has any more is forgotten here, as its rows were before
        # tag sets. A first write cannot leave one: every fresh text is some comment's.
        conn.execute(
            "DELETE FROM comment_tag_sets WHERE dataset = ? AND field = ? AND enricher = ? "
            "AND id NOT IN (SELECT set_id FROM comment_tag_rows "
            "WHERE dataset = ? AND field = ? AND enricher = ?)",
            (*scope, *scope),
        )
    return written
