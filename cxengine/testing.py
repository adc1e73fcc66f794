"""Test helpers for cxengine plugins (and cxengine itself), also a pytest plugin.

Installed with cxengine and registered through the ``pytest11`` entry point, so in
any project that has cxengine installed its fixtures are simply there:

- ``cx_project``: writes a throw-away project (cxengine.yaml, specs, data files)
  from dicts into ``tmp_path`` and returns the config path;
- ``cx_tmp``: a folder for data files (the test's ``tmp_path``).

and its functions are imported where needed::

    from cxengine.testing import check_enricher, check_kind, check_source, compare_kind

- `check_source` loads one dataset through a source end to end and checks what
  every source owes its users: ``read = used + rejected``, and every reject carrying
  the dataset, a locator (optionally matching a pattern: ``export.csv:\\d+``) and
  a reason;
- `check_kind` runs a spec of a metric kind over a small table of rows and compares
  the values with the expected ones; `compare_kind` runs the CI gate's significance
  test between a baseline table and a current one, as `cxengine run --baseline` does;
- `check_enricher` runs an enricher over texts and checks the tags against the
  standard tag schema (types, ranges, declared themes);
- `check_types` runs mypy on a plugin package against the cxengine installed here.

Everything runs in memory or under the test's temporary folder; nothing is stored
unless a test asks for it. See docs/plugins.md for a full example.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from cxengine.compute.stats import Alternative, NoTest, TestResult
    from cxengine.compute.values import MetricValue
    from cxengine.interfaces import Enricher, Reject, Source
    from cxengine.plugins import Registry
    from cxengine.runner import RunResult

__all__ = [
    "KindRun",
    "SourceRun",
    "check_enricher",
    "check_kind",
    "check_source",
    "check_types",
    "compare_kind",
    "registry_with",
    "run_kind",
    "write_project",
]

STANDARD_TAG_KEYS = (
    "language",
    "themes",
    "sentiment",
    "label",
    "theme_sentiment",
    "lexicon_version",
    "taxonomy_version",
)


# ------------------------------------------------------------------------- projects


def write_project(
    root: Path,
    datasets: Mapping[str, Mapping[str, Any]],
    specs: Mapping[str, Mapping[str, Any] | str] | None = None,
    files: Mapping[str, str | bytes] | None = None,
    *,
    standard: Sequence[str] = (),
    **settings: Any,
) -> Path:
    """Write a project into ``root`` and return the path of its cxengine.yaml.

    ``datasets`` is the ``datasets:`` block as a dict; ``specs`` maps a metric name to
    its spec (a dict, or YAML text); ``files`` maps relative paths to text or bytes
    (data files); ``standard`` names standard specs to copy unchanged (``"csat"``,
    ``"frt"``); other keywords are top-level settings (``min_n``, ``confidence``).
    """
    import yaml

    root.mkdir(parents=True, exist_ok=True)
    for name, content in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    spec_dir = root / "metric_specs"
    spec_dir.mkdir(exist_ok=True)
    if standard:
        from cxengine.scaffold import standard_specs

        shipped = dict(standard_specs())
        for name in standard:
            if f"{name}.yaml" not in shipped:
                known = ", ".join(sorted(n.removesuffix(".yaml") for n in shipped))
                raise ValueError(f"no standard spec {name!r}; standard specs: {known}")
            (spec_dir / f"{name}.yaml").write_bytes(shipped[f"{name}.yaml"])
    for name, spec in (specs or {}).items():
        text = spec if isinstance(spec, str) else yaml.safe_dump({"name": name, **spec})
        (spec_dir / f"{name}.yaml").write_text(text, encoding="utf-8")
    config = {
        "database": "cx.db",
        "metrics": ["metric_specs"],
        **settings,
        "datasets": {k: dict(v) for k, v in datasets.items()},
    }
    path = root / "cxengine.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def registry_with(*plugins: object, entry_points: bool = False) -> Registry:
    """A registry of the built-in plugins plus ``plugins`` (modules or objects).

    Installed plugins (entry points) are left out unless ``entry_points`` is true, so
    a test sees exactly the plugins it names.
    """
    from cxengine.plugins import Registry, get_plugin_manager

    return Registry(get_plugin_manager(load_entry_points=entry_points, extra=list(plugins)))


def run_project(config: Path, *plugins: object, store: bool = False) -> RunResult:
    """Run every spec of the project at ``config`` with the built-ins plus ``plugins``."""
    from cxengine.config import load_config
    from cxengine.runner import run_project as run

    return run(load_config(config), registry_with(*plugins), store=store)


# -------------------------------------------------------------------------- sources


@dataclass
class SourceRun:
    """A dataset loaded through a source: counts, rejects and the typed rows."""

    dataset: str
    origin: str
    read: int
    used: int
    rejected: int  # rows rejected whole (broken rows)
    rejects: list[Reject]  # the broken rows, then one per value that did not fit its type
    rows: list[dict[str, Any]]  # the usable rows, typed, in source order
    fields: dict[str, str]  # field -> cxengine type
    notes: list[str]
    cells_rejected: dict[str, int]  # field -> values rejected in that field only

    @property
    def bad_values(self) -> int:
        """Values rejected in their field only (their rows are used)."""
        return sum(self.cells_rejected.values())

    def column(self, name: str) -> list[Any]:
        """The values of one field over the usable rows."""
        return [row[name] for row in self.rows]

    def reject_at(self, locator: str) -> Reject:
        """The reject whose locator is ``locator`` (AssertionError listing them if none)."""
        for reject in self.rejects:
            if reject.locator == locator:
                return reject
        shown = "; ".join(f"{r.locator}: {r.reason}" for r in self.rejects) or "none"
        raise AssertionError(f"no reject at {locator!r}; rejects: {shown}")


def check_source(
    source: Source | str,
    options: Mapping[str, Any],
    *,
    base_dir: Path,
    fields: Mapping[str, Any] | None = None,
    plugins: Sequence[object] = (),
    dataset: str = "data",
    locator: str | re.Pattern[str] | None = None,
    read: int | None = None,
    used: int | None = None,
    rejected: int | None = None,
    bad_values: int | None = None,
    **dataset_options: Any,
) -> SourceRun:
    """Load one dataset through ``source`` end to end and check its bookkeeping.

    ``source`` is a source object, or the name of one registered by ``plugins`` (or
    built in). ``options`` are the source's own options (``path``, …), resolved
    against ``base_dir``; ``fields`` the dataset's ``fields:`` block (default: every
    column, types inferred); ``dataset_options`` other dataset keys (``key``,
    ``null_values``). Asserts ``read == used + rejected`` (rows), one reject per
    rejected row and per bad value (a value rejected in its field only), that every
    reject names the dataset, has a reason and a locator (matching ``locator`` when
    given, a regular expression that must match the whole locator), and the counts
    given: ``read``, ``used``, ``rejected`` rows, ``bad_values``.
    """
    import duckdb

    from cxengine.config import DatasetConfig
    from cxengine.dataset.load import load_dataset

    if isinstance(source, str):
        source = registry_with(*plugins).source(source)
    config = DatasetConfig.model_validate(
        {"source": source.name, **options, **dataset_options, "fields": dict(fields or {})}
    )
    con = duckdb.connect()
    try:
        loaded = load_dataset(con, dataset, config, source, base_dir=base_dir)
        cursor = con.execute(f'SELECT * FROM "{loaded.table}" ORDER BY "_cx_row"')
        names = [d[0] for d in cursor.description]
        rows = [
            {k: v for k, v in zip(names, values, strict=True) if k != "_cx_row"}
            for values in cursor.fetchall()
        ]
    finally:
        con.close()
    run = SourceRun(
        dataset=dataset,
        origin=loaded.origin,
        read=loaded.rows_read,
        used=loaded.rows_used,
        rejected=loaded.rows_rejected,
        rejects=list(loaded.rejects),
        rows=rows,
        fields=dict(loaded.fields),
        notes=list(loaded.notes),
        cells_rejected=dict(loaded.cells_rejected),
    )
    _check_bookkeeping(run, locator)
    for what, want, got in (("rows read", read, run.read), ("rows used", used, run.used),
                            ("rows rejected", rejected, run.rejected),
                            ("bad values", bad_values, run.bad_values)):  # fmt: skip
        if want is not None and want != got:
            raise AssertionError(f"{dataset}: {what} {got}, expected {want}{_listing(run)}")
    return run


def _check_bookkeeping(run: SourceRun, locator: str | re.Pattern[str] | None) -> None:
    if run.read != run.used + run.rejected:
        raise AssertionError(
            f"{run.dataset}: read {run.read} != used {run.used} + rejected {run.rejected}"
        )
    if run.rejected + run.bad_values != len(run.rejects):
        raise AssertionError(
            f"{run.dataset}: {run.rejected} rows and {run.bad_values} values rejected but "
            f"{len(run.rejects)} rejects listed"
        )
    pattern = re.compile(locator) if isinstance(locator, str) else locator
    for reject in run.rejects:
        problem = None
        if reject.dataset != run.dataset:
            problem = f"names dataset {reject.dataset!r}"
        elif not reject.reason:
            problem = "has no reason"
        elif not reject.locator:
            problem = "has no locator"
        elif pattern is not None and not pattern.fullmatch(reject.locator):
            problem = f"locator does not match {pattern.pattern!r}"
        if problem:
            raise AssertionError(
                f"{run.dataset}: reject {reject.locator!r} ({reject.reason}) {problem}"
            )


def _listing(run: SourceRun) -> str:
    if not run.rejects:
        return ""
    return "; rejects: " + "; ".join(f"{r.locator}: {r.reason}" for r in run.rejects)


# ---------------------------------------------------------------------------- kinds


@dataclass
class KindRun:
    """The values a spec computed over a small table."""

    result: RunResult
    metric: str

    @property
    def values(self) -> list[MetricValue]:
        """Every value of the metric: per period and slice, and the roll-ups."""
        return [v for v in self.result.values if v.metric == self.metric]

    def value(self, period: str | dt.date | None = None, **slice_: Any) -> MetricValue:
        """The value of one period (None: all periods) and one slice (none: all)."""
        want = dt.date.fromisoformat(period) if isinstance(period, str) else period
        for v in self.values:
            if v.period == want and v.slice == slice_:
                return v
        shown = ", ".join(f"{v.period} {v.slice}" for v in self.values)
        raise AssertionError(f"{self.metric}: no value for {period} {slice_}; values: {shown}")

    @property
    def overall(self) -> MetricValue:
        """The value over every row: all periods, all slices."""
        return self.value()


def run_kind(
    spec: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    fields: Mapping[str, Any] | None = None,
    plugins: Sequence[object] = (),
    root: Path,
) -> KindRun:
    """Compute ``spec`` over ``rows`` (dicts of Python values) in a project under ``root``.

    The rows become the dataset named by the spec (default ``data``); ``fields`` are
    its types (default: from the Python types of the values). The spec's name
    defaults to ``metric``.
    """
    spec = {"name": "metric", "dataset": "data", **spec}
    types = dict(fields) if fields is not None else _infer_fields(rows)
    lines = "".join(json.dumps(row, default=_json_value) + "\n" for row in rows)
    config = write_project(
        root,
        {spec["dataset"]: {"source": "jsonl", "path": "rows.jsonl", "fields": types}},
        {spec["name"]: {k: v for k, v in spec.items() if k != "name"}},
        {"rows.jsonl": lines},
    )
    result = run_project(config, *plugins)
    if result.failed:
        # A kind under test that fails should fail the test with its reason, not
        # show up later as "no value".
        raise AssertionError("\n".join(str(p) for p in result.failed))
    return KindRun(result, spec["name"])


def check_kind(
    spec: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    expected: Mapping[Any, float | None],
    *,
    fields: Mapping[str, Any] | None = None,
    plugins: Sequence[object] = (),
    root: Path,
    tolerance: float = 1e-9,
) -> KindRun:
    """Run a spec over ``rows`` and assert its values.

    ``expected`` maps what to look at to the value: ``None`` (or ``"overall"``) for
    all rows, a period (``"2024-11-01"``), a slice as a tuple of pairs
    (``(("channel", "chat"),)``), or ``(period, slice_pairs)``.
    """
    run = run_kind(spec, rows, fields=fields, plugins=plugins, root=root)
    for key, want in expected.items():
        period, slice_ = _where(key)
        got = run.value(period, **slice_).value
        if want is None or got is None:
            ok = want is got
        else:
            ok = math.isclose(got, want, rel_tol=tolerance, abs_tol=tolerance)
        if not ok:
            raise AssertionError(f"{run.metric} at {key!r}: {got!r}, expected {want!r}")
    return run


def _where(key: Any) -> tuple[Any, dict[str, Any]]:
    if key is None or key == "overall":
        return None, {}
    if isinstance(key, str | dt.date):
        return key, {}
    if isinstance(key, tuple) and len(key) == 2 and not isinstance(key[0], tuple):
        return key[0], dict(key[1])
    return None, dict(key)


def compare_kind(
    spec: Mapping[str, Any],
    baseline: Sequence[Mapping[str, Any]],
    current: Sequence[Mapping[str, Any]],
    *,
    fields: Mapping[str, Any] | None = None,
    plugins: Sequence[object] = (),
    root: Path,
    alternative: Alternative | None = None,
) -> TestResult | NoTest:
    """The CI gate's test of the current rows against the baseline rows, overall.

    Runs the spec over each table and compares the stored counts with the kind's own
    ``compare`` (a kind without one gets a `NoTest` saying so), as ``cxengine run
    --baseline`` does. ``alternative`` defaults to the direction of a drop ("smaller" when higher
    is better).
    """
    from cxengine.compare.significance import higher_is_better, run_test

    before = run_kind(spec, baseline, fields=fields, plugins=plugins, root=root / "baseline")
    after = run_kind(spec, current, fields=fields, plugins=plugins, root=root / "current")
    loaded = after.result.spec(after.metric)
    aggregation = registry_with(*plugins).aggregation(loaded.spec.kind)
    if alternative is None:
        alternative = "smaller" if higher_is_better(aggregation, loaded.spec) else "larger"
    return run_test(
        aggregation, loaded.spec, before.overall.counts, after.overall.counts, alternative
    )


def _infer_fields(rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    types: dict[str, str] = {}
    for row in rows:
        for key, value in row.items():
            if key in types or value is None:
                continue
            if isinstance(value, bool):
                types[key] = "boolean"
            elif isinstance(value, int):
                types[key] = "integer"
            elif isinstance(value, float):
                types[key] = "number"
            elif isinstance(value, dt.datetime):
                types[key] = "datetime"
            elif isinstance(value, dt.date):
                types[key] = "date"
            else:
                types[key] = "string"
    for row in rows:
        for key in row:
            types.setdefault(key, "string")
    return types


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a JSON value")


# ------------------------------------------------------------------------ enrichers


def check_enricher(
    enricher: Enricher,
    texts: Sequence[str],
    options: Mapping[str, Any] | None = None,
    *,
    dataset: str = "data",
) -> list[dict[str, Any]]:
    """Run an enricher as cxengine does and check every result against the tag schema.

    Checks: ``version(options)`` is non-empty text; one dict per text; each passes
    cxengine's own check (text fields are text, themes a list of ids, JSON-safe);
    ``sentiment`` and every ``theme_sentiment`` score lie in −1…1; themes (and
    ``theme_sentiment`` keys) are among ``themes(options)`` when the enricher declares
    them. Returns the tags.
    """
    from cxengine.interfaces import EnrichRequest
    from cxengine.tagging import checked

    opts = dict(options or {})
    name = getattr(enricher, "name", type(enricher).__name__)
    version = enricher.version(opts)
    if not isinstance(version, str) or not version:
        raise AssertionError(f"enricher {name!r}: version() returned {version!r}, not text")
    keys = [str(i) for i in range(len(texts))]
    tags = enricher.enrich(EnrichRequest(dataset=dataset, keys=keys, texts=list(texts),
                                         options=opts))  # fmt: skip
    if not isinstance(tags, list) or len(tags) != len(texts):
        got = len(tags) if isinstance(tags, list) else type(tags).__name__
        raise AssertionError(f"enricher {name!r}: {got} results for {len(texts)} texts")
    declared: set[str] | None = None
    themes_of: Callable[[Mapping[str, Any]], Sequence[str]] | None = getattr(
        enricher, "themes", None
    )
    if themes_of is not None:
        declared = set(themes_of(opts))
    for key, text, result in zip(keys, texts, tags, strict=True):
        where = f"enricher {name!r} on {text[:40]!r}"
        try:
            checked(result, "test", name, key)
        except Exception as exc:  # the host's message, re-raised as a test failure
            raise AssertionError(f"{where}: {exc}") from None
        _check_scores(where, result, declared)
    return tags


def _check_scores(where: str, tags: Mapping[str, Any], declared: set[str] | None) -> None:
    sentiment = tags.get("sentiment")
    if sentiment is not None and not -1 <= sentiment <= 1:
        raise AssertionError(f"{where}: sentiment {sentiment} is outside -1…1")
    per_theme = tags.get("theme_sentiment") or {}
    for theme, value in per_theme.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise AssertionError(f"{where}: theme_sentiment[{theme!r}] = {value!r}, not a number")
        if not (math.isfinite(value) and -1 <= value <= 1):
            raise AssertionError(f"{where}: theme_sentiment[{theme!r}] = {value} is outside -1…1")
    if declared is not None:
        unknown = (set(tags.get("themes") or ()) | set(per_theme)) - declared
        if unknown:
            raise AssertionError(
                f"{where}: themes {sorted(unknown)} are not among themes(options): "
                f"{sorted(declared)}"
            )


# -------------------------------------------------------------------------- fixtures

ProjectFactory = Callable[..., Path]


@pytest.fixture
def cx_project(tmp_path: Path) -> ProjectFactory:
    """Write a throw-away project into the test's tmp_path; return its cxengine.yaml.

    Call it as `write_project` without the folder:
    ``cx_project({"responses": {...}}, {"csat": {...}}, {"data/x.csv": "..."})``.
    """

    def factory(
        datasets: Mapping[str, Mapping[str, Any]],
        specs: Mapping[str, Mapping[str, Any] | str] | None = None,
        files: Mapping[str, str | bytes] | None = None,
        **kwargs: Any,
    ) -> Path:
        return write_project(tmp_path, datasets, specs, files, **kwargs)

    return factory


@pytest.fixture
def cx_tmp(tmp_path: Path) -> Path:
    """A folder for a test's data files and projects (the test's tmp_path)."""
    return tmp_path


# -------------------------------------------------------------------------- types


def check_types(package: str, folder: Path, *, timeout: float = 600) -> None:
    """Run mypy on `package` (a folder in `folder`) against the cxengine imported here.

    mypy reads `folder`'s own configuration (pyproject.toml). An editable install is
    found through an import hook mypy does not follow, so MYPYPATH names the folder that
    holds the cxengine package actually imported: the plugin is checked against the API
    it runs with. The incremental cache lives outside the checkout and is keyed by both
    folders; mypy re-checks whatever changed, so no result is stale. Skips when mypy is
    not installed; fails with mypy's report otherwise.
    """
    import hashlib
    import os
    import subprocess
    import sys
    import tempfile

    pytest.importorskip("mypy", reason="mypy is a test dependency: pip install mypy")
    import cxengine

    core = Path(cxengine.__file__).resolve().parent.parent
    key = hashlib.sha1(f"{folder.resolve()}|{core}".encode()).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"cxengine-mypy-{package}-{key}"
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache), package],
        cwd=folder,
        env={**os.environ, "MYPYPATH": str(core)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"mypy found problems in {package}:\n{proc.stdout}{proc.stderr}"
