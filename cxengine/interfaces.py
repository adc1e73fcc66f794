"""What a plugin provides: sources, aggregation kinds, reporters and enrichers.

These are structural protocols: a plugin implements the attributes and methods, it
does not need to inherit from anything here. The dataclasses are what cxengine hands
to plugins and what it expects back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from pydantic import BaseModel
    from sqlglot import exp

    from cxengine.compute.stats import Alternative, NoTest, TestResult
    from cxengine.spec.models import MetricSpec


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Reject:
    """One input row (or one value of it) that could not be used, and why."""

    dataset: str
    locator: str  # "data/survey.csv:17" (file and line), "tickets.jsonl:3", "key=42"
    reason: str
    field: str | None = None
    value: str | None = None
    metric: str | None = None  # set when only one metric excluded the value


@dataclass(frozen=True)
class SourceContext:
    """What a source is told about the dataset it must open."""

    dataset: str
    options: Mapping[str, Any]  # the source's options from cxengine.yaml, validated
    base_dir: Path  # relative paths in options resolve against the config's folder
    #: Folders outside base_dir that files may be read from (`allow_paths:`, --allow-path).
    allowed_paths: tuple[Path, ...] = ()

    def resolve(self, path: str | Path) -> Path:
        """Resolve a path option against the project folder (no checks: see input_file)."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def input_file(self, path: str | Path) -> Path:
        """Resolve a path option to a file this source may read; raise DataError if not.

        The file must lie inside the project folder or a folder listed under
        `allow_paths:` (after `..` and symlinks), exist, be a regular file (a FIFO or a
        device would hang the run) and be readable. Every source reading a file should
        open it through this, so a spec or config from elsewhere cannot make any source
        read, and echo into rejects, a file outside the project.
        """
        from cxengine.dataset.files import input_file

        return input_file(self, path)


@dataclass
class SourceData:
    """What a source returns: the rows, in one of three shapes, plus how to locate them.

    Give exactly one of ``relation`` (a function building a DuckDB relation: what the
    built-in file readers use), ``arrow`` (a pyarrow Table or RecordBatchReader) or
    ``rows`` (any iterable of mappings, consumed lazily in batches: the simplest shape
    for a third-party plugin).
    """

    relation: Callable[[duckdb.DuckDBPyConnection], duckdb.DuckDBPyRelation] | None = None
    arrow: pa.Table | pa.RecordBatchReader | None = None
    rows: Iterable[Mapping[str, Any]] | None = None
    #: Human description of where the rows come from ("data/survey.csv").
    origin: str = ""
    #: Turn 0-based row indexes into locators ("survey.csv:18"); default "origin:row N".
    locate: Callable[[Sequence[int]], Mapping[int, str]] | None = None
    #: Called after the rows were loaded: rows the reader itself could not parse.
    malformed: Callable[[duckdb.DuckDBPyConnection], list[Reject]] | None = None
    #: Called after the rows were loaded: values the source itself could not convert
    #: (a survey label with no score). Each names its ``field``; the source gave the
    #: row with that field empty (None), and the row is used, as with cxengine's own
    #: field typing.
    cell_rejects: Callable[[], list[Reject]] | None = None
    #: Stable fingerprint of the input (content hash); None lets cxengine hash rows.
    fingerprint: Callable[[], str] | None = None
    #: Source columns that already carry a type the source guarantees (Arrow, SQLite).
    typed: bool = False
    #: Told how many rows cxengine loaded, before `locate` is first called: a source
    #: can then check cheaply that its rows and its input's lines correspond.
    rows_loaded: Callable[[int], None] | None = None


@runtime_checkable
class Source(Protocol):
    """A data source plugin: reads a dataset described in cxengine.yaml."""

    name: str
    description: str
    #: pydantic model of the options the dataset entry may set (path, delimiter, …).
    options_model: type[BaseModel]

    def open(self, context: SourceContext) -> SourceData:
        """Open the dataset and describe its rows."""
        ...


