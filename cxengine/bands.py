"""Bands: slicing by ranges of a numeric field (first response time 0–5 min, 5–30 min, …).

```yaml
by: [channel, {field: frt_min, bands: [0, 5, 30, 120, 1440]}]
```

slices by channel and by a new field ``frt_min_band`` whose values are ``0–5 min``,
``5–30 min``, ``30–120 min``, ``120–1440 min`` and ``≥ 1440 min``. Each band includes
its lower edge and excludes its upper one; a value below the first edge falls in
``< 0 min``; an empty value has no band (an empty slice value, like any other field).
The raw field stays available to filters and kinds under its own name.

The unit shown in labels is `unit:` when given, else read from the field name's
suffix (``_min``, ``_s``, ``_h``, ``_days``), else none. Labels sort as text in the
wrong order ("120–1440" before "30–120"), so the engine orders band slices by
`band_rank`, never alphabetically.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    import duckdb
    from sqlglot import exp
else:
    from cxengine.lazy import exp

# spec.models imports this module (`by:` entries become bands), so not the reverse.
_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"

_UNIT_SUFFIXES = (
    (("_minutes", "_mins", "_min"), "min"),
    (("_seconds", "_secs", "_sec", "_s"), "s"),
    (("_hours", "_hrs", "_h"), "h"),
    (("_days", "_d"), "days"),
)


class Band(BaseModel):
    """One banded slice field."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    field: str = Field(description="the numeric field to band")
    bands: list[float] = Field(description="band edges in increasing order, e.g. [0, 5, 30]")
    unit: str | None = Field(None, description="unit in labels; default from the field's suffix")
    name: str | None = Field(
        None, pattern=_NAME_PATTERN, description="slice field name; default <field>_band"
    )

    @field_validator("bands")
    @classmethod
    def _increasing(cls, edges: list[float]) -> list[float]:
        if not edges:
            raise ValueError("give at least one band edge")
        for a, b in itertools.pairwise(edges):
            if b <= a:
                raise ValueError(f"band edges must increase: {_num(b)} follows {_num(a)}")
        return edges

    @model_validator(mode="after")
    def _default_name(self) -> Band:
        if self.name is None:
            object.__setattr__(self, "name", f"{self.field}_band")
        return self

    @property
    def slice_name(self) -> str:
        """Return the name of the slice field the band creates."""
        return self.name or f"{self.field}_band"

    def shown_unit(self) -> str:
        """Return the unit shown in labels ('' when none)."""
        if self.unit is not None:
            return self.unit
        lower = self.field.lower()
        for suffixes, unit in _UNIT_SUFFIXES:
            if lower.endswith(suffixes):
                return unit
        return ""

    def labels(self) -> list[str]:
        """Return every label in order: below the first edge, each band, the open top."""
        unit = self.shown_unit()
        tail = f" {unit}" if unit else ""
        e = self.bands
        out = [f"< {_num(e[0])}{tail}"]
        out += [f"{_num(a)}–{_num(b)}{tail}" for a, b in itertools.pairwise(e)]
        out.append(f"≥ {_num(e[-1])}{tail}")
        return out

    def expression(self, column: exp.Expression) -> exp.Expression:
        """Return a CASE expression mapping the field to its band label (NULL stays NULL)."""
        labels = self.labels()
        case = exp.Case()
        case = case.when(
            exp.LT(this=column.copy(), expression=_lit(self.bands[0])),
            exp.Literal.string(labels[0]),
        )
        for i, upper in enumerate(self.bands[1:], start=1):
            case = case.when(
                exp.LT(this=column.copy(), expression=_lit(upper)), exp.Literal.string(labels[i])
            )
        not_null = exp.Not(this=exp.Is(this=column.copy(), expression=exp.Null()))
        return case.when(not_null, exp.Literal.string(labels[-1]))


def band_rank(band: Band, label: Any) -> int:
    """Return the position of a label in the band's order (unknown labels and None last)."""
    labels = band.labels()
    return labels.index(label) if label in labels else len(labels)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _lit(x: float) -> exp.Expression:
    return exp.Literal.number(_num(x))


def banded_view(
    con: duckdb.DuckDBPyConnection,
    spec_name: str,
    bands: Mapping[str, Band],
    table: str,
    field_types: Mapping[str, str],
) -> tuple[str, dict[str, str]]:
    """Return a view of `table` with one label column per band, and the widened field types.

    Without bands, `table` and the field types come back unchanged.
    """
    types = dict(field_types)
    if not bands:
        return table, types
    cols: list[exp.Expr] = [exp.Star()]
    for name, band in bands.items():
        source = exp.column(band.field, quoted=True)
        cols.append(exp.alias_(band.expression(source), name, quoted=True))
        types[name] = "string"
    view = f"_cx_banded_{spec_name}"
    query = exp.select(*cols).from_(exp.Table(this=exp.to_identifier(table, quoted=True)))
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {exp.to_identifier(view, quoted=True).sql('duckdb')} AS "
        + query.sql(dialect="duckdb")
    )
    return view, types


def slice_order(bands: Mapping[str, Band], slice_: Mapping[str, Any]) -> tuple[int, ...]:
    """Return a sort key placing band slices in band order (0–5 before 5–30 before …)."""
    return tuple(band_rank(band, slice_.get(name)) for name, band in bands.items())
