"""The results database: runs, metric values with n and intervals, rejects.

Writes are transactional and idempotent. A run's id is a content hash of what it
computed from, so rerunning over the same inputs replaces that run instead of adding
a copy. Its values and rejects are written in one IMMEDIATE transaction at the end:
a run killed midway leaves only its 'running' marker, which later shows as failed.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from datetime import time as time_of_day
from decimal import Decimal
from pathlib import Path
from typing import Any

from cxengine.errors import ConfigError, CxError, ExitCode
from cxengine.store.migrations import MIGRATIONS, apply_migrations
from cxengine.store.value_rows import refresh as refresh_value_rows

BUSY_TIMEOUT_S = 60.0
WRITE_RETRIES = 8


def now_iso() -> str:
    """Return the current UTC time as ISO 8601 text, to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class StoreError(CxError):
    """The results database cannot be used (not a database, damaged, read-only, full, newer).

    Exit 1, like an input file that cannot be read: the user's files need attention,
    cxengine itself is fine.
    """

    exit_code = ExitCode.CHECK_FAILED


def explain(path: Path, exc: sqlite3.Error, doing: str) -> StoreError:
    """Turn an SQLite error into a message that names the file and what to do."""
    text = str(exc)
    low = text.lower()
    if "not a database" in low:
        why = "is not an SQLite database (another file has this name); move it or set `database:`"
    elif "malformed" in low or "corrupt" in low:
        why = "is damaged (truncated or overwritten); restore it from a backup or move it away"
    elif "readonly" in low or "read-only" in low:
        why = (
            "cannot be written (read-only file or folder); make it writable or run with --no-store"
        )
    elif "unable to open" in low:
        why = "cannot be opened (the folder is missing or not writable)"
    elif "disk is full" in low or "full" in low:
        why = "cannot be written: the disk is full"
    elif "disk i/o" in low:
        why = "cannot be written: a disk I/O error (full disk, lost mount?)"
    else:
        why = "cannot be used"
    return StoreError(f"results database {path} {why} ({doing}: {text})")


