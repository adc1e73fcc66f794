"""The spec keys of the customer-base kinds (`retention`, `churn`) and their column names.

Shared by customer_base.py (windows and counts) and customer_runs.py (building
relationships from events), which therefore need not import each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from cxengine.spec.models import MetricSpec

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp

TIME_TYPES = ("date", "datetime")
#: Columns of the table that `prepare` builds from activity events.
SPELL_START = "_cx_spell_start"
SPELL_END = "_cx_spell_end"


class CustomerBaseSpec(MetricSpec):
    """Keys shared by the customer-base kinds (retention, churn)."""

    start: str | None = Field(
        None, description="customers dataset: when the customer joined (date or datetime)"
    )
    end: str | None = Field(
        None, description="customers dataset: when the customer left; empty while a customer"
    )
    activity: str | None = Field(
        None, description="activity events instead: the time of each event (order, login, …)"
    )
    customer: str | None = Field(
        None,
        description="the customer id: required with activity events; with a customers "
        "dataset, rows of one customer are merged so that each counts once",
    )
    inactive_after_days: float | None = Field(
        None,
        gt=0,
        description="activity events: days without activity after which a customer is lost",
    )

    @model_validator(mode="after")
    def _one_source_of_dates(self) -> CustomerBaseSpec:
        if self.activity is None:
            if self.start is None:
                raise ValueError(
                    "give `start` (and `end`) from a customers dataset, or `activity`, "
                    "`customer` and `inactive_after_days` from activity events"
                )
            if self.inactive_after_days is not None:
                raise ValueError("`inactive_after_days` only applies with `activity` (events)")
        else:
            if self.start is not None or self.end is not None:
                raise ValueError("give either `start`/`end` or `activity`, not both")
            if self.customer is None or self.inactive_after_days is None:
                raise ValueError("`activity` needs `customer` and `inactive_after_days`")
        if self.time is not None:
            raise ValueError(
                "`time` is not used: periods come from the customers' start and end dates"
            )
        if self.period == "none":
            raise ValueError(
                "give a `period` (month, quarter, year, …): the rate compares the customers "
                "at the start and at the end of each period"
            )
        return self

    @model_validator(mode="after")
    def _time_needed(self) -> CustomerBaseSpec:
        # Overrides MetricSpec's rule: a period needs no `time` here, the calendar
        # windows come from the start and end dates themselves.
        return self

    @property
    def from_events(self) -> bool:
        """Return True when relationships are derived from activity events."""
        return self.activity is not None

    @property
    def prepared(self) -> bool:
        """Return True when rows are reshaped into one row per customer relationship."""
        return self.from_events or self.customer is not None

    def start_field(self) -> str:
        """Return the column holding the relationship start (after `prepare`)."""
        return SPELL_START if self.prepared else str(self.start)

    def end_field(self) -> str | None:
        """Return the column holding the relationship end, if any."""
        if self.prepared:
            return SPELL_END if self.from_events or self.end else None
        return self.end


def as_timestamp(e: exp.Expression) -> exp.Expression:
    """Return `CAST(e AS TIMESTAMP)`: dates and datetimes compare as timestamps."""
    return exp.Cast(this=e, to=exp.DataType.build("TIMESTAMP"))
