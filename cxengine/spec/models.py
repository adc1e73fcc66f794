"""The metric spec: the keys every kind shares, and the building blocks kinds reuse.

Each aggregation kind subclasses `MetricSpec` with its own keys, so one pydantic
model per kind validates a whole spec, and the JSON Schema printed by
`cxengine schema` comes from these same models.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cxengine.bands import Band

PERIODS = ("day", "week", "month", "quarter", "year", "none")
Period = Literal["day", "week", "month", "quarter", "year", "none"]
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"

Scalar = Annotated[str | int | float | bool, Field(union_mode="left_to_right")]


class StrictModel(BaseModel):
    """A model that refuses unknown keys, so typos are reported, not ignored.

    It refuses NaN and infinity too: YAML reads `.nan` and `.inf` as numbers, and a
    bound of NaN would be a check that can never fail.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Bounds(StrictModel):
    """Warn and fail bounds for a value (any of the four may be set)."""

    warn_below: float | None = None
    fail_below: float | None = None
    warn_above: float | None = None
    fail_above: float | None = None


class Target(Bounds):
    """Targets for the metric, optionally different per slice value."""

    slices: dict[str, dict[str, Bounds]] = Field(
        default_factory=dict,
        description="per slice field and value, e.g. {channel: {phone: {fail_above: 4}}}",
    )


class Regression(StrictModel):
    """When a change against the baseline fails the build."""

    max_drop: float = Field(
        0, ge=0, description="largest tolerated drop, in the metric's own units"
    )
    confidence: float = Field(0.95, gt=0.5, lt=1, description="confidence the drop is real")
    direction: Literal["higher_is_better", "lower_is_better"] | None = Field(
        None, description="default: the kind's natural direction"
    )
    min_n: int | None = Field(None, ge=1, description="fewer answers than this: inconclusive")
    compare: Literal["baseline", "previous_period"] = "baseline"


class Range(StrictModel):
    """An inclusive numeric range: {min: 4} or {min: 4, max: 5}."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class Scale(StrictModel):
    """The answer scale, e.g. 1–5; answers outside it are excluded and reported."""

    min: float
    max: float

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        # `scale: [1, 5]` is shorthand for `scale: {min: 1, max: 5}`.
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError("a scale is [min, max]")
            return {"min": value[0], "max": value[1]}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.min >= self.max:
            raise ValueError(f"scale min {self.min} must be below max {self.max}")
        return self


class MetricSpec(StrictModel):
    """Keys every metric spec has, whatever its kind."""

    name: str = Field(
        pattern=NAME_PATTERN, description="identifier: lower case, digits, underscores"
    )
    kind: str = Field(description="aggregation kind: share, mean, nps, count, …")
    dataset: str = Field(description="dataset name from cxengine.yaml")
    title: str | None = Field(None, description="human title")
    description: str | None = Field(None, description="what the metric means and how to read it")
    where: str | None = Field(None, description="filter: a whitelisted SQL expression over fields")
    by: list[str] = Field(
        default_factory=list,
        description="slice fields; the overall value is always computed. An entry "
        "{field: frt_min, bands: [0, 5, 30]} slices by bands of a number (cxengine/bands.py)",
    )
    bands: dict[str, Band] = Field(
        default_factory=dict,
        description="filled from band entries of `by`, keyed by their slice name",
    )
    period: Period = Field(
        "none", description="time grain: day, week, month, quarter, year or none"
    )
    time: str | None = Field(
        None, description="datetime or date field that places a row in a period"
    )
    min_n: int | None = Field(None, ge=1, description="below this n a value is flagged low sample")
    confidence: float | None = Field(
        None, gt=0.5, lt=1, description="confidence level of intervals"
    )
    unit: str | None = Field(None, description="unit shown with values (%, points, s, …)")
    target: Target | None = None
    regression: Regression | None = None
    tags: list[str] = Field(default_factory=list)

    @field_validator("by", mode="before")
    @classmethod
    def _by_one(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _split_bands(cls, data: Any) -> Any:
        # `by: [{field: frt_min, bands: [...]}]` slices by `frt_min_band`: the rest of
        # the engine sees a plain slice name, the band lives in `bands`.
        if not isinstance(data, dict):
            return data
        by = data.get("by")
        if isinstance(by, dict):
            by = [by]
        if isinstance(by, list) and any(isinstance(e, dict) for e in by):
            names, bands = [], dict(data.get("bands") or {})
            for entry in by:
                if isinstance(entry, dict):
                    band = Band.model_validate(entry)
                    names.append(band.slice_name)
                    bands[band.slice_name] = band
                else:
                    names.append(entry)
            data = {**data, "by": names, "bands": bands}
        return data

    def band_source_fields(self) -> list[str]:
        """Return the numeric fields that band slices read."""
        return [b.field for b in self.bands.values()]

    @model_validator(mode="after")
    def _time_needed(self) -> MetricSpec:
        if self.period != "none" and not self.time:
            raise ValueError(
                f"period {self.period!r} needs a `time` field to place rows in periods"
            )
        return self

    def grouping_fields(self) -> list[str]:
        """Return every field the spec groups or filters on, apart from its kind's own."""
        return [*self.by, *([self.time] if self.time else [])]
