"""The project config, `cxengine.yaml`: datasets, where specs live, the results database.

Paths in the file are relative to the file's folder, so a project can be moved or
cloned anywhere. Source options sit inline in a dataset entry (``path:``,
``delimiter:``, …) and are validated by that source's own options model.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cxengine.dataset.join_config import JoinConfig
from cxengine.errors import ConfigError, Problem, SpecError
from cxengine.yamlsafe import Positions, YamlProblems, load_file

CONFIG_NAMES = ("cxengine.yaml", "cxengine.yml")
ENV_CONFIG = "CXENGINE_CONFIG"

FieldTypeName = Literal["integer", "number", "string", "datetime", "date", "boolean"]
FIELD_TYPES: tuple[str, ...] = ("integer", "number", "string", "datetime", "date", "boolean")


def _refuse_nul(value: Any) -> Any:
    # These texts become SQL string literals, which cannot hold a NUL character.
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(t, str) and "\x00" in t for t in texts):
        raise ValueError("text must not contain NUL characters (\\0)")
    return value


class FieldConfig(BaseModel):
    """How one source column becomes a typed dataset field."""

    model_config = ConfigDict(extra="forbid")

    type: FieldTypeName = Field(description="integer, number, string, datetime, date or boolean")
    column: str | None = Field(
        None, description="source column name, when it differs from the field name"
    )
    timezone: str | None = Field(
        None,
        description="IANA zone that naive datetimes are in and periods are cut in (default UTC)",
    )
    format: str | None = Field(
        None, description="strptime format, e.g. '%d.%m.%Y %H:%M'; detected when absent"
    )
    decimal: Literal[".", ","] | None = Field(
        None, description="decimal separator; detected when absent"
    )
    true_values: list[str] | None = Field(None, description="texts read as true (boolean fields)")
    false_values: list[str] | None = Field(None, description="texts read as false (boolean fields)")
    unique: bool = Field(
        False,
        description="no two rows share a value: a later row repeating one is rejected, "
        "the first is kept",
    )

    @field_validator("format", "true_values", "false_values")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _refuse_nul(value)


class LearnFromConfig(BaseModel):
    """The score on the comment's row that an enricher may learn sentiment from.

    `scale` and the cut points are passed to the enricher, which interprets them (the
    nlp enricher: `nps` 0-6 / 7-8 / 9-10 by default, `csat` 1-2 / 3 / 4-5).
    """

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="the score field (NPS, CSAT, a rating)")
    scale: str | None = Field(None, description="nps (default) or csat")
    low: float | None = Field(None, description="lowest valid score; others are ignored")
    high: float | None = Field(None, description="highest valid score")
    negative_max: float | None = Field(None, description="scores up to this are negative")
    positive_min: float | None = Field(None, description="scores from this are positive")

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        # `learn_from: recommend` is shorthand for `learn_from: {field: recommend}`.
        return {"field": value} if isinstance(value, str) else value

    def as_options(self) -> dict[str, Any]:
        """Return the mapping an enricher receives as `options["learn_from"]`."""
        return self.model_dump(exclude_none=True)


class CommentsConfig(BaseModel):
    """A free-text field to tag with enrichers (themes, sentiment)."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="the text field")
    key: str | None = Field(
        None, description="field identifying a response; row number when absent"
    )
    language: str = Field("auto", description="language code (en, ru) or auto")
    enrichers: list[str] | None = Field(
        None, description="enricher names; all registered when absent"
    )
    options: dict[str, Any] = Field(default_factory=dict, description="options passed to enrichers")
    learn_from: LearnFromConfig | None = Field(
        None, description="score field (or {field, scale, …}) enrichers may learn sentiment from"
    )


#: Keys that describe a source's rows, meaningless for a join of two datasets.
_NOT_IN_JOINS = {"fields", "null_values", "comments"}
DATASET_KEYS = {
    "source", "join", "engine", "fields", "null_values", "comments", "description", "key",
}  # fmt: skip


