"""The rerun cache's fast path: a reused run's output printed again, nothing loaded.

A reused run (cxengine/run_cache.py) reads no data, but it still loads the project to
work out its key: pydantic, the config and spec models, the plugins, ~0.2–0.3 s of
CPU, more than a tenth of a 1M-row first run. So when `cxengine run` reuses a run, it
also stores what it printed, beside every file and setting that output depends on
(table `replays`). The next identical `cxengine run` checks those by their stats and
prints the stored output, importing no model, kind, plugin, DuckDB or YAML parser.
Standard library only: importing this module must stay cheap.

What a replay checks beyond the rerun cache's key (docs/performance.md says the same):

- the command's options, the working folder, the environment variables that change
  what is found or printed (``CXENGINE_*``, ``GITHUB_*``, ``TZ``, colours, terminal),
  whether stdout and stderr are terminals, the UTC date (the summary's "latest complete
  period" is as of today), Python's version, executable and module path;
- the config file by content hash; every spec file by stats and content hash, and the
  folders that hold them by their times (a spec added or removed changes them); the
  folders from the working folder up to the config's (a nearer `cxengine.yaml` would be
  found first);
- the input files by their stats, as the rerun cache made its key with them (the same
  trust); each input path as its source named it still leading to the same file, and
  the names in its folder (a source that globs reads whatever matches there);
- the code by size and time of every file, as in the key, the libraries' module files,
  and the times of every folder on Python's path (installing or removing a package,
  a plugin included, changes its folder's times).

Only a run that tags no comments is replayed (an enricher's version may read files
only it knows of), printed as the summary, `--detail`, `--format table` or JSON, with
no `--tag`, baseline, `--junit` or `--markdown`, no ``$GITHUB_STEP_SUMMARY``, that
exited 0. Anything else, or any difference, takes the ordinary path.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cxengine.config import ProjectConfig
    from cxengine.run_cache import RunFingerprint

#: Bump when what a replay checks changes: no record of the old rules then matches.
REPLAY_VERSION = "2"
#: As cxengine.config (a test checks they agree); not imported: it imports pydantic.
CONFIG_NAMES = ("cxengine.yaml", "cxengine.yml")
SPEC_SUFFIXES = (".yaml", ".yml")  # as cxengine.spec.loader
ENV_CONFIG = "CXENGINE_CONFIG"
#: Output formats whose text depends only on the stored run (and the date).
FORMATS = (None, "json", "table")
#: Environment variables that change what a run finds or how it prints.
ENV_NAMES = (
    "TZ", "HOME", "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TERM",
    "COLUMNS", "LINES", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONIOENCODING", "PYTHONUTF8",
)  # fmt: skip
ENV_PREFIXES = ("CXENGINE_", "GITHUB_")
#: A file or folder changed less than this before it was looked at may change again
#: within the same timestamp tick: no replay is recorded over it. run_cache uses it too.
RACY_S = 2.0
#: Stop walking a package after this many files (a plugin installed at the root of
#: site-packages must not make every run walk it).
MAX_CODE_FILES = 5000
#: Files Python imports a module from (a folder without a dot may be a package).
MODULE_SUFFIXES = (".py", ".pyc", ".so", ".pyd", ".pth")
_DATABASE_LINE = re.compile(r"^database:[ \t]*(?P<value>[^#\n]*?)[ \t]*(?:#.*)?$", re.M)


# --------------------------------------------------------------------------- files


def tree_digest(root: Path) -> str:
    """Return a digest of the name, size and mtime of every file under `root` (or of it)."""
    digest = hashlib.sha256()
    for count, (rel, size, mtime) in enumerate(_files_under(root)):
        if count >= MAX_CODE_FILES:
            break
        digest.update(f"{rel}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()[:16]


def _files_under(root: Path) -> Iterator[tuple[str, int, int]]:
    if root.is_file():
        st = root.stat()
        yield root.name, st.st_size, st.st_mtime_ns
        return
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__" and not entry.name.startswith("."):
                    stack.append(Path(entry.path))
            elif entry.is_file():
                st = entry.stat()
                yield os.path.relpath(entry.path, root), st.st_size, st.st_mtime_ns


def spec_files(folder: Path) -> list[str]:
    """Return the spec files under a folder, as cxengine.spec.loader discovers them."""
    return [str(f) for f in sorted(folder.rglob("*")) if f.suffix in SPEC_SUFFIXES and f.is_file()]


def _stat(path: str) -> list[int] | None:
    """Return a path's kind, size, times, inode and device; None when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    kind = 1 if stat.S_ISREG(st.st_mode) else 2 if stat.S_ISDIR(st.st_mode) else 3
    return [kind, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def find_config(explicit: str | None) -> Path | None:
    """Return the config file `cxengine run` would read (cxengine.config.find_config), or None."""
    chosen = explicit or os.environ.get(ENV_CONFIG)
    if chosen:
        p = Path(chosen).expanduser()
        if p.is_dir():
            return next((p / n for n in CONFIG_NAMES if (p / n).is_file()), None)
        return p if p.is_file() else None
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        for name in CONFIG_NAMES:
            if (folder / name).is_file():
                return folder / name
    return None


def database_of(config: Path, text: str) -> Path | None:
    """Return the results database a config names, without parsing it as YAML.

    Only to find where a replay may be stored: a replay found there is used only if
    it was recorded by this very config (its content is part of the key), so a config
    this cannot read simply gets no replay.
    """
    lines = _DATABASE_LINE.findall(text)
    if not lines:
        if re.search(r"^\s*database\s*:|[{,]\s*database\s*:", text, re.M):
            return None  # written some other way: not ours to guess
        value = "cx.db"
    elif len(lines) == 1 and lines[0] and not re.search(r"[\"'{}\[\]&*!|>%@`]", lines[0]):
        value = lines[0]
    else:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else config.resolve().parent / path


# ----------------------------------------------------------------------------- key


def context_key(command: Mapping[str, Any], config: Path, config_hash: str) -> str:
    """Return the key of a command's context: options, folder, environment, terminal, day."""
    from cxengine import __version__

    tty = [_isatty(sys.stdout), _isatty(sys.stderr)]
    size = list(os.get_terminal_size(sys.stdout.fileno())) if tty[0] else None
    env = {k: v for k, v in os.environ.items() if k in ENV_NAMES or k.startswith(ENV_PREFIXES)}
    text = json.dumps(
        {
            "replay": REPLAY_VERSION,
            "cxengine": __version__,
            "python": [sys.version, sys.executable, sys.path],
            "command": command,
            "cwd": os.getcwd(),
            "config": [str(config.resolve()), config_hash],
            "env": env,
            "tty": tty,
            "size": size,
            "zone": [time.tzname, time.timezone, time.altzone],
            "day": datetime.now(UTC).date().isoformat(),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# ------------------------------------------------------------------------- replay


def replay(command: Mapping[str, Any], explicit_config: str | None) -> bool:
    """Print a stored replay of this command and mark its run reused; False on any miss."""
    config = find_config(explicit_config)
    if config is None:
        return False
    try:
        data = config.read_bytes()
    except OSError:
        return False
    database = database_of(config, data.decode("utf-8", "replace"))
    if database is None or not database.is_file():
        return False
    key = context_key(command, config, hashlib.sha256(data).hexdigest())
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            row = conn.execute(
                "SELECT p.run_id, p.watch, p.stdout, p.stderr, p.checks FROM replays AS p "
                "JOIN reusable_runs AS u ON u.key = p.run_key AND u.run_id = p.run_id "
                "JOIN runs ON runs.id = p.run_id "
                "WHERE p.key = ? AND runs.status = 'ok' AND runs.error IS NULL",
                (key,),
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False  # no such table yet, a locked or damaged file: the ordinary path
    if row is None or not unchanged(json.loads(row[1])):
        return False
    from cxengine.store.results import ResultsStore

    with ResultsStore(database) as store, store.write() as conn:
        # As the reuse it replays: the run becomes the latest, its verdicts stored again.
        store.mark_reused(conn, row[0], json.loads(row[4]))
    sys.stdout.write(row[2])
    sys.stdout.flush()
    sys.stderr.write(row[3])
    sys.stderr.flush()
    return True


def unchanged(watch: Sequence[Sequence[Any]]) -> bool:
    """True when every watched path still has what it had when the replay was recorded."""
    for kind, path, *was in watch:
        if kind == "stat":
            if _stat(path) != was[0]:
                return False
        elif kind == "content":
            if _stat(path) != was[0] or _sha256(path) != was[1]:
                return False
        elif kind == "absent":
            if os.path.exists(path):
                return False
        elif kind == "specs":
            if spec_files(Path(path)) != was[0]:
                return False
        elif kind == "tree":
            if tree_digest(Path(path)) != was[0]:
                return False
        elif kind == "resolves":
            if os.path.realpath(path) != was[0]:
                return False
        elif kind == "names":
            database, modules, names = was
            if _names(path, Path(path) / database, modules) != names:
                return False
        else:
            return False
    return True


# ------------------------------------------------------------------------- record


def watch_list(
    project: ProjectConfig, fingerprint: RunFingerprint, started: float
) -> list[list[Any]] | None:
    """Return what a replay of this run must find unchanged, or None if not safely known.

    `started` is when the command began, before it read anything: a path changed
    after that (or within RACY_S before it, the same timestamp tick) may not be what
    the run read, so no replay is recorded over it. The change time cannot be set
    back (but by root), so a change the run did not see always shows.
    """
    watch: list[list[Any]] = []
    recent: list[str] = []  # paths to check against `started` that are not watched
    config = project.path
    watch.append(["content", str(config), _stat(str(config)), project.text_hash])
    # No config file nearer than the one used (it would be found first). Not the
    # folders' times: the results database beside the config changes them every run.
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        for name in CONFIG_NAMES:
            if folder / name == config:
                break
            watch.append(["absent", str(folder / name)])
        if folder == config.parent:
            break
    for p in project.spec_paths():
        if p.is_dir():
            # The spec files found, as the loader finds them: one added or removed shows.
            found = spec_files(p)
            watch.append(["specs", str(p), found])
            watch.extend(["content", f, _stat(f), _sha256(f)] for f in found)
            # A spec removed while the run went is seen only in its folder's times.
            recent.extend(root for root, _dirs, _files in os.walk(p))
        else:
            watch.append(["content", str(p), _stat(str(p)), _sha256(str(p))])
    for f in fingerprint.files:
        # The stat the key was made with, not one taken now: a file changed since
        # then would otherwise be recorded as what the printed values were made of.
        was = [1, *f.stat]
        if _stat(str(f.path)) != was:
            return None
        watch.append(["stat", str(f.path), was])
    database = project.database_path.resolve()
    # Where each named input leads (a link moved shows), and the names in its folder:
    # a source that globs (xml) reads whatever matches there.
    named = sorted({str(n) for n in fingerprint.named})
    watch.extend(["resolves", n, os.path.realpath(n)] for n in named)
    for where in sorted({os.path.dirname(n) for n in named}):
        names = _names(where, database, modules=False)
        if names is None:
            return None
        watch.append(["names", where, database.name, False, names])
        recent.extend(os.path.join(where, n) for n in names)
    allowed = [project.resolve(a) for a in project.model.allow_paths]
    watch.extend(["resolves", str(a), os.path.realpath(a)] for a in allowed)
    watch.extend(["tree", root, digest] for root, digest in fingerprint.parts["code"])
    for library in fingerprint.parts["libraries"]:
        if len(library) > 2:
            watch.append(["stat", library[1], _stat(library[1])])
    # Installing or removing a package (a plugin, a library that shadows another)
    # changes its folder's times. Not the times of a folder the results database is
    # in (`python -m` puts the working folder on the path): every run changes those;
    # the modules and packages there are watched by name instead.
    for entry in sys.path:
        path_folder = os.path.abspath(entry or ".")
        if path_folder == str(database.parent):
            names = _names(path_folder, database, modules=True)
            if names is None:
                return None
            watch.append(["names", path_folder, database.name, True, names])
            recent.extend(os.path.join(path_folder, n) for n in names)
        else:
            watch.append(["stat", path_folder, _stat(path_folder)])
    since = started - RACY_S
    stats = [item[2] for item in watch if item[0] in ("stat", "content")]
    stats.extend(_stat(path) for path in recent)
    for st in stats:
        if st is not None and max(st[2], st[3]) / 1e9 >= since:
            return None  # changed while the run went, or may change again unseen
    return watch


def _names(folder: str, database: Path, modules: bool) -> list[str] | None:
    """Return the sorted names in a folder (None if unreadable), less the database's files.

    `modules`: only the names Python could import from (packages, modules,
    extensions), for a folder on the path whose other files change every run.
    """
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    own = database.name
    kept = [n for n in names if n != own and not n.startswith(own + "-")]
    if modules:
        kept = [n for n in kept if "." not in n or n.endswith(MODULE_SUFFIXES)]
    return sorted(kept)


def record(
    database: Path,
    key: str,
    fingerprint: RunFingerprint,
    run_id: str,
    watch: list[list[Any]],
    stdout: str,
    stderr: str,
    checks: list[dict[str, Any]],
) -> None:
    """Store what a reused run printed, for the next identical command to replay."""
    from cxengine.store.results import ResultsStore, now_iso

    with ResultsStore(database) as store, store.write() as conn:
        conn.execute(
            "INSERT INTO replays (key, run_id, run_key, recorded, watch, stdout, stderr, checks) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "run_id = excluded.run_id, run_key = excluded.run_key, "
            "recorded = excluded.recorded, watch = excluded.watch, stdout = excluded.stdout, "
            "stderr = excluded.stderr, checks = excluded.checks",
            (
                key, run_id, fingerprint.key(), now_iso(), json.dumps(watch), stdout, stderr,
                json.dumps(checks, default=str),
            ),
        )  # fmt: skip


class _Tee(io.TextIOBase):
    """A text stream that writes through to another and keeps a copy of what it wrote."""

    def __init__(self, stream: Any):
        self.stream = stream
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            # As a text stream does: click probes streams with write(b"").
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.parts.append(text)
        return int(self.stream.write(text))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return _isatty(self.stream)

    def fileno(self) -> int:
        return int(self.stream.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.stream, "encoding", None) or "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.stream, "errors", None)

    def text(self) -> str:
        return "".join(self.parts)


@contextmanager
def captured() -> Iterator[tuple[_Tee, _Tee]]:
    """Copy what is printed on stdout and stderr inside the block (it is printed too)."""
    out, err = _Tee(sys.stdout), _Tee(sys.stderr)
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        yield out, err
    finally:
        sys.stdout, sys.stderr = old
