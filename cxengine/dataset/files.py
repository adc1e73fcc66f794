"""File checks, fingerprints and line numbers shared by the file-based sources."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from cxengine.errors import DataError

if TYPE_CHECKING:  # annotations only: interfaces imports this module (SourceContext.input_file)
    from cxengine.interfaces import SourceContext

CHUNK = 1 << 20


def input_file(context: SourceContext, option: str | Path) -> Path:
    """Resolve a path option and check it names a readable file; raise DataError if not."""
    path = context.resolve(option)
    where = f"dataset {context.dataset!r}"
    check_allowed(context, path)
    if not path.exists():
        hint = ""
        if path.parent.is_dir():
            siblings = sorted(p.name for p in path.parent.iterdir() if p.is_file())[:10]
            if siblings:
                hint = f"; files in {path.parent}: {', '.join(siblings)}"
        raise DataError(f"{where}: file not found: {path}{hint}")
    if path.is_dir():
        raise DataError(f"{where}: {path} is a directory, not a file")
    kind = special_kind(path)
    if kind:
        # Opening a FIFO blocks until a writer appears and a device never ends:
        # refuse both before any read, so the run cannot hang.
        raise DataError(f"{where}: {path} is {kind}, not a regular file")
    if not os.access(path, os.R_OK):
        raise DataError(f"{where}: cannot read {path}: permission denied")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise DataError(f"{where}: cannot read {path}: {exc.strerror or exc}") from None
    return path


def check_allowed(context: SourceContext, path: Path) -> None:
    """Refuse a path that leads outside the project folder, unless a listed folder holds it."""
    problem = outside_readable_places(path, context.base_dir, context.allowed_paths)
    if problem:
        raise DataError(f"dataset {context.dataset!r}: {problem}")


def outside_readable_places(
    path: Path, base_dir: Path, allowed_paths: Iterable[Path], shown: str | None = None
) -> str | None:
    """Say why `path` may not be read, or None when the project or a listed folder holds it.

    The path is resolved first, so `..` and symlinks are judged by where they land: a
    spec or config from elsewhere must not be able to read (and echo into rejects and
    messages) any file the user can read. `shown` is how the message names the path
    (default: the path itself). Public (cxengine.api) for plugins that read user files.
    """
    target = path.resolve()
    roots = (base_dir.resolve(), *(Path(p).resolve() for p in allowed_paths))
    if any(target == root or target.is_relative_to(root) for root in roots):
        return None
    leads = f" (it leads to {target})" if target != path.absolute() else ""
    return (
        f"{path if shown is None else shown}{leads} is outside the project folder "
        f"{base_dir}; list its folder under `allow_paths:` in cxengine.yaml "
        "(or pass --allow-path) to read it"
    )


def special_kind(path: Path) -> str | None:
    """Describe what a path is when it is not a regular file (after symlinks); else None.

    Opening a FIFO blocks until a writer appears and a device never ends: a reader
    asks this before it opens a user's file. Public (cxengine.api).
    """
    try:
        mode = path.stat().st_mode
    except OSError:
        return None  # reported by the checks that follow
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


Stat = tuple[int, int, int, int, int]  # size, mtime_ns, ctime_ns, inode, device

#: Content hashes a run may take from its rerun-cache check instead of reading the file
#: again, by resolved path: the file's stat then and the digest (or the hasher still
#: computing it). See `share_hash`.
_SHARED: dict[str, tuple[Stat, FileHasher | str]] = {}
_SHARED_LOCK = threading.Lock()


def file_stat(path: Path) -> Stat:
    """Return what says a file is unchanged: size, times in ns, inode and device."""
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def share_hash(path: Path, stat: Stat, digest: FileHasher | str) -> None:
    """Let later `FileHasher`s of `path` take `digest` while the file keeps `stat`.

    The rerun cache calls this with the hash it knows for a file it trusts by its stat
    (the same trust that lets it reuse a whole run; never for times too recent to
    trust, run_cache.RACY_S), or with the hasher it started. The source that reads the
    file then fingerprints it without reading it a second time: a first run hashed
    each input twice, a forced one once more than needed (bench_run at 1M rows: 0.07
    s of CPU each, 0.36 s at 5M).
    """
    with _SHARED_LOCK:
        _SHARED[str(path.resolve())] = (stat, digest)


def _shared_hash(path: Path) -> FileHasher | str | None:
    try:
        key, now = str(path.resolve()), file_stat(path)
    except OSError:
        return None  # the hasher's own read reports it
    with _SHARED_LOCK:
        entry = _SHARED.get(key)
    return entry[1] if entry is not None and entry[0] == now else None


class FileHasher:
    """Hash a file in a background thread (hashlib releases the GIL) while DuckDB reads it.

    SHA-1, not blake2b: OpenSSL's SHA-1 uses the CPU's SHA instructions where it has
    them (x86 since AMD Zen and Intel Ice Lake, ARMv8), twice blake2b's speed there:
    0.072 against 0.146 s of CPU for bench_run's 113 MB file at 1M rows (0.37 s less
    at 5M); without them its speed is about blake2b's (SHA-256 would then be half).
    The hash tells whether a file changed (the rerun cache, a run's input
    fingerprints); it is no defence against a file crafted to collide. Fingerprints
    written before were "blake2b:…": such a stored run is not reused once, never
    reused wrongly.
    """

    def __init__(self, path: Path):
        self.path = path
        self._digest: str | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._same: FileHasher | None = None  # another hasher of the same content
        shared = _shared_hash(path)
        if isinstance(shared, str):
            self._digest = shared
        elif shared is not None:
            self._same = shared
        else:
            self._thread = threading.Thread(target=self._run, name=f"hash {path.name}", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            h = hashlib.sha1()
            with self.path.open("rb") as f:
                while chunk := f.read(CHUNK):
                    h.update(chunk)
            self._digest = "sha1:" + h.hexdigest()
        except BaseException as exc:  # reported by result(), in the caller's thread
            self._error = exc

    def result(self) -> str:
        """Wait for the hash and return it as 'sha1:<hex>'."""
        if self._same is not None:
            return self._same.result()
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise DataError(f"cannot read {self.path} to fingerprint it: {self._error}")
        assert self._digest is not None
        return self._digest


def lines_at_offsets(path: Path, offsets: Iterable[int]) -> dict[int, int]:
    """Return the 1-based line number of each byte offset, counting b'\\n' up to it."""
    wanted = sorted(set(offsets))
    found: dict[int, int] = {}
    if not wanted:
        return found
    line, pos, i = 1, 0, 0
    with path.open("rb") as f:
        while i < len(wanted):
            chunk = f.read(CHUNK)
            if not chunk:
                break
            end = pos + len(chunk)
            while i < len(wanted) and wanted[i] < end:
                found[wanted[i]] = line + chunk.count(b"\n", 0, wanted[i] - pos)
                i += 1
            line += chunk.count(b"\n")
            pos = end
    for off in wanted[i:]:
        found[off] = line
    return found
