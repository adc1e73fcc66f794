"""The `weights:` block of a survey spec (share, nps, mean).

```yaml
weights:
  by: [segment]                  # one field: post-stratification; several: raking
  population: invitations        # margins counted from this dataset's rows …
  margins:                       # … or given as numbers (counts, shares or percentages)
    segment: {smb: 60, mid: 30, enterprise: 10}
  trim: {max: 5}                 # cap weights at 5× the mean weight (min: floor)
```
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from cxengine.spec.models import Scalar, StrictModel
from cxengine.weighting.calibrate import margin_shares


class TrimSpec(StrictModel):
    """Bounds on weights, as multiples of the mean weight."""

    max: float | None = Field(None, gt=1, description="cap: at most this many times the mean")
    min: float | None = Field(
        None, gt=0, lt=1, description="floor: at least this share of the mean"
    )


class WeightsSpec(StrictModel):
    """How a survey's answers are weighted to represent a population."""

    by: list[str] = Field(
        min_length=1, description="weighting fields: one = post-stratification, several = raking"
    )
    population: str | None = Field(
        None, description="dataset whose rows are the population (invitations, customers)"
    )
    margins: dict[str, dict[Scalar, float]] | None = Field(
        None, description="population counts or shares per value of each `by` field"
    )
    trim: TrimSpec | None = Field(None, description="cap (and floor) extreme weights")
    max_iterations: int = Field(100, ge=1, le=10_000, description="raking iterations")

    @model_validator(mode="before")
    @classmethod
    def _one_field(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("by"), str):
            return {**data, "by": [data["by"]]}
        return data

    @model_validator(mode="after")
    def _one_source(self) -> WeightsSpec:
        if (self.population is None) == (self.margins is None):
            raise ValueError(
                "give the population margins as `population: <dataset>` or as "
                "`margins:` numbers, exactly one of them"
            )
        if len(set(self.by)) != len(self.by):
            raise ValueError("a weighting field is listed twice in `by`")
        if self.margins is not None:
            missing = [f for f in self.by if f not in self.margins]
            extra = [f for f in self.margins if f not in self.by]
            if missing:
                raise ValueError(f"`margins` has no entry for {missing[0]!r}")
            if extra:
                raise ValueError(f"`margins` has {extra[0]!r}, which is not in `by`")
            _, messages = margin_shares(self.margins)
            errors = [m.message for m in messages if m.severity == "error"]
            if errors:
                raise ValueError("; ".join(errors))
        return self

    def margin_texts(self) -> dict[str, dict[str, float]]:
        """Return the given margins keyed by the text DuckDB gives each value."""
        assert self.margins is not None
        return {f: {value_text(k): v for k, v in m.items()} for f, m in self.margins.items()}


def value_text(value: Any) -> str:
    """Return a value as DuckDB's CAST(… AS VARCHAR) writes it (cells are matched as text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
