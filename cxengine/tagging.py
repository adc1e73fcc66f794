"""Tagging one comment field with one enricher, set-wise in DuckDB so a rerun is cheap.

The per-comment work a rerun needs (hash the text, find its cached tags, notice
what changed or left) is done as joins in DuckDB, never as a Python loop over rows:
a cached rerun over 100,000 comments costs one SQLite read and a few joins, while a
first run costs what the enricher costs. Only cache misses cross into Python.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxengine.dataset.sql import ident, lit, run
from cxengine.errors import CxError, PluginError
from cxengine.interfaces import Enricher, EnrichRequest
from cxengine.store.comment_tags import (
    EXPOSED_COLUMNS,
    TAG_COLUMNS,
    read_tags,
    tag_values,
    write_snapshot,
    write_tags,
)

if TYPE_CHECKING:
    import duckdb

Progress = Callable[[str, int, int], None]

#: Texts handed to an enricher per call: bounded memory, and progress while it works.
BATCH_SIZE = 5_000
# Python's str.strip() whitespace that SQL trim() does not know: a comment of only
# these is empty, not a comment to tag.
_BLANKS = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"  # noqa: E501


@dataclass(frozen=True)
class Staged:
    """The non-empty comments of a dataset in a DuckDB table: _cx_row, key, text, text_hash."""

    table: str
    count: int
    duplicates: int  # comments whose key repeats an earlier row's (stored as key#2, …)


def stage_comments(
    con: duckdb.DuckDBPyConnection,
    dataset_table: str,
    name: str,
    comment_field: str,
    key_field: str | None,
) -> Staged:
    """Copy the non-empty comments with their keys and SHA-1 text hashes into a table."""
    table = f"_cx_comments_{name}"
    base = (
        f"COALESCE(CAST({ident(key_field)} AS VARCHAR), 'row ' || CAST(_cx_row + 1 AS VARCHAR))"
        if key_field
        else "'row ' || CAST(_cx_row + 1 AS VARCHAR)"
    )
    text = f"CAST({ident(comment_field)} AS VARCHAR)"
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {ident(table)} AS "
        f"SELECT _cx_row, CASE WHEN rn = 1 THEN base ELSE base || '#' || CAST(rn AS VARCHAR) END "
        f"AS comment_key, text, sha1(text) AS text_hash, rn FROM ("
        f"  SELECT _cx_row, {base} AS base, {text} AS text,"
        f"  row_number() OVER (PARTITION BY {base} ORDER BY _cx_row) AS rn"
        f"  FROM {ident(dataset_table)}"
        # The plain trim() first: trimming every Unicode blank is slower, and only
        # needed for short texts (a longer one of only such blanks is an oddity).
        f"  WHERE {text} IS NOT NULL AND trim({text}) <> ''"
        f"  AND (length({text}) > 32 OR trim({text}, {lit(_BLANKS)}) <> '')"
        f")",
    )
    row = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE rn > 1) FROM {ident(table)}"
    ).fetchall()[0]
    count, dup = (int(row[0]), int(row[1])) if row else (0, 0)
    return Staged(table, count, dup)


@dataclass(frozen=True)
class TagOutcome:
    """The tags of one field by one enricher: a DuckDB table keyed by _cx_row, and counts."""

    table: str
    analysed: int  # distinct texts the enricher was called for
    cached: int  # comments whose tags came from the cache
    written: int  # rows upserted into comment_tags


def tag_field(
    con: duckdb.DuckDBPyConnection,
    staged: Staged,
    *,
    dataset: str,
    comment_field: str,
    enricher_name: str,
    enricher: Enricher,
    owner: str,
    version: str,
    options: Mapping[str, Any],
    table: str,
    database: Path | None,
    write: bool,
    progress: Progress | None = None,
) -> TagOutcome:
    """Tag the staged comments (cache first), store what changed, build the tags table."""
    cache = f"{table}_cache"
    columns, snapshot = (
        read_tags(database, dataset, comment_field, enricher_name, version)
        if database
        else ({}, None)
    )
    if snapshot is not None:
        import pyarrow as pa

        con.register(f"{cache}_arrow", pa.ipc.open_stream(snapshot).read_all())
    else:
        keys = {"comment_key": "string", "text_hash": "string"}
        _register(con, f"{cache}_arrow", keys, columns or {}, EXPOSED_COLUMNS)
    # The cache as a table with the parsed list and map; a snapshot holds them already.
    parsed = "*" if snapshot is not None else f"*, {_PARSED}"
    source = ident(f"{cache}_arrow")
    run(con, f"CREATE OR REPLACE TEMP TABLE {ident(cache)} AS SELECT {parsed} FROM {source}")
    con.unregister(f"{cache}_arrow")

    misses = con.execute(
        f"SELECT text_hash, any_value(comment_key), any_value(text) FROM {ident(staged.table)} "
        f"WHERE text_hash NOT IN (SELECT text_hash FROM {ident(cache)}) "
        f"GROUP BY text_hash ORDER BY min(_cx_row)"
    ).fetchall()
    fresh: dict[str, list[Any]] = {"text_hash": []}
    fresh.update({c: [] for c in TAG_COLUMNS})
    for start in range(0, len(misses), BATCH_SIZE):
        batch = misses[start : start + BATCH_SIZE]
        request = EnrichRequest(
            dataset=dataset,
            keys=[m[1] for m in batch],
            texts=[m[2] for m in batch],
            options=options,
        )
        results = call(owner, enricher_name, "enrich", partial(enricher.enrich, request))
        if not isinstance(results, list) or len(results) != len(batch):
            got = len(results) if isinstance(results, list) else type(results).__name__
            raise PluginError(
                owner, f"enricher {enricher_name!r} returned {got} results for {len(batch)} texts"
            )
        for (digest, key, _text), tags in zip(batch, results, strict=True):
            values = tag_values(checked(tags, owner, enricher_name, key))
            fresh["text_hash"].append(digest)
            for column, value in zip(TAG_COLUMNS, values, strict=True):
                fresh[column].append(value)
        if progress:
            progress(f"tagged {dataset}.{comment_field}", start + len(batch), len(misses))
    fresh_table = f"{table}_fresh"
    _register(con, fresh_table, {"text_hash": "string"}, fresh, tuple(TAG_COLUMNS))

    tag_list = ", ".join(ident(c) for c in EXPOSED_COLUMNS)
    all_list = f"{tag_list}, themes_list, theme_map"
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {ident(table)} AS "
        f"SELECT c._cx_row, c.comment_key, c.text_hash, "
        f"{', '.join('h.' + c for c in ('language', 'themes', 'sentiment', 'label'))}, "
        f"h.theme_sentiment, h.themes_list, h.theme_map "
        f"FROM {ident(staged.table)} AS c JOIN ("
        f"  SELECT DISTINCT ON (text_hash) text_hash, {all_list} FROM ("
        f"    SELECT text_hash, {tag_list}, {_PARSED} FROM {ident(fresh_table)} UNION ALL "
        f"    SELECT text_hash, {all_list} FROM {ident(cache)})"
        f") AS h USING (text_hash)",
    )
    written = 0
    if write and database is not None:
        # Changed: a comment whose key is new or whose text changed since it was tagged.
        # Its tags are fresh (written in full) or cached under another key (copied
        # inside SQLite, so the cache read stays narrow).
        is_changed = (
            f"NOT EXISTS (SELECT 1 FROM {ident(cache)} AS k "
            f"WHERE k.comment_key = t.comment_key AND k.text_hash = t.text_hash)"
        )
        full = ", ".join("f." + ident(c) for c in TAG_COLUMNS)
        changed = con.execute(
            f"SELECT t.comment_key, t.text_hash, {full} FROM {ident(table)} AS t "
            f"JOIN {ident(fresh_table)} AS f USING (text_hash) WHERE {is_changed}"
        ).fetchall()
        copies = con.execute(
            f"SELECT t.comment_key, t.text_hash FROM {ident(table)} AS t WHERE {is_changed} "
            f"AND t.text_hash NOT IN (SELECT text_hash FROM {ident(fresh_table)})"
        ).fetchall()
        gone = [
            r[0]
            for r in con.execute(
                f"SELECT comment_key FROM {ident(cache)} "
                f"WHERE comment_key NOT IN (SELECT comment_key FROM {ident(staged.table)})"
            ).fetchall()
        ]
        if changed or copies or gone or snapshot is None:
            from cxengine.store.results import ResultsStore, now_iso

            arrow = _snapshot(con, table)
            with ResultsStore(database) as store, store.write() as conn:
                written = write_tags(
                    conn, dataset=dataset, field=comment_field, enricher=enricher_name,
                    version=version, rows=changed, copies=copies, gone=gone,
                    tagged_at=now_iso(),
                )  # fmt: skip
                write_snapshot(
                    conn, dataset=dataset, field=comment_field, enricher=enricher_name,
                    version=version, arrow=arrow,
                )  # fmt: skip
    row = con.execute(
        f"SELECT count(*) FROM {ident(staged.table)} "
        f"WHERE text_hash IN (SELECT text_hash FROM {ident(cache)})"
    ).fetchall()[0]
    con.unregister(fresh_table)
    return TagOutcome(table, len(misses), int(row[0]) if row else 0, written)


# JSON tags parsed once per comment into the list and map the tag columns look into.
_PARSED = (
    "from_json(themes, '[\"VARCHAR\"]') AS themes_list, "
    "from_json(theme_sentiment, '\"MAP(VARCHAR, DOUBLE)\"') AS theme_map"
)


def _snapshot(con: duckdb.DuckDBPyConnection, table: str) -> bytes:
    """Return the tags table (key, hash, tags, parsed list and map) as an Arrow IPC stream."""
    import pyarrow as pa

    columns = ", ".join(ident(c) for c in ("comment_key", "text_hash", *EXPOSED_COLUMNS))
    arrow = con.sql(
        f"SELECT {columns}, themes_list, theme_map FROM {ident(table)} ORDER BY _cx_row"
    ).to_arrow_table()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, arrow.schema) as writer:
        writer.write_table(arrow)
    return bytes(sink.getvalue().to_pybytes())


def _register(
    con: duckdb.DuckDBPyConnection,
    name: str,
    keys: Mapping[str, str],
    columns: Mapping[str, Sequence[Any]],
    tags: Sequence[str],
) -> None:
    """Register columns (lists of values) as an Arrow view; tag columns get their types."""
    import pyarrow as pa

    types = {"string": pa.string(), "number": pa.float64()}
    schema = {**keys, **{c: TAG_COLUMNS[c] for c in tags}}
    arrays = {c: pa.array(list(columns.get(c, ())), types[kind]) for c, kind in schema.items()}
    con.register(name, pa.table(arrays))


def tag_select(alias: str, prefix: str, themes: Sequence[str]) -> list[str]:
    """Return the SELECT items that expose one enricher's tags as typed columns."""

    def col(name: str) -> str:
        return f"{ident(alias)}.{ident(name)}"

    out = [
        f"{col('language')} AS {ident(prefix + 'language')}",
        f"{col('themes_list')} AS {ident(prefix + 'themes')}",
        f"{col('sentiment')} AS {ident(prefix + 'sentiment')}",
        f"{col('label')} AS {ident(prefix + 'label')}",
    ]
    for theme in themes:
        out.append(
            f"list_contains({col('themes_list')}, {lit(theme)}) "
            f"AS {ident(prefix + 'theme_' + theme)}"
        )
        out.append(
            f"{col('theme_map')}[{lit(theme)}] AS {ident(prefix + 'theme_' + theme + '_sentiment')}"
        )
    return out