class ResultsStore:
    """A results database file, migrated and ready.

    `readonly=True` opens it for reading only: no migration, no WAL switch, no reaping,
    so commands that only read (compare, baseline save) work on a read-only copy.
    """

    def __init__(self, path: Path | str, *, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        if self.path.is_dir():
            raise ConfigError(f"results database {self.path} is a folder, not a file")
        try:
            self.conn = self._connect()
        except OSError as exc:
            raise StoreError(
                f"results database {self.path} cannot be created: {exc.strerror or exc}"
            ) from None
        except sqlite3.Error as exc:
            raise explain(self.path, exc, "opening it") from None
        try:
            self._prepare()
        except sqlite3.OperationalError as exc:
            self.conn.close()
            if not (readonly and "readonly" in str(exc)):
                raise explain(self.path, exc, "opening it") from None
            # A WAL database in a folder we cannot write: SQLite cannot create the
            # shared-memory file it reads through, so read the file as it stands.
            try:
                self.conn = self._connect(immutable=True)
                self._prepare()
            except sqlite3.Error as again:
                self.conn.close()
                raise explain(self.path, again, "opening it") from None
        except BaseException as exc:
            self.conn.close()
            if isinstance(exc, sqlite3.Error):
                raise explain(self.path, exc, "opening it") from None
            raise

    def _connect(self, immutable: bool = False) -> sqlite3.Connection:
        if self.readonly:
            from urllib.parse import quote

            mode = "immutable=1" if immutable else "mode=ro"
            uri = f"file:{quote(str(self.path.resolve()))}?{mode}"
            return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), never implicit.
        return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)

    def _prepare(self) -> None:
        self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        # Read the schema first: also the first read of the file, so a text file or a
        # damaged one is recognised here rather than halfway through a write.
        refuse_newer_schema(self.conn, self.path)
        if self.readonly:
            return
        self._retry(lambda: self.conn.execute("PRAGMA journal_mode = WAL"))
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self._retry(lambda: apply_migrations(self.conn))
        self.reap_interrupted_runs()

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one IMMEDIATE transaction: all of it is written, or none."""
        if self.readonly:
            raise StoreError(f"results database {self.path} was opened read-only")
        try:
            self._retry(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        except sqlite3.Error as exc:
            raise explain(self.path, exc, "starting a write") from None
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            # SQLite rolls back by itself on some errors (a full disk, I/O): then a
            # ROLLBACK of ours would fail and hide the real error behind "no transaction".
            if self.conn.in_transaction:
                with suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error) and _environmental(exc):
                raise explain(self.path, exc, "writing") from exc
            raise

    def _retry(self, action: Any) -> Any:
        # busy_timeout covers most contention; a few retries cover the cases SQLite
        # reports as "locked" at once (WAL checkpoints, journal mode changes).
        for attempt in range(WRITE_RETRIES):
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if (
                    "locked" not in str(exc) and "busy" not in str(exc)
                ) or attempt == WRITE_RETRIES - 1:
                    raise
                time.sleep(0.05 * (2**attempt))
        return None

    # ---------------------------------------------------------------------- runs

    def begin_attempt(self, meta: Mapping[str, Any]) -> str:
        """Record a run as running before its id is known; return the attempt's own id.

        The attempt row is what shows a run that failed or was killed before it could
        be saved; `finish_run(..., attempt=id)` replaces it by the finished run.
        """
        attempt_id = uuid.uuid4().hex[:16]
        fields = {
            "status": "running",
            "started": now_iso(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            **meta,
        }
        with self.write() as conn:
            cols = ", ".join(fields)
            marks = ", ".join("?" for _ in fields)
            conn.execute(
                f"INSERT INTO runs (id, {cols}) VALUES (?, {marks})", (attempt_id, *fields.values())
            )
        return attempt_id

    def finish_run(
        self,
        run_id: str,
        *,
        metrics: Iterable[Mapping[str, Any]],
        values: Iterable[Mapping[str, Any]],
        rejects: Iterable[Mapping[str, Any]],
        meta: Mapping[str, Any],
        checks: Iterable[Mapping[str, Any]] = (),
        attempt: str | None = None,
        also: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        """Replace the run's results and check verdicts with these, mark it ok, atomically.

        With `attempt`, that running row is replaced by the run's own in the same
        transaction (its start time carried over), so the database never shows both.
        `also` writes more in that transaction (the rerun cache's pairing).
        """
        metrics, values, rejects = list(metrics), list(values), list(rejects)
        checks = list(checks)
        with self.write() as conn:
            started = now_iso()
            if attempt is not None and attempt != run_id:
                row = conn.execute("SELECT started FROM runs WHERE id = ?", (attempt,)).fetchone()
                started = row[0] if row else started
                conn.execute("DELETE FROM runs WHERE id = ?", (attempt,))
            conn.execute(
                "INSERT INTO runs (id, status, started, cxengine_version, pid, host) "
                "VALUES (?, 'running', ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "started = excluded.started, pid = excluded.pid, host = excluded.host",
                (
                    run_id,
                    started,
                    meta.get("cxengine_version", ""),
                    os.getpid(),
                    socket.gethostname(),
                ),
            )
            for table in ("metric_values", "rejects", "metrics", "checks"):
                conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            for table, rows in (
                ("metrics", metrics),
                ("metric_values", values),
                ("rejects", rejects),
                ("checks", checks),
            ):
                _insert_rows(conn, table, run_id, rows)
            fields = {
                **meta,
                "status": "ok",
                "finished": now_iso(),
                "error": meta.get("error"),
                "value_count": len(values),
                "reject_count": len(rejects),
            }
            sets = ", ".join(f"{k} = ?" for k in fields)
            conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*fields.values(), run_id))
            # The flat view gets a column for any slice field this run adds.
            refresh_value_rows(conn, {k for v in values for k in _slice_keys(v.get("slice"))})
            if also is not None:
                also(conn)

    def mark_reused(
        self, conn: sqlite3.Connection, run_id: str, checks: Iterable[Mapping[str, Any]]
    ) -> None:
        """Record that a stored run was reused now: its times, and the gate's new verdicts.

        Inside the caller's `write()` transaction. The run becomes the latest (`last`),
        as it would had it been recomputed, and its check rows are the ones just printed.
        """
        now = now_iso()
        conn.execute(
            "UPDATE runs SET started = ?, finished = ?, pid = ?, host = ? WHERE id = ?",
            (now, now, os.getpid(), socket.gethostname(), run_id),
        )
        conn.execute("DELETE FROM checks WHERE run_id = ?", (run_id,))
        _insert_rows(conn, "checks", run_id, list(checks))

    def fail_run(self, run_id: str, error: str, *, status: str = "failed") -> None:
        """Mark a run failed (or `interrupted`) with its error; earlier results are kept."""
        with self.write() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, finished = ?, error = ? "
                "WHERE id = ? AND status = 'running'",
                (status, now_iso(), error[:2000], run_id),
            )

    def reap_interrupted_runs(self) -> int:
        """Mark as failed the 'running' runs of this host whose process is gone."""
        host = socket.gethostname()
        rows = self.conn.execute(
            "SELECT id, pid FROM runs WHERE status = 'running' AND host = ?", (host,)
        ).fetchall()
        dead = [run_id for run_id, pid in rows if not _pid_alive(pid)]
        if dead:
            with self.write() as conn:
                conn.executemany(
                    "UPDATE runs SET status = 'failed', "
                    "error = 'interrupted: the process ended before the run finished' "
                    "WHERE id = ? AND status = 'running'",
                    [(d,) for d in dead],
                )
        return len(dead)

    def tag_run(self, tag: str, run_id: str) -> None:
        """Point a tag at a run (moving it if it pointed elsewhere)."""
        with self.write() as conn:
            conn.execute(
                "INSERT INTO run_tags (tag, run_id, created) VALUES (?, ?, ?) "
                "ON CONFLICT(tag) DO UPDATE "
                "SET run_id = excluded.run_id, created = excluded.created",
                (tag, run_id, now_iso()),
            )

    # --------------------------------------------------------------------- reads

    def resolve_run(self, ref: str) -> str:
        """Turn 'last', a tag, a run id or a unique id prefix into a run id."""
        if ref == "last":
            # rowid breaks ties between runs finished within the same millisecond.
            row = self.conn.execute(
                "SELECT id FROM runs WHERE status = 'ok' ORDER BY finished DESC, rowid DESC LIMIT 1"
            ).fetchone()
        else:
            row = self.conn.execute("SELECT run_id FROM run_tags WHERE tag = ?", (ref,)).fetchone()
            if row is None:
                matches = self.conn.execute(
                    "SELECT id FROM runs WHERE id LIKE ? || '%'", (ref,)
                ).fetchall()
                if len(matches) > 1:
                    raise StoreError(f"run id prefix {ref!r} is ambiguous")
                row = matches[0] if matches else None
        if row is None:
            raise StoreError(f"no run {ref!r} in {self.path}")
        return str(row[0])

    def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """Return the most recent runs, newest first."""
        cur = self.conn.execute("SELECT * FROM runs ORDER BY started DESC LIMIT ?", (limit,))
        return _dicts(cur)

    def run(self, run_id: str) -> dict[str, Any]:
        """Return one run's row."""
        rows = _dicts(self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)))
        if not rows:
            raise StoreError(f"no run {run_id!r}")
        return rows[0]

    def values(self, run_id: str) -> list[dict[str, Any]]:
        """Return a run's metric values in a stable order."""
        cur = self.conn.execute(
            "SELECT * FROM metric_values WHERE run_id = ? ORDER BY metric, period, slice", (run_id,)
        )
        return _dicts(cur)

    def rejects(self, run_id: str) -> list[dict[str, Any]]:
        """Return a run's rejects in a stable order."""
        cur = self.conn.execute("SELECT * FROM rejects WHERE run_id = ? ORDER BY id", (run_id,))
        return _dicts(cur)

    def checks(self, run_id: str) -> list[dict[str, Any]]:
        """Return a run's check verdicts in a stable order."""
        cur = self.conn.execute(
            "SELECT * FROM checks WHERE run_id = ? ORDER BY metric, compared, slice", (run_id,)
        )
        return _dicts(cur)


