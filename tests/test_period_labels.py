"""Period labels read back: `parse_label` is the inverse of `label`, for every grain.

`cxengine show --period` (and anything else that takes a label from a user) checks a
label with it, so what a run can store and what a user may ask for cannot drift apart.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxengine.compute.periods import GRAINS, label, parse_label, period_floor


@given(st.sampled_from(GRAINS), st.dates(min_value=date(1900, 1, 1), max_value=date(9998, 12, 1)))
def test_every_label_a_run_stores_reads_back_as_its_grain_and_first_day(
    grain: str, day: date
) -> None:
    start = period_floor(grain, day)
    assert parse_label(label(grain, start)) == (grain, start)


@pytest.mark.parametrize(
    ("text", "grain", "start"),
    [
        ("2025", "year", date(2025, 1, 1)),
        ("2025-Q3", "quarter", date(2025, 7, 1)),
        ("2025-03", "month", date(2025, 3, 1)),
        ("2025-W01", "week", date(2024, 12, 30)),  # ISO week 1 of 2025 starts in 2024
        ("2026-W53", "week", date(2026, 12, 28)),  # 2026 has 53 ISO weeks
        ("2024-02-29", "day", date(2024, 2, 29)),
    ],
)
def test_labels_read_as_the_period_they_name(text: str, grain: str, start: date) -> None:
    assert parse_label(text) == (grain, start)


@pytest.mark.parametrize(
    "text",
    [
        "2025-13", "2025-00", "2025-Q0", "2025-Q5", "2025-W00", "2025-W53", "2025-W60",
        "2025-02-30", "2025-2", "2025-W9", "02025", "+2025", "2025-", "2025-03-1",
        "2025-03-14T00", "march", "", "all-Q1", "２０２５",
    ],
)  # fmt: skip
def test_a_label_no_run_can_hold_is_refused(text: str) -> None:
    assert parse_label(text) is None