def call(owner: str, enricher: str, what: str, action: Callable[[], Any]) -> Any:
    """Run an enricher method; its own errors pass, anything else is blamed on the plugin."""
    try:
        return action()
    except CxError:
        raise  # the enricher's own, located error (a bad taxonomy file: exit 1)
    except Exception as exc:
        raise PluginError(owner, f"enricher {enricher!r} failed in {what}(): {exc}") from exc


def checked(tags: Any, owner: str, enricher: str, key: str) -> dict[str, Any]:
    """Check one result against the standard tag vocabulary; raise naming the comment."""

    def bad(message: str) -> PluginError:
        return PluginError(owner, f"enricher {enricher!r}, comment {key!r}: {message}")

    if not isinstance(tags, dict):
        raise bad(f"expected a dict of tags, got {type(tags).__name__}")
    for name in ("language", "label", "lexicon_version", "taxonomy_version"):
        if tags.get(name) is not None and not isinstance(tags[name], str):
            raise bad(f"{name} must be text, got {tags[name]!r}")
    sentiment = tags.get("sentiment")
    if sentiment is not None and (
        isinstance(sentiment, bool)
        or not isinstance(sentiment, int | float)
        or not math.isfinite(sentiment)
    ):
        raise bad(f"sentiment must be a finite number, got {sentiment!r}")
    themes = tags.get("themes")
    if themes is not None and (
        not isinstance(themes, list | tuple) or not all(isinstance(t, str) for t in themes)
    ):
        raise bad(f"themes must be a list of theme ids, got {themes!r}")
    per_theme = tags.get("theme_sentiment")
    if per_theme is not None and not isinstance(per_theme, dict):
        raise bad(f"theme_sentiment must map theme ids to scores, got {per_theme!r}")
    try:
        json.dumps(tags)
    except (TypeError, ValueError) as exc:
        raise bad(f"tags must be JSON-serialisable: {exc}") from None
    return tags
