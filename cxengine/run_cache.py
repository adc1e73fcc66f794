"""The rerun cache: a run whose inputs have not changed is read back, not recomputed.

A run's values depend on the code that computes them, the config, the specs, the
metrics asked for, the enrichers' versions and the input files. `fingerprint` hashes
all of that into a key *before* any data is read; when the results database holds
an `ok` run under that key (`reusable_runs`, written in the same transaction as the
run), `cxengine run` prints that run instead of computing it again. The regression
gate is still applied, since a baseline may have changed; `--force` recomputes.

What the key trusts (docs/performance.md says the same to users):

- **Input files**: a file whose size, modification and change times (in ns), inode
  and device equal those recorded when it was last hashed is taken to still have that
  content, without being read. A content change that keeps all of those needs a file
  system whose clock does not tick between two writes of the same size, or a tool
  that restores both times (only root can set the change time). Files that changed
  within 2 s of being hashed are hashed again next time (racy timestamps, as git
  does). When only the times differ (`touch`, a copy), the content is hashed
  (SHA-1) and the run is still reused if it is the same.
- **Code**: cxengine's and every loaded plugin's package files, by size and
  modification time (an edited module changes the key, an editable install
  included) — also the packages of lazily registered kinds and sources that are not
  imported yet — each installed plugin's distribution version, and the versions of
  the libraries that compute (DuckDB, sqlglot, pyarrow, scipy, numpy, pydantic), read
  from their files' times likewise.
- **Enrichers**: their `version(options)`, which the NLP plugin defines as package,
  lexicon, code and taxonomy hashes.
- **The clock's zone**: `TZ` and the zone Python sees, in case DuckDB reads an
  offset-carrying timestamp in the local zone.

Datasets that are not files (a database engine, a plugin source without
`input_files`) make a run never reusable: nothing cheap can tell whether they changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxengine import __version__
from cxengine.compute.values import MetricValue
from cxengine.dataset.files import FileHasher, share_hash
from cxengine.interfaces import DerivedKind, ReadsFiles, Reject, SourceContext
from cxengine.linkage import population_datasets
from cxengine.replay import MAX_CODE_FILES as MAX_CODE_FILES  # re-exported
from cxengine.replay import RACY_S as RACY_S  # one "untrusted if this recent" for both caches
from cxengine.replay import tree_digest

if TYPE_CHECKING:
    import sqlite3

    from cxengine.config import ProjectConfig
    from cxengine.plugins import Registry
    from cxengine.spec.loader import LoadedSpec
    from cxengine.store.results import ResultsStore

#: Bump when what the key covers changes, so no key of the old rules ever matches.
KEY_VERSION = "2"
#: Libraries whose version can change computed values.
LIBRARIES = ("duckdb", "sqlglot", "pyarrow", "scipy", "numpy", "pydantic")


@dataclass
class InputFile:
    """One input file: its stat when first looked at, and its content hash."""

    path: Path
    stat: tuple[int, int, int, int, int]  # size, mtime_ns, ctime_ns, inode, device
    digest: str | None = None  # known: from `input_files`, or hashed now
    hasher: FileHasher | None = None  # hashing in the background (a certain miss)

    def content_hash(self) -> str:
        """Return the content hash, waiting for the background hash if one runs."""
        if self.digest is None:
            assert self.hasher is not None
            self.digest = self.hasher.result()
        return self.digest


@dataclass
class RunFingerprint:
    """Everything a run's values depend on; its key once every file is hashed."""

    parts: dict[str, Any]
    files: list[InputFile]
    #: when the files were first looked at (for the racy-timestamp rule)
    looked_at: float
    #: the input paths as the sources named them, before links were resolved (a
    #: replay checks they still lead to `files`, and that their folders hold the same
    #: names: a source that globs finds its files there)
    named: list[Path] = dataclasses.field(default_factory=list)

    @property
    def hashed(self) -> bool:
        """True when every file's content hash is known without waiting."""
        return all(f.digest is not None for f in self.files)

    def key(self) -> str:
        """Return the key (waits for background hashes)."""
        files = [[str(f.path), f.content_hash()] for f in self.files]
        text = json.dumps({**self.parts, "files": files}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def unchanged(self) -> bool:
        """True when no input file changed since it was first looked at."""
        for f in self.files:
            try:
                if _stat(f.path) != f.stat:
                    return False
            except OSError:
                return False
        return True


@dataclass
class StoredRun:
    """A reusable run read back from the results database."""

    run_id: str
    values: list[MetricValue]
    rejects: list[Reject]
    extra: dict[str, Any]


# ----------------------------------------------------------------- fingerprinting


def fingerprint(
    project: ProjectConfig,
    registry: Registry,
    specs: Sequence[LoadedSpec],
    store: ResultsStore | None,
) -> RunFingerprint | None:
    """Return what the run of `specs` depends on, or None if it can never be reused.

    `specs` are the run's specs in the order it computes them (dependencies
    included). `store` (None before the database exists) supplies known hashes.
    """
    datasets = _datasets_read(project, registry, specs)
    paths: list[Path] = []
    for name in sorted(datasets):
        files = _input_files(project, registry, name)
        if files is None:
            return None
        paths.extend(files)
    looked_at = time.time()
    known = _known_hashes(store, paths) if store is not None else {}
    inputs: list[InputFile] = []
    for path in dict.fromkeys(p.resolve() for p in paths):
        try:
            now = _stat(path)
        except OSError:
            return None  # the run itself reports the missing file
        row = known.get(str(path))
        # The source reading the file takes this hash instead of hashing it again
        # (dataset/files.py share_hash), unless its times are too recent to trust.
        trusted = looked_at - max(now[1], now[2]) / 1e9 >= RACY_S
        if row is not None and tuple(row[:5]) == now:
            inputs.append(InputFile(path, now, digest=row[5]))
        elif row is not None and row[0] == now[0]:
            # Same size, other times (touched, copied): it may be the same content,
            # so hash it now to find out; the run waits for this one.
            inputs.append(InputFile(path, now, digest=FileHasher(path).result()))
        else:
            # Never seen at this size: no stored run can have read this content. Hash
            # it beside the run, to record it when the run is saved.
            inputs.append(InputFile(path, now, hasher=FileHasher(path)))
        shared = inputs[-1].hasher or inputs[-1].digest
        if trusted and shared is not None:
            share_hash(path, now, shared)
    try:
        enrichers = _enricher_versions(project, registry, datasets)
    except Exception:  # a bad enricher option: for the run's own checks to report, located
        return None
    parts = {
        "version": KEY_VERSION,
        "cxengine": __version__,
        "code": _code_state(registry),
        "plugins": _plugin_versions(registry),
        "libraries": _library_state(),
        "zone": [os.environ.get("TZ"), time.tzname, time.timezone, time.altzone],
        "config": project.text_hash,
        "allowed_paths": [str(p) for p in project.allowed_paths()],
        "specs": [[s.name, s.text_hash] for s in specs],
        "enrichers": enrichers,
    }
    return RunFingerprint(parts, inputs, looked_at, named=paths)


def _stat(path: Path) -> tuple[int, int, int, int, int]:
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise OSError(f"{path} is not a regular file")
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _datasets_read(
    project: ProjectConfig, registry: Registry, specs: Sequence[LoadedSpec]
) -> set[str]:
    """Return every dataset the run loads: the specs', weighting populations, join sides."""
    todo = [
        s.spec.dataset
        for s in specs
        if s.spec.dataset and not isinstance(registry.aggregations.get(s.spec.kind), DerivedKind)
    ]
    todo.extend(population_datasets(list(specs)))
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        ds = project.model.datasets.get(name)
        if ds is not None and ds.join is not None:
            todo.extend([ds.join.from_, ds.join.to])
    return seen


def _input_files(project: ProjectConfig, registry: Registry, name: str) -> list[Path] | None:
    """Return a dataset's files (none for a join), or None when it is not read from files."""
    ds = project.model.datasets.get(name)
    if ds is None:
        return None
    if ds.join is not None:
        return []  # its two sides are datasets of their own
    if getattr(ds, "engine", None) not in (None, "duckdb") or ds.source is None:
        return None  # rows that live in a database: cannot tell cheaply if they changed
    source = registry.sources.get(ds.source)
    if not isinstance(source, ReadsFiles):
        return None
    try:
        options = source.options_model.model_validate(ds.source_options()).model_dump()
        context = SourceContext(
            dataset=name,
            options=options,
            base_dir=project.base_dir,
            allowed_paths=project.allowed_paths(),
        )
        return [Path(p) for p in source.input_files(context)]
    except Exception:  # anything wrong is for the run itself to report, located
        return None


def _enricher_versions(
    project: ProjectConfig, registry: Registry, datasets: Iterable[str]
) -> list[list[str]]:
    """Return [dataset, enricher, version] for every comment field the run tags."""
    from cxengine.enrich import chosen_enrichers, enricher_options
    from cxengine.tagging import call

    out: list[list[str]] = []
    for name in sorted(datasets):
        comments = project.model.datasets[name].comments if name in project.model.datasets else None
        if comments is None:
            continue
        enrichers, missing = chosen_enrichers(comments, registry)
        options = enricher_options(project, comments)
        for enricher_name, enricher in enrichers:
            owner = registry.owner("enricher", enricher_name) or enricher_name
            version = call(owner, enricher_name, "version", partial(enricher.version, options))
            out.append([name, enricher_name, str(version)])
        out.extend([name, n, "missing"] for n in missing)
    return out


def _code_state(registry: Registry) -> list[list[Any]]:
    """Return size and mtime of every file of cxengine and of each plugin's package.

    A plugin's package is found from the plugin object, and from every lazy
    registration's target (a kind that lives in another package than the plugin's
    entry point), without importing the target: the key must change when code the
    run would import changes, whether or not this process has imported it yet.
    """
    roots: dict[str, Path] = {}
    for _name, plugin in registry.pm.list_name_plugin():
        module = str(getattr(plugin, "__name__", "")) if hasattr(plugin, "__file__") else ""
        module = module or type(plugin).__module__
        top = sys.modules.get(module.split(".")[0])
        file = getattr(top, "__file__", None) or getattr(sys.modules.get(module), "__file__", None)
        if not file:
            continue
        path = Path(file)
        roots[str(path)] = path.parent if path.name == "__init__.py" else path
    for table in registry.tables().values():
        for package in sorted({e.module.split(".")[0] for e in map(table.entry, table) if e}):
            root = _package_root(package)
            if root is not None:
                roots[str(root)] = root
    roots.setdefault("cxengine", Path(__file__).parent)
    # The same digest a replay checks (cxengine/replay.py), so the two always agree.
    return [[str(root), tree_digest(root)] for root in sorted(set(roots.values()))]


def _package_root(top: str) -> Path | None:
    """Return the folder (or file) of a top-level module, without importing it."""
    try:
        spec = find_spec(top)
    except (ImportError, ValueError):
        return None  # the run reports a target that cannot be imported, if it uses it
    if spec is None:
        return None
    folders = list(spec.submodule_search_locations or [])
    if folders:
        return Path(folders[0])
    return Path(spec.origin) if spec.origin and spec.has_location else None


def _plugin_versions(registry: Registry) -> list[list[str | None]]:
    """Return [entry point, distribution, version] of every installed plugin loaded."""
    return [[name, *registry.pm.entry_points[name]] for name in sorted(registry.pm.entry_points)]


def _library_state() -> list[list[Any]]:
    """Return where each computing library is installed and when its files were written.

    Reading package metadata for versions costs ~20 ms a library; the stat of the
    module's own file changes whenever the library is installed again.
    """
    out: list[list[Any]] = []
    for name in LIBRARIES:
        spec = find_spec(name)
        origin = spec.origin if spec is not None else None
        if origin is None:
            out.append([name, None])
            continue
        st = os.stat(origin)
        out.append([name, origin, st.st_size, st.st_mtime_ns])
    return out


# ---------------------------------------------------------------------- database


def _known_hashes(store: ResultsStore, paths: Sequence[Path]) -> dict[str, tuple[Any, ...]]:
    names = [str(p.resolve()) for p in paths]
    if not names:
        return {}
    marks = ", ".join("?" for _ in names)
    rows = store.conn.execute(
        "SELECT path, size, mtime_ns, ctime_ns, inode, device, hash FROM input_files "
        f"WHERE path IN ({marks})",
        names,
    ).fetchall()
    return {str(r[0]): tuple(r[1:]) for r in rows}


def lookup(store: ResultsStore, fp: RunFingerprint) -> StoredRun | None:
    """Return the ok run stored under the fingerprint's key, or None."""
    if not fp.hashed:
        return None  # a file of a size never recorded: no stored run read it
    # Only a run that finished without any error: one whose spec failed while the
    # others were stored must be computed again, not printed as if complete.
    row = store.conn.execute(
        "SELECT r.run_id, r.extra FROM reusable_runs AS r JOIN runs ON runs.id = r.run_id "
        "WHERE r.key = ? AND runs.status = 'ok' AND runs.error IS NULL",
        (fp.key(),),
    ).fetchone()
    if row is None:
        return None
    run_id, extra = str(row[0]), json.loads(row[1])
    return StoredRun(
        run_id, _values(store.conn, run_id, extra), _rejects(store.conn, run_id), extra
    )


def _values(conn: sqlite3.Connection, run_id: str, extra: Mapping[str, Any]) -> list[MetricValue]:
    grains: dict[str, str] = extra.get("grains", {})
    mixed: list[str] | None = extra.get("value_grains")
    whole = set(extra.get("int_values", ()))
    out = []
    rows = conn.execute(
        "SELECT metric, period, slice, value, n, ci_low, ci_high, low_sample, rows, excluded, "
        "counts, note FROM metric_values WHERE run_id = ? ORDER BY rowid",
        (run_id,),
    )
    for i, r in enumerate(rows):
        metric, period, slice_, value, n, lo, hi, low, nrows, excluded, counts, note = r
        if i in whole:  # stored as REAL; printed as the integer it was
            value, lo, hi = (int(x) if x is not None else None for x in (value, lo, hi))
        out.append(
            MetricValue(
                metric=metric,
                grain=mixed[i] if mixed is not None else grains.get(metric, ""),
                period=date.fromisoformat(period) if period else None,
                slice=json.loads(slice_),
                value=value,
                n=n,
                ci_low=lo,
                ci_high=hi,
                low_sample=bool(low),
                rows=nrows,
                excluded=excluded,
                counts=json.loads(counts),
                note=note,
            )
        )
    return out


def _rejects(conn: sqlite3.Connection, run_id: str) -> list[Reject]:
    rows = conn.execute(
        "SELECT dataset, locator, reason, field, value, metric FROM rejects "
        "WHERE run_id = ? ORDER BY id",
        (run_id,),
    )
    return [Reject(*r) for r in rows]


def extra_of(
    values: Sequence[MetricValue],
    datasets: Mapping[str, Any],
    enrichment: Any,
    weighting: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Return what printing a run needs besides its stored rows, as JSON-able data."""
    grains: dict[str, str] = {}
    uniform = True
    for v in values:
        if grains.setdefault(v.metric, v.grain) != v.grain:
            uniform = False
    whole = [
        i
        for i, v in enumerate(values)
        if any(type(x) is int for x in (v.value, v.ci_low, v.ci_high))
    ]
    return {
        "grains": grains,
        **({} if uniform else {"value_grains": [v.grain for v in values]}),
        **({"int_values": whole} if whole else {}),
        "datasets": {name: dataclasses.asdict(d) for name, d in datasets.items()},
        "enrichment": dataclasses.asdict(enrichment) if enrichment is not None else None,
        **({"weighting": dict(weighting)} if weighting else {}),
    }


def record(
    conn: sqlite3.Connection, fp: RunFingerprint, run_id: str, extra: Mapping[str, Any]
) -> bool:
    """Pair the key with the run, and remember the files' hashes; in the caller's transaction.

    Nothing is recorded when an input changed while the run read it: the values may
    then be of neither the old content nor the new. Returns whether it recorded.
    """
    if not fp.unchanged():
        return False
    key = fp.key()
    remember_hashes(conn, fp)
    conn.execute(
        "INSERT INTO reusable_runs (key, run_id, recorded, extra) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET run_id = excluded.run_id, "
        "recorded = excluded.recorded, extra = excluded.extra",
        # In the run's own key order (not sorted): a reused run prints the same bytes as
        # the run that computed it, so `run --json` outputs diff cleanly.
        (key, run_id, _now(), json.dumps(extra, default=str)),
    )
    return True


def remember_hashes(conn: sqlite3.Connection, fp: RunFingerprint) -> None:
    """Write each input file's stat and content hash (times untrusted if too recent)."""
    for f in fp.files:
        size, mtime, ctime, inode, device = f.stat
        if fp.looked_at - max(mtime, ctime) / 1e9 < RACY_S:
            mtime = -1  # may change again within the same tick: hash it next time
        conn.execute(
            "INSERT INTO input_files (path, size, mtime_ns, ctime_ns, inode, device, hash, "
            "hashed) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET "
            "size = excluded.size, mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, "
            "inode = excluded.inode, device = excluded.device, hash = excluded.hash, "
            "hashed = excluded.hashed",
            (str(f.path), size, mtime, ctime, inode, device, f.content_hash(), _now()),
        )


def _now() -> str:
    from cxengine.store.results import now_iso

    return now_iso()