@runtime_checkable
class ReadsFiles(Protocol):
    """A source whose rows come only from files it can name before reading them.

    `cxengine run` reuses a stored run when nothing it depends on changed
    (cxengine/run_cache.py); for a dataset that means its files. A source without
    this method (a database, an API) is never assumed unchanged, so runs that read
    it are always recomputed. Return every file `open` would read, resolved and
    checked like `open` does (raising where `open` would raise).
    """

    def input_files(self, context: SourceContext) -> Sequence[Path]:
        """Return the files the dataset's rows are read from."""
        ...


# ---------------------------------------------------------------------- aggregations


@dataclass(frozen=True)
class Estimate:
    """A metric value with its sample size and confidence interval."""

    value: float | None
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    note: str | None = None  # why value is empty, e.g. "division by zero"


@dataclass(frozen=True)
class CompileContext:
    """What an aggregation gets when it compiles a spec into SQL expressions."""

    spec: MetricSpec
    column: Callable[[str], exp.Expression]  # quoted column reference for a field name
    field_types: Mapping[str, str]  # field -> cxengine type (integer, number, datetime, …)
    #: Calendar kinds only: the start (inclusive) and end (exclusive) of the row's window.
    window_start: exp.Expression | None = None
    window_end: exp.Expression | None = None
    #: IANA zone of each datetime field (absent: UTC). Stored values are instants
    #: (naive UTC): read the wall clock with cxengine.compute.periods.local_time.
    field_zones: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Exclusion:
    """Values of a field that a spec must not use (out of scale, negative duration, …).

    The engine nulls the field where ``predicate`` is true (so counts skip it), counts
    those rows as excluded, and stores each as a reject with ``reason``.
    """

    field: str
    predicate: exp.Expression
    reason: str


@runtime_checkable
class Kind(Protocol):
    """A metric kind (share, mean, nps, …): how to count and how to estimate.

    The engine builds one grouped query per spec: ``counts`` gives the aggregate
    expressions (raw counts, sums) evaluated per period × slice and for every
    roll-up, so roll-ups are recomputed from counts, never averaged.
    ``estimate`` turns one group's counts into a value with an interval.

    What else a kind can do is declared by the capability protocols below
    (`CalendarKind`, `CategoricalKind`, `PreparedKind`, `DerivedKind`, `PooledKind`,
    `ComparableKind`, …). The engine asks ``isinstance(kind, CalendarKind)`` and reads
    nothing of a kind that no protocol here declares (tests/test_contracts.py).
    """

    name: str
    description: str
    #: pydantic model of a whole spec of this kind (subclass of MetricSpec).
    spec_model: type[MetricSpec]
    #: True when a higher value is better (CSAT); False for durations, churn.
    higher_is_better: bool

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        """Return the fields the spec reads, each with the field types it accepts (empty: any)."""
        ...

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        """Return the values to exclude from the metric, with the reason."""
        ...

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        """Return named aggregate expressions over the usable rows (must include 'n').

        Stored counts are numbers only: list or map aggregates (order statistics, a
        histogram) are handed to `estimate` but not stored.
        """
        ...

    def estimate(
        self, spec: MetricSpec, counts: Mapping[str, float | None]
    ) -> Estimate | Mapping[str, Estimate]:
        """Return the value and interval for one group's counts.

        A kind with one value per category (a `CategoricalKind`, such as
        ``distribution``) returns a mapping of category to estimate.
        """
        ...


#: The name this protocol had before 0.2; kept so existing plugins keep working.
Aggregation = Kind


@runtime_checkable
class CalendarKind(Protocol):
    """A kind that counts rows against time windows (backlog, retention, churn).

    Rather than placing each row in one period, the engine derives windows from the
    range of ``calendar_fields(spec)`` (datetime fields): one per period of the spec's
    grain plus one for the whole range, and joins every row with every window; the
    compile context then carries ``window_start`` and ``window_end``. A window (×
    slice) left without rows gets the kind's estimate of empty counts (every count
    None), so a backlog of nothing is a 0, not a missing value.
    """

    def calendar_fields(self, spec: MetricSpec) -> list[str]:
        """Return the datetime fields whose range the windows cover."""
        ...

    def calendar_join(self, spec: MetricSpec, ctx: CompileContext) -> exp.Expression | None:
        """Return a condition that limits the row × window join (for speed), or None."""
        ...