class DatasetConfig(BaseModel):
    """One dataset: a source plugin, its options, and the field mapping (or a join of two)."""

    model_config = ConfigDict(extra="allow")  # extra keys are the source's own options

    source: str | None = Field(
        None, description="source plugin name: csv, jsonl, json, sqlite, parquet, …"
    )
    join: JoinConfig | None = Field(
        None, description="instead of a source: this dataset joins two others (docs/specs.md)"
    )
    engine: str | None = Field(
        None,
        description="instead of a source: the engine whose table or query holds the rows "
        "(postgres, spark, …); specs run there (docs/engines.md). Default: the embedded DuckDB",
    )
    description: str | None = None
    fields: dict[str, FieldConfig] = Field(default_factory=dict)
    null_values: list[str] = Field(
        default_factory=lambda: ["", "NA", "N/A", "n/a", "null", "NULL", "-"],
        description="texts read as empty (missing) values",
    )
    key: str | None = Field(
        None, description="field that identifies a row, used in reject locators"
    )
    comments: CommentsConfig | None = None

    @field_validator("null_values")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _refuse_nul(value)

    @field_validator("fields", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        # `recommend: integer` is shorthand for `recommend: {type: integer}`.
        if isinstance(value, dict):
            return {k: {"type": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _source_or_join(self) -> DatasetConfig:
        if self.engine not in (None, "duckdb"):
            # A dataset on an engine stays there: a table or query, not a source to read.
            if self.source is not None or self.join is not None:
                raise ValueError(
                    f"a dataset on engine {self.engine!r} reads its `table:` or `query:` "
                    "there: remove `source:`/`join:`"
                )
            return self
        if self.join is None and self.source is None:
            raise ValueError(
                "give a `source:` (csv, jsonl, …), a `join:` of two datasets or an `engine:`"
            )
        if self.join is not None:
            if self.source is not None:
                raise ValueError("a dataset has a `source:` or a `join:`, not both")
            own = sorted({*(self.model_extra or {}), *self.model_fields_set} & _NOT_IN_JOINS)
            if own:
                raise ValueError(
                    f"a joined dataset takes its fields from the datasets it joins; "
                    f"remove {', '.join(own)} (declare them on those datasets)"
                )
            if self.model_extra:
                raise ValueError(f"unknown key {sorted(self.model_extra)[0]!r} in a joined dataset")
        return self

    def source_options(self) -> dict[str, Any]:
        """Return the keys meant for the source plugin."""
        return dict(self.model_extra or {})


class ProjectModel(BaseModel):
    """The top level of cxengine.yaml."""

    model_config = ConfigDict(extra="forbid")

    database: str = Field("cx.db", description="SQLite results database (relative to this file)")
    metrics: list[str] = Field(
        default_factory=lambda: ["metric_specs"], description="spec files or folders"
    )
    datasets: dict[str, DatasetConfig] = Field(default_factory=dict)
    allow_paths: list[str] = Field(
        default_factory=list,
        description="folders outside the project that datasets may read (relative to this file)",
    )
    min_n: int = Field(30, ge=1, description="default low-sample threshold for every spec")
    confidence: float = Field(0.95, gt=0.5, lt=1, description="default confidence level")

    @field_validator("metrics", "allow_paths", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


@dataclass
class ProjectConfig:
    """A loaded project: the validated model plus where it lives."""

    path: Path
    model: ProjectModel
    positions: Positions
    text_hash: str
    extra: dict[str, Any] = field(default_factory=dict)
    #: Folders allowed on the command line (--allow-path), on top of `allow_paths:`.
    cli_allowed_paths: tuple[Path, ...] = ()

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def database_path(self) -> Path:
        return self.resolve(self.model.database)

    def resolve(self, p: str | Path) -> Path:
        """Resolve a path from the config against the config's folder."""
        path = Path(p).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def allowed_paths(self) -> tuple[Path, ...]:
        """Folders outside the project that datasets may read, resolved."""
        listed = [self.resolve(p) for p in self.model.allow_paths]
        return tuple(p.resolve() for p in (*listed, *self.cli_allowed_paths))

    def spec_paths(self) -> list[Path]:
        """Return the spec locations (files or folders) from `metrics:`."""
        return [self.resolve(p) for p in self.model.metrics]


def find_config(explicit: str | Path | None = None, start: Path | None = None) -> Path:
    """Locate cxengine.yaml: --config, then $CXENGINE_CONFIG, then this folder and parents."""
    chosen = explicit or os.environ.get(ENV_CONFIG)
    if chosen:
        p = Path(chosen).expanduser()
        if p.is_dir():
            for name in CONFIG_NAMES:
                if (p / name).is_file():
                    return p / name
            raise ConfigError(f"no cxengine.yaml in {p}")
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        return p
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in CONFIG_NAMES:
            if (folder / name).is_file():
                return folder / name
    raise ConfigError(
        "no cxengine.yaml found in this folder or its parents; "
        "run `cxengine init` to create a project or pass --config"
    )


def load_config(explicit: str | Path | None = None, start: Path | None = None) -> ProjectConfig:
    """Find, read and validate the project config; raise SpecError listing every problem."""
    path = find_config(explicit, start)
    display = _display(path)
    try:
        data, positions = load_file(path, display)
    except YamlProblems as exc:
        raise SpecError(exc.problems) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError([Problem(display, 1, "", "the config must be a mapping of keys to values")])
    clashes = name_clashes(data, positions)
    try:
        model = ProjectModel.model_validate(data)
    except ValidationError as exc:
        raise SpecError(
            problems_from_validation(exc, positions, model=ProjectModel) + clashes
        ) from None
    if clashes:
        raise SpecError(clashes)
    text_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    return ProjectConfig(path=path.resolve(), model=model, positions=positions, text_hash=text_hash)


def name_clashes(data: Mapping[str, Any], positions: Positions) -> list[Problem]:
    """Return a problem for each dataset or field name that differs from another only in case.

    SQL names ignore case (DuckDB matches `"R"` and `"r"` alike), so datasets `r` and
    `R` would share one table and fields `x` and `X` one column: the second silently
    reads the first's data. Refused here, located, rather than mangled behind the
    user's back.
    """
    problems: list[Problem] = []

    def check(names: Any, where: tuple[str | int, ...], what: str, clash: str) -> None:
        if not isinstance(names, dict):
            return
        seen: dict[str, str] = {}
        for name in names:
            if not isinstance(name, str):
                continue
            first = seen.setdefault(name.lower(), name)
            if first != name:
                problems.append(
                    positions.problem(
                        (*where, name),
                        f"{what} {name!r} differs from {what} {first!r} only in case; "
                        f"SQL names ignore case, so they would {clash}: rename one",
                    )
                )

    datasets = data.get("datasets")
    check(datasets, ("datasets",), "dataset", "share one table")
    if isinstance(datasets, dict):
        for ds, cfg in datasets.items():
            if isinstance(cfg, dict):
                check(cfg.get("fields"), ("datasets", ds, "fields"), "field", "share one column")
    return problems


def problems_from_validation(
    exc: ValidationError,
    positions: Positions,
    prefix: tuple[str | int, ...] = (),
    known: dict[tuple[str | int, ...], list[str]] | None = None,
    model: type[BaseModel] | None = None,
) -> list[Problem]:
    """Turn pydantic errors into located problems in plain words (cxengine/wording.py).

    Unknown keys get "did you mean" from `known` (key path → accepted keys) or, at
    any depth, from `model`; union branches that only say "wrong shape" beside the
    real mistake are dropped.
    """
    from cxengine.wording import choose_branches, keys_at, message, plain_key_path

    problems = []
    for err in choose_branches([dict(e) for e in exc.errors()]):
        inner = plain_key_path(err["loc"])
        loc = (*prefix, *inner)
        choices: list[str] = []
        if err["type"] == "extra_forbidden":
            choices = (known or {}).get(tuple(loc[:-1])) or keys_at(model, inner[:-1])
        problems.append(positions.problem(loc, message(err, choices)))
    return list(dict.fromkeys(problems))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