def _insert_rows(
    conn: sqlite3.Connection, table: str, run_id: str, rows: list[Mapping[str, Any]]
) -> None:
    """Insert dict rows with the standard sqlite3 module, inside the caller's transaction.

    The standard module rather than sqlite-utils: importing sqlite-utils imports pandas
    when it is installed (0.9 s), which a run must not pay to write rows. Multi-row
    INSERTs of up to 500 rows (as sqlite-utils wrote them) keep the statement count
    small. The columns are the union of the rows' keys (a key a row lacks is NULL).
    """
    if not rows:
        return
    columns = list(dict.fromkeys(k for r in rows for k in r if k != "run_id"))
    names = ", ".join(_quote(c) for c in ["run_id", *columns])
    one = "(" + ", ".join("?" * (len(columns) + 1)) + ")"
    # SQLite allows 32,766 bound values per statement.
    per_statement = max(1, min(500, 32_000 // (len(columns) + 1)))
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        params = [v for r in chunk for v in (run_id, *(_cell(r.get(c)) for c in columns))]
        conn.execute(
            f"INSERT INTO {_quote(table)} ({names}) VALUES {', '.join([one] * len(chunk))}",
            params,
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _environmental(exc: BaseException) -> bool:
    """True for errors of the file or disk (full, read-only, damaged), not of our SQL."""
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


def refuse_newer_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a database that a newer cxengine migrated: writing it could break it.

    A migration recorded in the file that this version does not know means the schema
    has changed in ways this code cannot see (a new NOT NULL column breaks our inserts).
    """
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_cxengine_migrations'"
    ).fetchone()
    if not has_table:
        return
    known = {name for name, _fn in MIGRATIONS}
    recorded = [str(r[0]) for r in conn.execute("SELECT name FROM _cxengine_migrations")]
    unknown = [name for name in recorded if name not in known]
    if unknown:
        from cxengine import __version__

        raise StoreError(
            f"results database {path} was written by a newer cxengine (schema changes "
            f"{', '.join(map(repr, unknown[:5]))} are unknown to cxengine {__version__}); "
            "upgrade cxengine, or point `database:` at another file"
        )


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime | date | time_of_day):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _slice_keys(slice_: Any) -> list[str]:
    if isinstance(slice_, str):
        slice_ = json.loads(slice_) if slice_ else {}
    return [str(k) for k in (slice_ or {})]


def _dicts(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
