"""Tagging one comment field with one enricher, set-wise in DuckDB so a rerun is cheap.

The per-comment work a rerun needs (hash the text, find its cached tags, notice
what changed or left) is done as joins in DuckDB, never as a Python loop over rows:
a cached rerun over 100,000 comments costs one SQLite read and a few joins, while a
first run costs what the enricher costs. Only cache misses cross into Python.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    StoredTags,
    read_tags,
    stamp_snapshot,
    tag_values,
    write_snapshot,
    write_tags,
)

if TYPE_CHECKING:
    import duckdb

Progress = Callable[[str, int, int], None]

#: Texts handed to an enricher per call: bounded memory, and progress while it works.
BATCH_SIZE = 5_000
#: Rows per batch when tags stream from DuckDB into SQLite or the snapshot.
WRITE_BATCH = 50_000
#: Rows per batch of fresh tags into SQLite: each batch is Python lists and tuples of
#: 13 values a row, so at 600k distinct texts 50,000 a batch held ~+40 MiB.
FRESH_BATCH = 10_000
#: SQLite page cache (KiB) of the connection that writes tags: see tag_field.
WRITE_CACHE_KIB = 16_384
# Python's str.strip() whitespace that SQL trim() does not know: a comment of only
# these is empty, not a comment to tag.
_BLANKS = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"  # noqa: E501


@dataclass(frozen=True)
class Staged:
    """The non-empty comments of a dataset in a DuckDB table: _cx_row, key, text_hash.

    The texts stay in the dataset table (`source`, column `text_sql`): only cache
    misses need them, and copying 100,000 texts cost more than the rest of a rerun.
    """

    table: str
    source: str
    text_sql: str
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
        f"AS comment_key, sha1(text) AS text_hash, rn FROM ("
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
    return Staged(table, dataset_table, text, count, dup)


@dataclass(frozen=True)
class TagOutcome:
    """The tags of one field by one enricher, and counts.

    `table` is a view of every comment's tags keyed by _cx_row; `texts` the same tags
    once per text (text_hash, the exposed tags, themes_list, theme_scores) and
    `comments` which comment has which text (_cx_row, text_hash): what `text_tags`
    builds the enriched dataset from without handling a row of tags per comment.
    """

    table: str
    texts: str
    comments: str
    analysed: int  # distinct texts the enricher was called for
    cached: int  # comments whose tags came from the cache
    written: int  # rows upserted into comment_tags
    #: Call after the tags table was read: it may be a view over registered Arrow data.
    cleanup: Callable[[], None]


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
    themes: Sequence[str] = (),
    progress: Progress | None = None,
) -> TagOutcome:
    """Tag the staged comments (cache first), store what changed, build the tags table."""
    parsed = _parsed(themes)
    # The cache, as stored: the tags once per text (`cache_sets`, parsed here once per
    # text, not per comment) and which comment had which text (`cache_keys`); `cache`
    # joins them, the comments whose stored tags are current.
    cache, cache_keys, cache_sets = f"{table}_cache", f"{table}_cache_keys", f"{table}_cache_sets"
    stored = StoredTags({}, {}, None)
    if database is not None:
        stored = read_tags(database, dataset, comment_field, enricher_name, version)
    keys_arrow = _load_snapshot(stored.snapshot) if stored.snapshot is not None else None
    if stored.snapshot is not None and keys_arrow is None and database is not None:
        # Written by other code (an older cxengine's snapshot of every tag): use the rows.
        stored = read_tags(
            database, dataset, comment_field, enricher_name, version, use_snapshot=False
        )
    snapshot_used = keys_arrow is not None
    if keys_arrow is not None:
        con.register(cache_keys, keys_arrow)
        del keys_arrow  # DuckDB holds it while registered; dropped as soon as unused
    else:
        keys = {"comment_key": "string", "text_hash": "string"}
        _register(con, cache_keys, keys, stored.keys or {}, ())
    _register(con, f"{cache_sets}_arrow", {"text_hash": "string"}, stored.sets, EXPOSED_COLUMNS)
    del stored
    # DISTINCT ON: a database not yet migrated to tag sets gives one row per comment.
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {ident(cache_sets)} AS SELECT DISTINCT ON (text_hash) "
        f"*, {parsed} FROM {ident(cache_sets + '_arrow')}",
    )
    con.unregister(f"{cache_sets}_arrow")
    run(
        con,
        f"CREATE OR REPLACE TEMP VIEW {ident(cache)} AS SELECT k.comment_key, k.text_hash "
        f"FROM {ident(cache_keys)} AS k SEMI JOIN {ident(cache_sets)} AS s USING (text_hash)",
    )

    # The texts to analyse, first occurrence first, as (order, row, hash, key) only:
    # grouping and sorting the texts themselves held every distinct text in DuckDB's
    # sort for the whole analysis (+0.4 GiB at 600k distinct texts). The texts are
    # read per batch from the dataset, by row.
    misses = f"{table}_misses"
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {ident(misses)} AS "
        f"SELECT row_number() OVER (ORDER BY first) AS ord, first AS _cx_row, text_hash, "
        f"comment_key FROM (SELECT s.text_hash, min(s._cx_row) AS first, "
        f"arg_min(s.comment_key, s._cx_row) AS comment_key FROM {ident(staged.table)} AS s "
        f"WHERE s.text_hash NOT IN (SELECT text_hash FROM {ident(cache_sets)}) "
        f"GROUP BY s.text_hash)",
    )
    miss_count = con.execute(f"SELECT count(*) FROM {ident(misses)}").fetchall()[0][0]

    def miss_batches() -> Iterator[Any]:
        for first in range(1, miss_count + 1, BATCH_SIZE):
            yield con.sql(
                f"SELECT m.text_hash, m.comment_key, {staged.text_sql} "
                f"FROM {ident(misses)} AS m JOIN {ident(staged.source)} USING (_cx_row) "
                f"WHERE m.ord BETWEEN $1 AND $2 ORDER BY m.ord",
                params=[first, first + BATCH_SIZE - 1],
            ).to_arrow_table()

    fresh_batches: list[Any] = []
    done = 0
    for chunk in miss_batches():
        digests, keys, texts = (c.to_pylist() for c in chunk.columns)
        request = EnrichRequest(dataset=dataset, keys=keys, texts=texts, options=options)
        del texts
        results = call(owner, enricher_name, "enrich", partial(enricher.enrich, request))
        if not isinstance(results, list) or len(results) != len(keys):
            got = len(results) if isinstance(results, list) else type(results).__name__
            raise PluginError(
                owner, f"enricher {enricher_name!r} returned {got} results for {len(keys)} texts"
            )
        fresh: dict[str, list[Any]] = {"text_hash": digests}
        fresh.update({c: [] for c in TAG_COLUMNS})
        for key, tags in zip(keys, results, strict=True):
            values = tag_values(checked(tags, owner, enricher_name, key))
            for column, value in zip(TAG_COLUMNS, values, strict=True):
                fresh[column].append(value)
        fresh_batches.append(_arrow(fresh, {"text_hash": "string"}, tuple(TAG_COLUMNS)))
        done += len(keys)
        if progress:
            progress(f"tagged {dataset}.{comment_field}", done, miss_count)
    fresh_table = f"{table}_fresh"
    _register_batches(con, fresh_table, fresh_batches, {"text_hash": "string"}, tuple(TAG_COLUMNS))
    del fresh_batches
    run(con, f"DROP TABLE {ident(misses)}")

    tag_list = ", ".join(ident(c) for c in EXPOSED_COLUMNS)
    all_list = f"{tag_list}, themes_list, theme_scores"
    h_list = ", ".join(f"h.{c}" for c in (*EXPOSED_COLUMNS, "themes_list", "theme_scores"))
    staged_t, cache_t = ident(staged.table), ident(cache)
    # Most comments of a rerun are cached under their own key: a 1:1 join. Only the
    # rest (new keys, edited texts: exactly the comments whose stored row changes) look
    # their text up among fresh and cached tags.
    rest = ident(f"{table}_rest")
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {rest} AS "
        f"SELECT _cx_row, comment_key, text_hash FROM {staged_t} AS s WHERE NOT EXISTS ("
        f"  SELECT 1 FROM {cache_t} AS k "
        f"  WHERE k.comment_key = s.comment_key AND k.text_hash = s.text_hash) "
        # Stored in key order, the order of comment_tag_rows' primary key, so the write
        # below streams it as stored (insertion order is kept) and SQLite appends to
        # its B-tree instead of inserting at random places (643k comments: -0.3 s).
        f"ORDER BY comment_key",
    )
    # Every comment's text is either a stored set or a miss analysed now: one join on
    # the text, whether its row changes or not.
    texts = ident(f"{table}_texts")
    run(
        con,
        f"CREATE OR REPLACE TEMP VIEW {texts} AS "
        f"SELECT text_hash, {tag_list}, {parsed} FROM {ident(fresh_table)} UNION ALL "
        f"SELECT text_hash, {all_list} FROM {ident(cache_sets)}",
    )
    tags_sql = (
        f"SELECT c._cx_row, c.comment_key, c.text_hash, {h_list} "
        f"FROM {staged_t} AS c JOIN {texts} AS h USING (text_hash)"
    )
    changed_count = con.execute(f"SELECT count(*) FROM {rest}").fetchall()[0][0]
    gone = [
        r[0]
        for r in con.execute(
            f"SELECT comment_key FROM {ident(cache_keys)} "
            f"WHERE comment_key NOT IN (SELECT comment_key FROM {staged_t})"
        ).fetchall()
    ]
    # Which comments changed and which left is known: the stored keys are not needed.
    run(con, f"DROP VIEW {cache_t}")
    con.unregister(cache_keys)
    written = 0
    # A view, also when tags are written: the snapshot and the enriched table each
    # compute it, and no whole tags table is held beside them (643k comments: peak
    # -170 MiB, same CPU, measured interleaved).
    run(con, f"CREATE OR REPLACE TEMP VIEW {ident(table)} AS {tags_sql}")
    if write and database is not None and (changed_count or gone or not snapshot_used):
        # Only the texts analysed now cross into SQLite with their tags; the comments
        # that change are streamed as (key, hash) pairs and get their tags there.
        fresh_list = ", ".join("f." + ident(c) for c in TAG_COLUMNS)
        analysed_now = _rows(
            con.sql(
                f"SELECT f.text_hash, {fresh_list} FROM {ident(fresh_table)} AS f "
                f"WHERE f.text_hash IN (SELECT text_hash FROM {rest})"
            ),
            FRESH_BATCH,
        )
        from cxengine.store.results import ResultsStore, now_iso

        with ResultsStore(database) as store:
            # A page cache that holds the tail of the rows' B-tree and the tag sets'
            # index: with SQLite's default 2 MB, inserting 643k rows spent half its
            # time re-reading index pages (this connection only; closed below).
            store.conn.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
            with store.write() as conn:
                # The snapshot first: once SQLite holds it, its buffer is freed before
                # the rows are written; it is stamped with the rows it mirrors at the end.
                write_snapshot(
                    conn, dataset=dataset, field=comment_field, enricher=enricher_name,
                    version=version, arrow=_snapshot(con, staged.table),
                )  # fmt: skip
                # Streamed in the table's (key) order, not materialised as a result.
                pairs = con.sql(f"SELECT comment_key, text_hash FROM {rest}")
                written = write_tags(
                    conn, dataset=dataset, field=comment_field, enricher=enricher_name,
                    version=version, fresh=analysed_now, keys=_batches(pairs), gone=gone,
                    tagged_at=now_iso(),
                )  # fmt: skip
                stamp_snapshot(
                    conn, dataset=dataset, field=comment_field, enricher=enricher_name,
                    version=version,
                )  # fmt: skip
    # The changed comments (600k at 600k distinct texts) are written: not kept while
    # the enriched dataset is built.
    run(con, f"DROP TABLE {rest}")
    fresh_rows = con.execute(
        f"SELECT count(*) FROM {staged_t} "
        f"WHERE text_hash IN (SELECT text_hash FROM {ident(fresh_table)})"
    ).fetchall()[0][0]
    cached_rows = staged.count - int(fresh_rows)

    def cleanup() -> None:
        """Drop the helper views and Arrow data once the tags were read."""
        run(con, f"DROP VIEW {ident(table)}")
        run(con, f"DROP VIEW {texts}")
        run(con, f"DROP TABLE {ident(cache_sets)}")
        con.unregister(fresh_table)

    return TagOutcome(table, f"{table}_texts", staged.table, done, cached_rows, written, cleanup)


def text_tags(con: duckdb.DuckDBPyConnection, outcome: TagOutcome, table: str) -> str:
    """Number the tags of each text into `table`; return a SELECT of each comment's number.

    Creates `table` (``_cx_tag`` plus the exposed tags, one row per text, however many
    comments share it) and returns a SELECT of (_cx_row, _cx_tag), one row per
    comment. Held per comment, the tags themselves (a list and a struct of per-theme
    scores) cost ~150 bytes a row; the reference costs 4. A text has one tag set per
    enricher version (comment_tag_sets), so comments match on the text's hash alone:
    finding the distinct values of a row of tags per comment, and joining on all
    five, cost 0.6 s and the peak of a run of 600k distinct texts.
    """
    items = ", ".join(ident(c) for c in ("text_hash", *TAG_VALUES))
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {ident(table)} AS "
        f"SELECT CAST(row_number() OVER () AS INTEGER) AS _cx_tag, {items} "
        f"FROM {ident(outcome.texts)}",
    )
    return (
        f"SELECT c._cx_row, s._cx_tag FROM {ident(outcome.comments)} AS c "
        f"JOIN {ident(table)} AS s USING (text_hash)"
    )


#: The tag values the enriched dataset exposes (tag_select reads them).
TAG_VALUES = ("language", "sentiment", "label", "themes_list", "theme_scores")


# JSON tags parsed once per comment into the list and map the tag columns look into.
def _parsed(themes: Sequence[str]) -> str:
    """Return the SELECT items parsing the JSON tags into a list and a struct of scores.

    A struct with one field per theme of the taxonomy, not a map: reading a struct
    field is free, a map look-up per theme and comment was a third of a rerun.
    """
    if themes:
        shape = json.dumps({t: "DOUBLE" for t in themes})
        scores = f"from_json(theme_sentiment, {lit(shape)})"
    else:
        scores = "CAST(NULL AS VARCHAR)"
    return f"from_json(themes, '[\"VARCHAR\"]') AS themes_list, {scores} AS theme_scores"


def _load_snapshot(snapshot: bytes) -> Any:
    """Return the snapshot as an Arrow table, or None when its columns are not ours."""
    import pyarrow as pa

    try:
        arrow = pa.ipc.open_stream(snapshot).read_all()
    except (pa.ArrowInvalid, OSError):
        return None
    if arrow.column_names != ["comment_key", "text_hash"]:
        return None
    return arrow


def _snapshot(con: duckdb.DuckDBPyConnection, staged: str) -> memoryview:
    """Return which comment has which text (key, hash) as an Arrow IPC stream.

    The tags are not in it: they are read once per text from comment_tag_sets (an
    older snapshot of every comment's tags cost 1.1 s of a first run at 643k
    comments). Written batch by batch from DuckDB's record batch reader (the whole
    table is never held as Arrow besides the stream), and handed over as a view of
    the stream's buffer: no copy into Python bytes. Compressed: 818 distinct hashes
    repeat over 643k comments. Rows in the table's order: readers join on
    (comment_key, text_hash), not on position.
    """
    import pyarrow as pa

    reader = con.sql(f"SELECT comment_key, text_hash FROM {ident(staged)}").to_arrow_reader(
        WRITE_BATCH
    )
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, reader.schema, options=options) as writer:
        for batch in reader:
            writer.write_batch(batch)
    return memoryview(sink.getvalue())


def _batches(
    relation: duckdb.DuckDBPyRelation, size: int = WRITE_BATCH
) -> Iterator[list[tuple[Any, ...]]]:
    """Yield a query's rows as lists of tuples, streamed from DuckDB batch by batch."""
    for chunk in relation.to_arrow_reader(size):
        yield list(zip(*(c.to_pylist() for c in chunk.columns), strict=True))