@runtime_checkable
class PooledKind(Protocol):
    """A calendar kind whose all-periods value pools its periods' counts (churn).

    When ``pool_periods`` is true, the all-periods value of every slice is the
    estimate of the summed counts of its periods, not of the whole-range window
    (cxengine/compute/pooled.py says why).
    """

    pool_periods: bool


@runtime_checkable
class CategoricalKind(Protocol):
    """A kind with one value per category (``distribution``): `estimate` returns a mapping."""

    def category_key(self, spec: MetricSpec) -> str:
        """Return the slice key each category's value is stored under."""
        ...


@runtime_checkable
class FillsAbsentCategories(Protocol):
    """A categorical kind whose absent categories have a value: 0 of n.

    Every group then lists every category seen in any group.
    """

    def absent_category(self, spec: MetricSpec, counts: Mapping[str, Any]) -> Estimate:
        """Return the estimate of a category this group's counts lack."""
        ...


@runtime_checkable
class CategoryCounts(Protocol):
    """A categorical kind that stores each category's own counts (n and positive).

    So a baseline can test each category on its own; without it every category's
    value stores the group's numeric counts.
    """

    def category_counts(
        self, spec: MetricSpec, counts: Mapping[str, Any], category: Any
    ) -> Mapping[str, float | int | None]:
        """Return the counts stored with one category's value."""
        ...


@runtime_checkable
class PreparedKind(Protocol):
    """A kind that counts entities built from the rows (customer runs, buyers).

    ``prepare`` returns a query over ``source`` (the filtered rows without the kind's
    exclusions, as a SELECT); it must carry ``_cx_row`` (a representative source row)
    and the slice fields. The engine materialises it and computes the spec over it,
    reading ``prepared_fields(spec)`` instead of ``fields(spec)``. None: no reshaping
    for this spec.
    """

    def prepare(self, spec: MetricSpec, source: exp.Select) -> exp.Select | None:
        """Return the query building the kind's own table, or None."""
        ...

    def prepared_fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        """Return the fields the counts read from the prepared table."""
        ...


@runtime_checkable
class DerivedKind(Protocol):
    """A kind computed from other metrics' values per period and slice (``formula``).

    It has no dataset of its own: the runner computes the metrics it depends on first.
    """

    def depends_on(self, spec: MetricSpec) -> list[str]:
        """Return the names of the metrics the spec uses."""
        ...

    def combine(self, spec: MetricSpec, inputs: Mapping[str, Any]) -> Estimate:
        """Return the value for one period × slice; `inputs` maps name to its MetricValue."""
        ...


@runtime_checkable
class ChecksInputs(Protocol):
    """A derived kind that reports problems with the specs it uses, at validation."""

    def check_inputs(
        self, spec: MetricSpec, inputs: Mapping[str, MetricSpec]
    ) -> list[tuple[str, str]]:
        """Return (severity, message) pairs, e.g. inputs whose periods cannot line up."""
        ...


@runtime_checkable
class DerivedCounts(Protocol):
    """A derived kind that stores more than its inputs' values as its counts.

    A formula keeps each input's standard error, which its significance test needs.
    """

    def derived_counts(
        self, spec: MetricSpec, inputs: Mapping[str, Any]
    ) -> Mapping[str, float | int | None]:
        """Return the counts stored with a derived value."""
        ...


@runtime_checkable
class ComparableKind(Protocol):
    """A kind that tests whether two of its values differ: what the gate runs.

    Each kind owns its significance test (cxengine/compute/comparisons.py has the
    usual ones: proportions, means, NPS, event counts). ``baseline`` and ``current``
    are the stored counts of the two values; ``alternative`` is "two-sided",
    "smaller" (is the current value lower?) or "larger". Return None when the counts
    do not allow a test. A kind that is not comparable gets `inconclusive`.
    """

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | int | None],
        current: Mapping[str, float | int | None],
        alternative: Alternative,
    ) -> TestResult | NoTest | None:
        """Return the test's result, or why there is none."""
        ...


