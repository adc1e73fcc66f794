"""Named schema migrations of the results database.

Each migration runs once, in the order of this file, inside the same transaction as
the row that records its **name** in `_cxengine_migrations`, so a database is never
left half-migrated. A migration is known by its name, not its position: features
developed side by side may add theirs in any order, and a database that recorded
them in another order still gets exactly the ones it lacks. Add new ones at the end
with a new name; never edit or rename one that has shipped.

Databases made before 0.2 recorded a position (`id`) with each name; their names
are the same, so they upgrade without running anything twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    """Register a migration under its function's name, after those already defined."""
    if any(name == fn.__name__ for name, _ in MIGRATIONS):
        raise ValueError(f"two migrations are named {fn.__name__!r}")
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(conn: sqlite3.Connection) -> None:
    _execute_each(
        conn,
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,             -- content hash of version, config, specs and inputs
            status TEXT NOT NULL,            -- running, ok, failed
            started TEXT NOT NULL,
            finished TEXT,
            cxengine_version TEXT NOT NULL,
            config_path TEXT,
            config_hash TEXT,
            spec_hashes TEXT,                -- JSON: metric -> sha256 of its file
            input_fingerprints TEXT,         -- JSON: dataset -> content hash
            datasets TEXT,                   -- JSON: dataset -> {read, used, rejected, origin}
            value_count INTEGER,
            reject_count INTEGER,
            pid INTEGER,
            host TEXT,
            error TEXT
        );
        CREATE TABLE metrics (
            run_id TEXT NOT NULL REFERENCES runs(id),
            metric TEXT NOT NULL,
            kind TEXT NOT NULL,
            title TEXT,
            dataset TEXT NOT NULL,
            unit TEXT,
            grain TEXT NOT NULL,
            spec_file TEXT,
            spec_hash TEXT,
            spec TEXT NOT NULL,              -- JSON of the validated spec, defaults filled
            PRIMARY KEY (run_id, metric)
        );
        CREATE TABLE metric_values (
            run_id TEXT NOT NULL REFERENCES runs(id),
            metric TEXT NOT NULL,
            period TEXT NOT NULL,            -- start date of the period, '' for all time
            slice TEXT NOT NULL,             -- JSON object field -> value, '{}' for overall
            value REAL,
            n INTEGER NOT NULL,
            ci_low REAL,
            ci_high REAL,
            low_sample INTEGER NOT NULL,
            rows INTEGER NOT NULL,           -- rows that passed the filter
            excluded INTEGER NOT NULL,       -- of those, values excluded (out of scale, …)
            counts TEXT NOT NULL,            -- JSON raw counts the value was computed from
            note TEXT,
            PRIMARY KEY (run_id, metric, period, slice)
        );
        CREATE TABLE rejects (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id),
            dataset TEXT NOT NULL,
            metric TEXT,                     -- NULL: the whole row was unusable
            locator TEXT NOT NULL,           -- file:line, file[index] or key=value
            field TEXT,
            value TEXT,
            reason TEXT NOT NULL
        );
        CREATE INDEX rejects_run ON rejects(run_id, dataset);
        CREATE TABLE run_tags (
            tag TEXT PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id),
            created TEXT NOT NULL
        );
        """,
    )


def _execute_each(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the surrounding transaction; run statements one by one.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply the migrations whose names are not recorded; return them. Safe concurrently."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _cxengine_migrations "
        "(id INTEGER PRIMARY KEY, name TEXT, applied TEXT)"
    )
    conn.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS _cxengine_migrations_name ON _cxengine_migrations(name)"
    )
    applied: list[str] = []
    for name, fn in MIGRATIONS:
        # IMMEDIATE takes the write lock first, so two processes cannot both decide
        # that the same migration is pending.
        conn.execute("BEGIN IMMEDIATE")
        try:
            done = conn.execute(
                "SELECT 1 FROM _cxengine_migrations WHERE name = ?", (name,)
            ).fetchone()
            if not done:
                fn(conn)
                conn.execute(
                    "INSERT INTO _cxengine_migrations (name, applied) VALUES (?, ?)",
                    (name, datetime.now(UTC).isoformat(timespec="seconds")),
                )
                applied.append(name)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return applied


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """Return the names of the migrations a database has, in the order it applied them."""
    rows = conn.execute("SELECT name FROM _cxengine_migrations ORDER BY id").fetchall()
    return [str(r[0]) for r in rows]


@migration
def m_checks(conn: sqlite3.Connection) -> None:
    # The regression gate's verdicts. Self-contained and IF NOT EXISTS, like every
    # feature migration: others may land before or after it.
    _execute_each(
        conn,
        """
        CREATE TABLE IF NOT EXISTS checks (
            run_id TEXT NOT NULL REFERENCES runs(id),
            metric TEXT NOT NULL,
            period TEXT NOT NULL,            -- start of the current period, '' for all periods
            slice TEXT NOT NULL,             -- JSON object field -> value, '{}' for overall
            compared TEXT NOT NULL,          -- 'all periods' or '2025-12 vs 2025-11'
            verdict TEXT NOT NULL,           -- pass, warn, fail, inconclusive
            reason TEXT NOT NULL,            -- one line for people
            baseline TEXT,                   -- baseline file or run the values came from
            baseline_run_id TEXT,
            baseline_period TEXT,
            baseline_value REAL,
            baseline_n INTEGER,
            current_value REAL,
            current_n INTEGER NOT NULL,
            change REAL,                     -- current - baseline, in the metric's units
            p_value REAL,                    -- one-sided: is the current value worse?
            p_adjusted REAL,                 -- after the multiple-testing correction
            method TEXT,                     -- the test used
            correction TEXT,                 -- holm, bh or none
            confidence REAL,
            max_drop REAL,
            direction TEXT,                  -- higher_is_better or lower_is_better
            target_verdict TEXT,
            regression_verdict TEXT,
            PRIMARY KEY (run_id, metric, period, slice, compared)
        )
        """,
    )


@migration
def m_comment_tags(conn: sqlite3.Connection) -> None:
    # Self-contained and IF NOT EXISTS: migrations added by other features may land
    # before or after this one, so its number can differ between databases.
    _execute_each(
        conn,
        """
        CREATE TABLE IF NOT EXISTS comment_tags (
            dataset TEXT NOT NULL,
            field TEXT NOT NULL,             -- the comment field of the dataset
            comment_key TEXT NOT NULL,       -- value of the comments key field, or 'row N'
            enricher TEXT NOT NULL,          -- enricher name, e.g. nlp
            version TEXT NOT NULL,           -- enricher version: code, lexicon and taxonomy
            text_hash TEXT NOT NULL,         -- SHA-1 of the comment text: the cache key
            language TEXT,
            themes TEXT,                     -- JSON list of theme ids
            sentiment REAL,                  -- -1 (negative) … 1 (positive)
            label TEXT,                      -- negative, neutral or positive
            theme_sentiment TEXT,            -- JSON object theme id -> score
            lexicon_version TEXT,
            taxonomy_version TEXT,
            extra TEXT,                      -- JSON object of any other tags
            tagged_at TEXT NOT NULL,
            PRIMARY KEY (dataset, field, comment_key, enricher)
        );
        CREATE INDEX IF NOT EXISTS comment_tags_cache ON comment_tags(enricher, version, text_hash)
        """,
    )


@migration
def m_comment_tag_snapshots(conn: sqlite3.Connection) -> None:
    # A cache of the cache: the tags of one dataset field and enricher as an Arrow
    # stream, so a rerun reads one value instead of one row per comment.
    _execute_each(
        conn,
        """
        CREATE TABLE IF NOT EXISTS comment_tag_snapshots (
            dataset TEXT NOT NULL,
            field TEXT NOT NULL,
            enricher TEXT NOT NULL,
            version TEXT NOT NULL,
            rows INTEGER NOT NULL,           -- comment_tags rows it mirrors
            latest TEXT,                     -- their latest tagged_at when it was written
            arrow BLOB NOT NULL,             -- Arrow IPC stream: key, hash and tag columns
            PRIMARY KEY (dataset, field, enricher)
        );
        CREATE INDEX IF NOT EXISTS comment_tags_scope
            ON comment_tags(dataset, field, enricher, version, tagged_at)
        """,
    )


@migration
def m_value_rows(conn: sqlite3.Connection) -> None:
    # The flat view of metric_values (one column per slice field). Its columns depend
    # on the stored slices, so storing a run rebuilds it too (store/value_rows.py).
    from cxengine.store.value_rows import refresh

    refresh(conn)


@migration
def m_run_reuse(conn: sqlite3.Connection) -> None:
    # The rerun cache (cxengine/run_cache.py): which stored run a set of unchanged
    # inputs gave, and the content hashes of input files by size and times.
    _execute_each(
        conn,
        """
        CREATE TABLE IF NOT EXISTS reusable_runs (
            key TEXT PRIMARY KEY,            -- hash of everything a run's values depend on
            run_id TEXT NOT NULL REFERENCES runs(id),
            recorded TEXT NOT NULL,
            extra TEXT NOT NULL              -- JSON: what printing the run needs beyond its rows
        );
        CREATE INDEX IF NOT EXISTS reusable_runs_run ON reusable_runs(run_id);
        CREATE TABLE IF NOT EXISTS input_files (
            path TEXT PRIMARY KEY,           -- resolved path of a dataset's input file
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,       -- -1: changed too recently to trust its times
            ctime_ns INTEGER NOT NULL,
            inode INTEGER NOT NULL,
            device INTEGER NOT NULL,
            hash TEXT NOT NULL,              -- blake2b of the content it had with these
            hashed TEXT NOT NULL
        )
        """,
    )


@migration
def m_replays(conn: sqlite3.Connection) -> None:
    # The rerun cache's fast path (cxengine/replay.py): what a reused run printed, and
    # what that depends on, so the same command prints it again without loading anything.
    _execute_each(
        conn,
        """
        CREATE TABLE IF NOT EXISTS replays (
            key TEXT PRIMARY KEY,            -- hash of the command, folder, environment, day
            run_id TEXT NOT NULL REFERENCES runs(id),
            run_key TEXT NOT NULL,           -- reusable_runs.key it replays
            recorded TEXT NOT NULL,
            watch TEXT NOT NULL,             -- JSON: paths and the stats/hashes they had
            stdout TEXT NOT NULL,
            stderr TEXT NOT NULL,
            checks TEXT NOT NULL             -- JSON: the check rows to store again
        )
        """,
    )


#: The view that keeps the shape of the `comment_tags` table (m_comment_tags) over
#: the tag sets and per-comment references: same columns, same order, same meaning.
COMMENT_TAGS_VIEW = """
CREATE VIEW IF NOT EXISTS comment_tags AS
SELECT r.dataset, r.field, r.comment_key, r.enricher, s.version, s.text_hash,
       s.language, s.themes, s.sentiment, s.label, s.theme_sentiment,
       s.lexicon_version, s.taxonomy_version, s.extra, r.tagged_at