def _rows(relation: duckdb.DuckDBPyRelation, size: int = WRITE_BATCH) -> Iterator[tuple[Any, ...]]:
    """Yield a query's rows as tuples, streamed from DuckDB batch by batch."""
    for batch in _batches(relation, size):
        yield from batch


def _arrow(
    columns: Mapping[str, Sequence[Any]], keys: Mapping[str, str], tags: Sequence[str]
) -> Any:
    """Return columns (lists of values) as an Arrow table; tag columns get their types."""
    import pyarrow as pa

    types = {"string": pa.string(), "number": pa.float64()}
    schema = {**keys, **{c: TAG_COLUMNS[c] for c in tags}}
    return pa.table(
        {c: pa.array(list(columns.get(c, ())), types[kind]) for c, kind in schema.items()}
    )


def _register(
    con: duckdb.DuckDBPyConnection,
    name: str,
    keys: Mapping[str, str],
    columns: Mapping[str, Sequence[Any]],
    tags: Sequence[str],
) -> None:
    """Register columns (lists of values) as an Arrow view; tag columns get their types."""
    con.register(name, _arrow(columns, keys, tags))


def _register_batches(
    con: duckdb.DuckDBPyConnection,
    name: str,
    batches: Sequence[Any],
    keys: Mapping[str, str],
    tags: Sequence[str],
) -> None:
    """Register Arrow tables of the same columns as one Arrow view (none: an empty one)."""
    import pyarrow as pa

    if not batches:
        _register(con, name, keys, {}, tags)
        return
    con.register(name, pa.concat_tables(batches))


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
            f"struct_extract({col('theme_scores')}, {lit(theme)}) "
            f"AS {ident(prefix + 'theme_' + theme + '_sentiment')}"
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
