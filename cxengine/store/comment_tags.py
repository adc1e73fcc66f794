"""The `comment_tags` table: one row per tagged comment and enricher, doubling as the cache.

A row is current while its `text_hash` matches the comment's text and its `version`
matches the enricher's version (which covers lexicon, code and taxonomy): then a
rerun reuses it and does no NLP work. Writes replace the tags of one
(dataset, field, enricher) in a single IMMEDIATE transaction, so a crash never leaves
half of a dataset retagged, and rerunning with the same input writes nothing new.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Tag keys with a column of their own; anything else an enricher returns goes to `extra`.
STANDARD_TAGS = (
    "language",
    "themes",
    "sentiment",
    "label",
    "theme_sentiment",
    "lexicon_version",
    "taxonomy_version",
)


@dataclass(frozen=True)
class StoredTag:
    """The stored form of one comment's tags (JSON columns kept as text)."""

    text_hash: str
    language: str | None
    themes: str | None  # JSON list of theme ids
    sentiment: float | None
    label: str | None
    theme_sentiment: str | None  # JSON object theme -> score
    lexicon_version: str | None = None
    taxonomy_version: str | None = None
    extra: str | None = None  # JSON object of non-standard tags

    @classmethod
    def from_tags(cls, text_hash: str, tags: dict[str, Any]) -> StoredTag:
        """Build the stored form from the dict an enricher returned (already checked)."""
        themes = tags.get("themes")
        theme_sentiment = tags.get("theme_sentiment")
        extra = {k: v for k, v in tags.items() if k not in STANDARD_TAGS}
        sentiment = tags.get("sentiment")
        return cls(
            text_hash=text_hash,
            language=tags.get("language"),
            themes=_json(list(themes)) if themes is not None else None,
            sentiment=float(sentiment) if sentiment is not None else None,
            label=tags.get("label"),
            theme_sentiment=_json(dict(theme_sentiment)) if theme_sentiment is not None else None,
            lexicon_version=tags.get("lexicon_version"),
            taxonomy_version=tags.get("taxonomy_version"),
            extra=_json(extra) if extra else None,
        )


_COLUMNS = (
    "text_hash",
    "language",
    "themes",
    "sentiment",
    "label",
    "theme_sentiment",
    "lexicon_version",
    "taxonomy_version",
    "extra",
)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def read_tags(
    database: Path, dataset: str, field: str, enricher: str, version: str
) -> dict[str, StoredTag]:
    """Return comment key -> stored tags of this enricher version; {} without a database.

    Opens the file read-only, so a `--no-store` run can use the cache without
    creating or migrating a database.
    """
    if not database.is_file():
        return {}
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'comment_tags'"
        ).fetchone()
        if not exists:
            return {}
        cur = conn.execute(
            f"SELECT comment_key, {', '.join(_COLUMNS)} FROM comment_tags "
            "WHERE dataset = ? AND field = ? AND enricher = ? AND version = ?",
            (dataset, field, enricher, version),
        )
        return {row[0]: StoredTag(*row[1:]) for row in cur}
    finally:
        conn.close()


def write_tags(
    conn: sqlite3.Connection,
    *,
    dataset: str,
    field: str,
    enricher: str,
    version: str,
    changed: Iterable[tuple[str, StoredTag]],
    keys: Sequence[str],
    tagged_at: str,
) -> int:
    """Upsert changed tags and drop rows of comments no longer present; return rows written.

    Call inside a transaction (`ResultsStore.write()`); it issues no COMMIT itself.
    """
    rows = [
        (dataset, field, key, enricher, version, *(getattr(tag, c) for c in _COLUMNS), tagged_at)
        for key, tag in changed
    ]
    columns = ("dataset", "field", "comment_key", "enricher", "version", *_COLUMNS, "tagged_at")
    updates = ", ".join(f"{c} = excluded.{c}" for c in (*_COLUMNS, "version", "tagged_at"))
    conn.executemany(
        f"INSERT INTO comment_tags ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT (dataset, field, comment_key, enricher) DO UPDATE SET {updates}",
        rows,
    )
    # Comments that left the dataset lose their tags, so the table describes the data
    # as it is now (the text-hash cache still covers a comment that comes back).
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS _cx_current_keys (key TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM _cx_current_keys")
    conn.executemany(
        "INSERT OR IGNORE INTO _cx_current_keys (key) VALUES (?)", ((k,) for k in keys)
    )
    conn.execute(
        "DELETE FROM comment_tags WHERE dataset = ? AND field = ? AND enricher = ? "
        "AND comment_key NOT IN (SELECT key FROM _cx_current_keys)",
        (dataset, field, enricher),
    )
    conn.execute("DELETE FROM _cx_current_keys")
    return len(rows)
