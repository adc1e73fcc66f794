"""Text the embedded loader reads beyond plain ISO: the engine must read it alike.

Detected date formats (31.12.2024, with or without seconds or a time), ISO text with
a UTC offset (converted into the field's zone), integers up to the 19 digits of a
BIGINT (and one past it, rejected), padded and signed integers. Every value and every
reject must equal the embedded run's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_data import (
    assert_same_datasets,
    assert_same_values,
    on_postgres,
    project_on_files,
    reject_counts,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cxengine.config import load_config
from cxengine.runner import run_project

FIELDS = """
id: string
at: datetime
stamp: {type: datetime, timezone: Europe/Moscow}
big: integer
"""

SPECS = {
    "by_at": """
        name: by_at
        kind: count
        dataset: responses
        field: id
        period: day
        time: at
    """,
    "by_stamp": """
        name: by_stamp
        kind: count
        dataset: responses
        field: id
        period: day
        time: stamp
    """,
    "small": """
        name: small
        kind: share
        dataset: responses
        field: big
        scale: [0, 100]
        positive: [17, 42]
        period: none
    """,
}

HAND = """
id,at,stamp,big
f1,03.04.2024 10:15:00,2024-04-03T10:15:00+03:00,9223372036854775807
f2,4.4.2024 9:05:00,2024-04-03 23:30:00Z,-9223372036854775808
f3,31.04.2024 10:00:00,2024-04-30 22:00:00 -05,9223372036854775808
f4,29.02.2024 00:00:00,2024-04-01T00:00:00+0530,0000000000000000000042
f5,29.02.2023 00:00:00,2024-13-01 00:00:00+03:00,12345678901234567890
f6,15.05.2024,2024-05-01 12:00:00,+17
f7,x,not a time,1.0
f8,01.06.2024 23:59,2024-06-30T21:00:00.5+00:00," 5 "
"""


@pytest.fixture
def pg(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CX_TEST_PG_DSN", postgres_dsn)
    return postgres_dsn


def both(tmp_path: Path, dsn: str, csv_text: str) -> tuple[object, object]:
    files = project_on_files(tmp_path / "files", csv_text, FIELDS, SPECS)
    engine = on_postgres(files, dsn, tmp_path / "pg")
    return (
        run_project(load_config(files), store=False),
        run_project(load_config(engine), store=False),
    )


def test_formats_offsets_and_wide_integers_read_alike(tmp_path: Path, pg: str) -> None:
    embedded, pushed = both(tmp_path, pg, HAND)
    assert assert_same_values(embedded, pushed) >= 10  # type: ignore[arg-type]
    assert_same_datasets(embedded, pushed)  # type: ignore[arg-type]
    assert reject_counts(pushed) == reject_counts(embedded)  # type: ignore[arg-type]
    stats = pushed.datasets["responses"]  # type: ignore[attr-defined]
    # 31 April, 29 February 2023, 'x'; 13th month, 'not a time'; 2^63, 20 digits.
    assert stats.cells_rejected == {"at": 3, "stamp": 2, "big": 2}
    days = {str(v.period) for v in pushed.values if v.metric == "by_stamp" and v.n}  # type: ignore[attr-defined]
    # 23:30Z is 02:30 the next day in Moscow; 21:00:00.5Z on 30 June is 1 July there.
    assert {"2024-04-04", "2024-07-01", "2024-03-31"} <= days


DAY = st.dates(min_value=__import__("datetime").date(2023, 1, 1),
               max_value=__import__("datetime").date(2025, 12, 31))  # fmt: skip


def _text(day: object, hour: int, minute: int, style: int, offset: int) -> tuple[str, str]:
    d = day  # a datetime.date
    dotted = [
        f"{d:%d.%m.%Y} {hour:02d}:{minute:02d}:00",
        f"{d:%d.%m.%Y} {hour}:{minute:02d}",
        f"{d:%d.%m.%Y}",
        f"{d.day}.{d.month}.{d.year} {hour:02d}:{minute:02d}:00",
    ]  # type: ignore[attr-defined]
    sign = "+" if offset >= 0 else "-"
    zone = f"{sign}{abs(offset):02d}:00" if style % 2 else f"{sign}{abs(offset):02d}"
    iso = f"{d:%Y-%m-%d}T{hour:02d}:{minute:02d}:00{zone if style % 3 else 'Z'}"  # type: ignore[attr-defined]
    return dotted[style % 4], iso


ROW = st.tuples(DAY, st.integers(0, 23), st.integers(0, 59), st.integers(0, 11),
                st.integers(-11, 12), st.integers(-(2**63), 2**63 + 5))  # fmt: skip


@settings(
    max_examples=6, deadline=None, derandomize=True, phases=[Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(rows=st.lists(ROW, min_size=1, max_size=40))
def test_random_formatted_texts_read_alike(
    rows: list[tuple[object, int, int, int, int, int]],
    tmp_path_factory: pytest.TempPathFactory,
    pg: str,
) -> None:
    lines = ["id,at,stamp,big"]
    for i, (day, hour, minute, style, offset, big) in enumerate(rows):
        dotted, iso = _text(day, hour, minute, style, offset)
        lines.append(f"r{i},{dotted},{iso},{big}")
    embedded, pushed = both(tmp_path_factory.mktemp("fmt"), pg, "\n".join(lines) + "\n")
    assert_same_values(embedded, pushed)  # type: ignore[arg-type]
    assert_same_datasets(embedded, pushed)  # type: ignore[arg-type]


DST_FIELDS = """
id: string
opened: {type: datetime, timezone: Europe/Berlin}
replied: {type: datetime, timezone: Europe/Berlin}
day: {type: date, timezone: Europe/Berlin}
"""
DST_SPECS = {
    "reply": """
        name: reply
        kind: duration
        dataset: responses
        from_field: opened
        to_field: replied
        unit: min
        statistic: mean
        period: day
        time: opened
    """,
    "by_day": """
        name: by_day
        kind: count
        dataset: responses
        field: id
        period: day
        time: day
    """,
}
# Around the October 2024 change in Berlin (03:00 CEST -> 02:00 CET on the 27th):
# durations are elapsed time between instants, days are cut on the Berlin clock.
DST = """
id,opened,replied,day
d1,2024-10-27 01:30:00,2024-10-27 03:10:00,2024-10-27
d2,2024-10-27T00:30:00Z,2024-10-27T01:10:00Z,2024-10-26
d3,2024-10-26 23:50:00,2024-10-27 00:20:00+01:00,2024-10-27
d4,2024-03-31 01:59:00,2024-03-31 03:01:00,2024-03-31
d5,2024-10-26T22:30:00Z,2024-10-27 00:10:00,2024-10-28
"""


def test_instants_and_local_days_across_dst_read_alike(tmp_path: Path, pg: str) -> None:
    files = project_on_files(tmp_path / "files", DST, DST_FIELDS, DST_SPECS)
    engine = on_postgres(files, pg, tmp_path / "pg")
    embedded = run_project(load_config(files), store=False)
    pushed = run_project(load_config(engine), store=False)
    assert assert_same_values(embedded, pushed) >= 6
    assert_same_datasets(embedded, pushed)
    # Elapsed minutes: 160 across the autumn change (01:30 CEST -> 03:10 CET), 40, 90,
    # 2 across the spring change (01:59 CET -> 03:01 CEST); d5 replied before it opened.
    overall = next(v for v in pushed.values if v.metric == "reply" and v.period is None)
    assert (overall.n, overall.excluded, overall.value) == (4, 1, 73.0)


# The end of a day written as 24:00 (DuckDB: the next day's midnight), with and
# without an offset, however its zeros are written; not with seconds past it, nor on
# a day that does not exist. 9999-12-31 24:00 in Berlin is 23:00 UTC that day: kept;
# 0001-01-01 00:30 in Berlin is in year 0 UTC: a reject, as past 9999.
MIDNIGHT = """
id,opened,replied,day
m1,2025-01-31 23:00:00,2025-01-31 24:00:00,2025-01-31 24:00
m2,2025-12-31 22:00,2025-12-31T24:00:00Z,2025-12-31
m3,2025-02-28 10:00,2025-02-28 24:00:00+02:00,2025-02-28
m4,2025-03-01 00:00,2025-03-01 24:00:00.000,2025-03-01
m5,2025-03-01 00:00,2025-03-01 24:00:01,2025-03-01
m6,2025-03-01 00:00,2025-02-29 24:00,2025-03-01
m7,2025-03-01 00:00,9999-12-31 24:00,2025-03-01
m8,2025-1-5 24:0,2025-1-6 24:00:0,2025-01-07 24:00:00
m9,0001-01-01 00:30,2025-03-01 00:00,2025-03-01
m10,2025-03-01 00:00,9999-12-31T24:00:00-01:00,2025-03-01
"""


def test_midnight_written_as_24_00_reads_alike(tmp_path: Path, pg: str) -> None:
    files = project_on_files(tmp_path / "files", MIDNIGHT, DST_FIELDS, DST_SPECS)
    engine = on_postgres(files, pg, tmp_path / "pg")
    embedded = run_project(load_config(files), store=False)
    pushed = run_project(load_config(engine), store=False)
    assert assert_same_values(embedded, pushed) >= 6
    assert_same_datasets(embedded, pushed)
    assert reject_counts(pushed) == reject_counts(embedded)
    assert pushed.datasets["responses"].cells_rejected == {"opened": 1, "replied": 3}


# Number texts past a double's range: no finite number above it (a reject of the
# field, as in the embedded loader) and 0 below (PostgreSQL's own cast fails the whole
# query on either); around both boundaries, the exact rounding; any length of exponent
# or of digits.
NUMBERS = """
id,x
n1,1e400
n2,-1e309
n3,1e-400
n4,1.7976931348623157e308
n5,1.7976931348623159e308
n6,2.4703282292062327e-324
n7,2.4703282292062328e-324
n8,0e999
n9,1e0000000000000000000002
n10,0.00001e305
n11,1234567890123456789012345678901234567890
n12,42
n13,1e99999999999
n14,"7,5"
"""


def test_numbers_past_the_range_of_a_double_read_alike(tmp_path: Path, pg: str) -> None:
    specs = {
        "big": """
            name: big
            kind: share
            dataset: responses
            field: x
            scale: [-1000, 1000]
            positive: [42, 100]
            period: none
        """
    }
    files = project_on_files(tmp_path / "files", NUMBERS, "id: string\nx: number\n", specs)
    engine = on_postgres(files, pg, tmp_path / "pg")
    embedded = run_project(load_config(files), store=False)
    pushed = run_project(load_config(engine), store=False)
    assert not pushed.failed and not embedded.failed
    assert assert_same_values(embedded, pushed) == 1
    assert_same_datasets(embedded, pushed)
    assert reject_counts(pushed) == reject_counts(embedded)
    (value,) = pushed.values
    # Rejects of the field: the three texts past a double's range, 1.797…9e308 (it
    # rounds past it) and "7,5" (not a number with a decimal point). Out of the scale:
    # 1.797…7e308, 1e300 and 1.2e39. The other six count, two of them (42, 1e2) positive.
    assert (value.n, value.excluded) == (6, 3)
    assert value.value == pytest.approx(100 / 3)
    assert pushed.datasets["responses"].cells_rejected == {"x": 5}