#: Every capability protocol of a kind, for documentation and the contract test.
KIND_CONTRACTS: tuple[type, ...] = (
    Kind,
    CalendarKind,
    PooledKind,
    CategoricalKind,
    FillsAbsentCategories,
    CategoryCounts,
    PreparedKind,
    DerivedKind,
    ChecksInputs,
    DerivedCounts,
    ComparableKind,
)


# ------------------------------------------------------------------------- reporters


@runtime_checkable
class Reporter(Protocol):
    """An output format for a finished run (terminal table, JSON, JUnit, …)."""

    name: str
    description: str

    def render(self, result: Any, *, color: bool = False) -> str:
        """Render a run result as text."""
        ...


# ------------------------------------------------------------------------- enrichers


@dataclass(frozen=True)
class EnrichRequest:
    """Texts to tag: parallel sequences of keys and texts, and the enricher options.

    `scores` (added for learning from scores; None by default, so enrichers written
    before it are unaffected) is set only in the request given to the optional
    `learn` capability: the `comments.learn_from` value of each comment's row, None
    where the row has none. `enrich` never receives scores: its tags are cached per
    text, so they must not depend on the row a text came from.
    """

    dataset: str
    keys: Sequence[str]
    texts: Sequence[str]
    options: Mapping[str, Any] = field(default_factory=dict)
    scores: Sequence[Any] | None = None


@runtime_checkable
class Enricher(Protocol):
    """Reads a text field and returns tags per text (the NLP plugin is one)."""

    name: str
    description: str

    def version(self, options: Mapping[str, Any]) -> str:
        """Return a version string; cached tags are reused only for the same version."""
        ...

    def enrich(self, request: EnrichRequest) -> list[dict[str, Any]]:
        """Return one JSON-serialisable dict of tags per text, in order.

        Standard keys (all optional): ``language`` (str), ``themes`` (list of theme
        ids), ``sentiment`` (float, −1…1), ``label`` (str), ``theme_sentiment``
        (theme id → float), ``lexicon_version``, ``taxonomy_version`` (str). Other
        keys are stored as JSON in ``comment_tags.extra``.
        """
        ...


# Optional capabilities an enricher may add (looked up with getattr):
#
#   themes(options) -> Sequence[str]
#       Every theme id it can return. The host then adds a boolean column
#       `<field>_theme_<id>` and a number column `<field>_theme_<id>_sentiment` per theme.
#   validate(options) -> list[Problem]
#       Problems with its options (bad taxonomy file, unknown key), reported by
#       `cxengine validate`; a Problem without a file is placed at the `comments:` block.
#   learn(request: EnrichRequest) -> Mapping[str, Any]
#       Called once per run and field, before any `enrich`, when the dataset declares
#       `comments.learn_from`: the request holds every non-empty comment with its
#       score (`request.scores`). Returns {"version": str} — appended to the enricher's
#       version, so it must identify what was learned (e.g. a hash of the training
#       texts and labels): tags are cached per text and version — and optionally
#       "summary" (one line for `run`'s output) and "details" (JSON, kept in the run's
#       enrichment report). The `enrich` requests that follow carry that version as
#       `options["learned"]`, so the enricher knows which learned model tags them.
#
# The options an enricher receives are `comments.options` from cxengine.yaml plus
# `language` (comments.language), `project_dir` (the folder of cxengine.yaml, for
# relative paths), only when the project lists any, `allowed_paths` (the folders
# outside the project, from `allow_paths:` and --allow-path, that files may be read
# from: an enricher reading files of its own holds them to these, as sources do) and,
# only when the dataset declares it, `learn_from` (the
# `comments.learn_from` mapping: field, and scale and cut points when given). What
# the engine makes of the tags is described in cxengine/enrich.py.
