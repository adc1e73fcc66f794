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
from collections.abc import Sequence
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
    conn: sqlite3.Connection, *, dataset: str, field: str, enricher: str, version: str, arrow: bytes
) -> None:
    """Store the snapshot of a scope's tags, stamped with the rows it mirrors (in a transaction)."""
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


def write_tags(
    conn: sqlite3.Connection,
    *,
    dataset: str,
    field: str,
    enricher: str,
    version: str,
    rows: Sequence[Sequence[Any]],
    copies: Sequence[tuple[str, str]] = (),
    gone: Sequence[str] = (),
    tagged_at: str,
) -> int:
    """Upsert rows, copy tags to new keys, delete `gone` keys; return rows written.

    `rows` are (comment_key, text_hash, *TAG_COLUMNS); `copies` are (comment_key,
    text_hash) whose tags are already stored, under another key, for this version.

    Call inside a transaction (`ResultsStore.write()`); it issues no COMMIT itself.
    Comments that left the dataset lose their rows, so the table describes the data
    as it is now (the text-hash cache still covers a comment that comes back).
    """
    columns = ("dataset", "field", "enricher", "version", "comment_key", "text_hash", *TAG_COLUMNS)
    updates = ", ".join(
        f"{c} = excluded.{c}" for c in ("version", "text_hash", *TAG_COLUMNS, "tagged_at")
    )
    conn.executemany(
        f"INSERT INTO comment_tags ({', '.join(columns)}, tagged_at) "
        f"VALUES ({', '.join('?' * (len(columns) + 1))}) "
        f"ON CONFLICT (dataset, field, comment_key, enricher) DO UPDATE SET {updates}",
        ((dataset, field, enricher, version, *row, tagged_at) for row in rows),
    )
    tag_list = ", ".join(TAG_COLUMNS)
    scope = (dataset, field, enricher, version)
    conn.executemany(
        f"INSERT INTO comment_tags ({', '.join(columns)}, tagged_at) "
        f"SELECT ?, ?, ?, ?, ?, text_hash, {tag_list}, ? FROM comment_tags "
        "WHERE dataset = ? AND field = ? AND enricher = ? AND version = ? AND text_hash = ? "
        f"LIMIT 1 ON CONFLICT (dataset, field, comment_key, enricher) DO UPDATE SET {updates}",
        ((*scope, key, tagged_at, *scope, h) for key, h in copies),
    )
    conn.executemany(
        "DELETE FROM comment_tags WHERE dataset = ? AND field = ? AND enricher = ? "
        "AND comment_key = ?",
        ((dataset, field, enricher, key) for key in gone),
    )
    if rows or copies:
        # Every present comment was just written with this version; rows of another
        # version left are comments that are gone.
        conn.execute(
            "DELETE FROM comment_tags WHERE dataset = ? AND field = ? AND enricher = ? "
            "AND version <> ?",
            (dataset, field, enricher, version),
        )
    return len(rows) + len(copies)