FROM comment_tag_rows AS r JOIN comment_tag_sets AS s ON s.id = r.set_id
"""
#: Deleting a comment's tags by hand (documented before the view) still works.
COMMENT_TAGS_DELETE = """
CREATE TRIGGER IF NOT EXISTS comment_tags_delete INSTEAD OF DELETE ON comment_tags
BEGIN
    DELETE FROM comment_tag_rows WHERE dataset = OLD.dataset AND field = OLD.field
        AND enricher = OLD.enricher AND comment_key = OLD.comment_key;
END
"""


@migration
def m_comment_tag_sets(conn: sqlite3.Connection) -> None:
    # Each distinct tag result once, per comment a reference (issue 12 item 5): one
    # full row per comment made writing 642k comments' tags ≥ 5 s of CPU. An existing
    # `comment_tags` table is moved into the two tables and replaced by a view of the
    # same shape; like every migration this runs in one transaction with its record,
    # so a killed upgrade leaves the old table as it was and a rerun does nothing.
    _execute_each(
        conn,
        """
        CREATE TABLE IF NOT EXISTS comment_tag_sets (
            id INTEGER PRIMARY KEY,
            dataset TEXT NOT NULL,
            field TEXT NOT NULL,
            enricher TEXT NOT NULL,
            version TEXT NOT NULL,           -- enricher version: code, lexicon and taxonomy
            text_hash TEXT NOT NULL,         -- SHA-1 of the analysed text: the cache key
            language TEXT,
            themes TEXT,                     -- JSON list of theme ids
            sentiment REAL,
            label TEXT,
            theme_sentiment TEXT,            -- JSON object theme id -> score
            lexicon_version TEXT,
            taxonomy_version TEXT,
            extra TEXT                       -- JSON object of any other tags
        );
        CREATE UNIQUE INDEX IF NOT EXISTS comment_tag_sets_text
            ON comment_tag_sets(dataset, field, enricher, version, text_hash);
        CREATE TABLE IF NOT EXISTS comment_tag_rows (
            dataset TEXT NOT NULL,
            field TEXT NOT NULL,
            enricher TEXT NOT NULL,
            comment_key TEXT NOT NULL,
            set_id INTEGER NOT NULL,         -- comment_tag_sets.id
            tagged_at TEXT NOT NULL,
            PRIMARY KEY (dataset, field, enricher, comment_key)
        ) WITHOUT ROWID
        """,
    )
    kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'comment_tags'").fetchone()
    if kind is not None and kind[0] == "table":
        tags = "language, themes, sentiment, label, theme_sentiment, lexicon_version, "
        tags += "taxonomy_version, extra"
        # One set per text and version: the tags of its earliest row, those the cache
        # copied to every later comment of the same text (so they are the same unless
        # an enricher gave one text two answers under one version).
        conn.execute(
            "INSERT INTO comment_tag_sets (dataset, field, enricher, version, text_hash, "
            f"{tags}) SELECT t.dataset, t.field, t.enricher, t.version, t.text_hash, "
            f"{', '.join('t.' + c for c in tags.split(', '))} FROM comment_tags AS t "
            "JOIN (SELECT min(rowid) AS first FROM comment_tags "
            "GROUP BY dataset, field, enricher, version, text_hash) AS f "
            "ON t.rowid = f.first ORDER BY t.rowid"
        )
        conn.execute(
            "INSERT INTO comment_tag_rows (dataset, field, enricher, comment_key, set_id, "
            "tagged_at) SELECT t.dataset, t.field, t.enricher, t.comment_key, s.id, "
            "t.tagged_at FROM comment_tags AS t JOIN comment_tag_sets AS s "
            "ON s.dataset = t.dataset AND s.field = t.field AND s.enricher = t.enricher "
            "AND s.version = t.version AND s.text_hash = t.text_hash"
        )
        # Its indexes (comment_tags_cache, comment_tags_scope) go with it.
        conn.execute("DROP TABLE comment_tags")
    conn.execute(COMMENT_TAGS_VIEW)
    conn.execute(COMMENT_TAGS_DELETE)
