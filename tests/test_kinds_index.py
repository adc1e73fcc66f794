"""`weighted_index` (CSI) and the `xml` source it reads the restaurant reviews with.

The index is the mean of a per-respondent score r = Σ w·x̃ / Σ w over the answered
questions; the tests check it by hand, against a plain Python computation over
random answers (skips, out-of-scale values, empty groups), and on the real
SentiRuEval-2015 reviews when ../shared/data is beside the checkout.
"""

from __future__ import annotations

import statistics
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from cxengine.compute.engine import MetricValue, compute_spec
from cxengine.config import load_config
from cxengine.default_plugins.aggregations.weighted_index import WeightedIndex
from cxengine.errors import DataError
from cxengine.runner import run_project, validate_project

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason="../shared/data is not beside this checkout"
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


TYPES = {"food": "integer", "room": "integer", "staff": "integer", "shop": "string"}


def table(rows: Sequence[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    """Make table `ds` (with `_cx_row`, as the dataset loader does) from answer dicts."""
    con = duckdb.connect()
    con.execute(
        'CREATE TABLE ds (_cx_row BIGINT, "food" BIGINT, "room" BIGINT, "staff" BIGINT, '
        '"shop" VARCHAR)'
    )
    if rows:
        data = pa.table(
            {
                "_cx_row": pa.array(range(len(rows)), pa.int64()),
                **{
                    k: pa.array([r.get(k) for r in rows], pa.int64())
                    for k in ("food", "room", "staff")
                },
                "shop": pa.array([r.get("shop") for r in rows], pa.string()),
            }
        )
        con.register("rows", data)
        con.execute("INSERT INTO ds SELECT * FROM rows")
    return con


ITEMS = [
    {"field": "food", "scale": [1, 10], "weight": 2},
    {"field": "room", "scale": [1, 10], "weight": 1},
    {"field": "staff", "scale": [1, 5], "weight": 1, "reverse": True},  # 1 = "very polite"
]


def index(rows: Sequence[dict[str, Any]], **keys: Any) -> tuple[list[MetricValue], Any]:
    spec = WeightedIndex.spec_model(
        name="csi", kind="weighted_index", dataset="d", items=keys.pop("items", ITEMS), **keys
    )
    result = compute_spec(table(rows), spec, WeightedIndex(), "ds", TYPES)
    return result.values, result


def overall(values: Sequence[MetricValue]) -> MetricValue:
    return next(v for v in values if v.period is None and not v.slice)


def test_csi_worked_example_by_hand() -> None:
    rows = [
        {"food": 10, "room": 1, "staff": 1},  # 2/4·100 + 1/4·0 + 1/4·100 = 75
        {"food": 1, "room": 10, "staff": 5},  # 0 + 25 + 0 = 25
        {
            "food": 10,
            "room": None,
            "staff": 3,
        },  # re-weighted over food and staff: (2·100 + 1·50) / 3
    ]
    v = overall(index(rows)[0])
    scores = [75.0, 25.0, 250 / 3]
    assert v.value == pytest.approx(statistics.mean(scores))
    assert v.n == 3
    low, high = stats.t.interval(0.95, 2, loc=statistics.mean(scores), scale=stats.sem(scores))
    assert (v.ci_low, v.ci_high) == (pytest.approx(max(0, low)), pytest.approx(min(100, high)))
    # Item sums are stored too (0–100 scores), so item means can be shown beside the index.
    assert (v.counts["room.n"], v.counts["room.sum"]) == (2, pytest.approx(100.0))


def test_drop_leaves_out_respondents_who_skipped_a_question() -> None:
    rows = [{"food": 10, "room": 10, "staff": 1}, {"food": 1, "room": None, "staff": 5}]
    v = overall(index(rows, missing="drop")[0])
    assert (v.value, v.n, v.counts["not_counted"]) == (100.0, 1, 1)


def test_min_answered_sets_how_much_a_respondent_must_answer() -> None:
    rows = [{"food": 10}, {"food": 1, "room": 1, "staff": 5}]
    v = overall(index(rows, min_answered=2)[0])
    assert (v.value, v.n, v.counts["not_counted"]) == (0.0, 1, 1)


def test_weights_are_normalised() -> None:
    rows = [{"food": 10, "room": 1, "staff": 1}, {"food": 4, "room": 7, "staff": 2}]
    heavy = [{**i, "weight": i["weight"] * 10} for i in ITEMS]
    assert overall(index(rows)[0]).value == pytest.approx(
        overall(index(rows, items=heavy)[0]).value
    )


def test_out_of_scale_answers_are_excluded_reported_and_re_weighted() -> None:
    rows = [{"food": 0, "room": 10, "staff": 1}, {"food": 10, "room": 10, "staff": 9}]
    values, result = index(rows)
    assert [(e.row, e.field, e.value) for e in result.excluded] == [
        (0, "food", "0"),
        (1, "staff", "9"),
    ]
    assert overall(values).value == 100.0  # both re-weighted over the answers that are valid


def test_nobody_answering_gives_an_empty_value_with_a_reason() -> None:
    v = overall(index([{"shop": "a"}])[0])
    assert (v.value, v.n, v.note) == (None, 0, "no respondents answered enough questions")


def test_spec_rejects_bad_items() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        WeightedIndex.spec_model(
            name="c", kind="weighted_index", dataset="d", items=[ITEMS[0], ITEMS[0]]
        )
    with pytest.raises(ValueError, match="greater than 0"):
        WeightedIndex.spec_model(
            name="c", kind="weighted_index", dataset="d", items=[{**ITEMS[0], "weight": 0}]
        )
    with pytest.raises(ValueError, match="exceeds the number of items"):
        WeightedIndex.spec_model(
            name="c", kind="weighted_index", dataset="d", items=ITEMS, min_answered=4
        )


answer = st.one_of(st.none(), st.integers(0, 11))  # 0 and 11 are out of every scale
respondents = st.lists(
    st.fixed_dictionaries(
        {"food": answer, "room": answer, "staff": answer, "shop": st.sampled_from(["a", "b", "c"])}
    ),
    max_size=30,
)


def plain_index(row: dict[str, Any], missing: str) -> float | None:
    total = sum(i["weight"] for i in ITEMS)
    num = den = 0.0
    answered = 0
    for item in ITEMS:
        lo, hi = item["scale"]
        x = row[item["field"]]
        if x is None or not lo <= x <= hi:
            continue
        score = (hi - x if item.get("reverse") else x - lo) / (hi - lo) * 100
        w = item["weight"] / total
        num, den, answered = num + w * score, den + w, answered + 1
    if answered == 0 or (missing == "drop" and answered < len(ITEMS)):
        return None
    return num / den


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=respondents, missing=st.sampled_from(["reweight", "drop"]))
def test_index_matches_a_plain_python_computation(rows: list[dict[str, Any]], missing: str) -> None:
    values, _ = index(rows, missing=missing, by=["shop"])
    for v in values:
        mine = [r for r in rows if not v.slice or r["shop"] == v.slice["shop"]]
        scores = [s for r in mine if (s := plain_index(r, missing)) is not None]
        assert v.n == len(scores)
        if not scores:
            assert v.value is None
            continue
        assert v.value == pytest.approx(statistics.mean(scores))
        if len(scores) > 1 and statistics.stdev(scores) > 1e-9:
            half = stats.t.ppf(0.975, len(scores) - 1) * stats.sem(scores)
            assert v.ci_low == pytest.approx(max(0.0, v.value - half), abs=1e-6)
            assert v.ci_high == pytest.approx(min(100.0, v.value + half), abs=1e-6)
    # The overall value is recomputed from sums, never the mean of slice values.
    if values:
        assert overall(values).n == sum(v.n for v in values if v.slice)


# --- the xml source -------------------------------------------------------------------

REVIEWS = """\
<?xml version="1.0" ?>
<reviews>
  <review id="1">
    <meta><date>13.03.2012 11:42</date></meta>
    <scores><food>8</food><interior>9</interior><service>0</service></scores>
  </review>
  <review id="2">
    <meta><date>01.04.2012 09:00</date></meta>
    <scores><food>10</food><service>7</service></scores>
  </review>
</reviews>
"""


def xml_project(tmp_path: Path, xml: str, spec: str | None = None) -> Path:
    write(tmp_path / "data" / "reviews.xml", xml)
    write(
        tmp_path / "metric_specs" / "csi.yaml",
        spec
        or """\
        name: csi
        kind: weighted_index
        dataset: reviews
        items:
          - {field: food, scale: [1, 10]}
          - {field: interior, scale: [1, 10]}
          - {field: service, scale: [1, 10]}
        """,
    )
    return write(
        tmp_path / "cxengine.yaml",
        """\
        database: cx.db
        metrics: [metric_specs]
        datasets:
          reviews:
            source: xml
            path: data/reviews.xml
            record: review
            columns: {id: "@id", at: meta/date, food: scores/food, interior: scores/interior,
                      service: scores/service}
            fields:
              id: string
              at: {type: datetime, format: "%d.%m.%Y %H:%M"}
              food: integer
              interior: integer
              service: integer
        """,
    )


def test_xml_source_reads_records_and_locates_them_by_line(tmp_path: Path) -> None:
    result = run_project(load_config(xml_project(tmp_path, REVIEWS)), store=False)
    v = next(v for v in result.values if v.period is None)
    # Review 1: (7/9·100 + 8/9·100) / 2 (service 0 is outside 1–10); review 2: (100 + 6/9·100) / 2.
    assert v.value == pytest.approx(((700 / 9 + 800 / 9) / 2 + (100 + 600 / 9) / 2) / 2)
    assert [(r.locator, r.field, r.value) for r in result.rejects] == [
        ("data/reviews.xml:3", "service", "0")
    ]


def test_xml_source_refuses_document_type_declarations(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaa">]>\n'
        '<reviews><review id="&a;"/></reviews>\n'
    )
    with pytest.raises(DataError, match="document type declarations are not read"):
        run_project(load_config(xml_project(tmp_path, bomb)), store=False)


def test_xml_source_reports_malformed_xml_with_its_line(tmp_path: Path) -> None:
    broken = '<?xml version="1.0"?>\n<reviews>\n<review id="1">\n</reviews>\n'
    with pytest.raises(DataError, match=r"data/reviews.xml:4: not well-formed XML"):
        run_project(load_config(xml_project(tmp_path, broken)), store=False)


# --- the CSI example on the real restaurant reviews -----------------------------------

EXAMPLE = REPO / "examples" / "restaurant_csi" / "cxengine.yaml"


def test_restaurant_example_validates_without_data() -> None:
    specs, problems = validate_project(load_config(EXAMPLE))
    assert [s.name for s in specs] == ["csi_restaurant"]
    assert problems == []


@needs_shared_data
def test_csi_restaurant_runs_on_the_sentirueval_reviews() -> None:
    assert (SHARED_DATA / "sentirueval2015-restaurants").is_dir()
    result = run_project(load_config(EXAMPLE), store=False)
    assert result.datasets["restaurant_reviews"].rows_read == 404
    v = next(v for v in result.values if v.period is None)
    # Measured: 404 reviews, CSI 80.5 [78.3, 82.7]; 11 scores of 0 ("not rated") excluded.
    assert v.n == 404
    assert v.value == pytest.approx(80.5, abs=0.05)
    assert (v.ci_low, v.ci_high) == (pytest.approx(78.3, abs=0.05), pytest.approx(82.7, abs=0.05))
    assert len(result.rejects) == 11
    assert {r.value for r in result.rejects} == {"0"}


def test_validation_points_at_the_item_that_names_a_bad_field(tmp_path: Path) -> None:
    spec = """\
    name: csi
    kind: weighted_index
    dataset: reviews
    items:
      - {field: food, scale: [1, 10]}
      - field: servce
        scale: [1, 10]
    """
    _, problems = validate_project(load_config(xml_project(tmp_path, REVIEWS, spec)))
    assert len(problems) == 1
    assert (
        str(problems[0])
        .split("metric_specs/", 1)[-1]
        .startswith("csi.yaml:6: items[1].field: 'servce' is not a field of dataset 'reviews'")
    )


def test_item_means_weights_and_contributions_by_hand() -> None:
    rows = [
        {"food": 10, "room": 1, "staff": 1},
        {"food": 1, "room": 10, "staff": 5},
        {"food": 10, "room": None, "staff": 3},
    ]
    values, _ = index(rows)
    spec = WeightedIndex.spec_model(name="csi", kind="weighted_index", dataset="d", items=ITEMS)
    items = {i.field: i for i in WeightedIndex().item_means(spec, overall(values).counts)}
    assert [i.weight for i in items.values()] == [0.5, 0.25, 0.25]
    food, room, staff = items["food"], items["room"], items["staff"]
    assert (food.n, food.raw_mean, food.mean) == (3, pytest.approx(7.0), pytest.approx(200 / 3))
    assert (room.n, room.raw_mean, room.mean) == (2, pytest.approx(5.5), pytest.approx(50.0))
    # Reverse-coded: 1 ("very polite") is the best answer, so the mean answer of 3 is 50 points.
    assert (staff.raw_mean, staff.mean) == (pytest.approx(3.0), pytest.approx(50.0))
    assert food.contribution == pytest.approx(0.5 * 200 / 3)
    # With every question answered, the contributions add up to the index exactly.
    full = [r for r in rows if r["room"] is not None]
    v = overall(index(full)[0])
    parts = WeightedIndex().item_means(spec, v.counts)
    assert sum(p.contribution or 0 for p in parts) == pytest.approx(v.value)


def test_item_means_of_an_empty_group_are_empty() -> None:
    spec = WeightedIndex.spec_model(name="csi", kind="weighted_index", dataset="d", items=ITEMS)
    parts = WeightedIndex().item_means(spec, {"n": 0})
    assert [(p.n, p.mean, p.raw_mean, p.contribution) for p in parts] == [(0, None, None, None)] * 3


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=respondents)
def test_item_means_match_plain_python_per_slice(rows: list[dict[str, Any]]) -> None:
    values, _ = index(rows, by=["shop"])
    spec = WeightedIndex.spec_model(
        name="csi", kind="weighted_index", dataset="d", items=ITEMS, by=["shop"]
    )
    for v in values:
        mine = [r for r in rows if not v.slice or r["shop"] == v.slice["shop"]]
        for item, part in zip(ITEMS, WeightedIndex().item_means(spec, v.counts), strict=True):
            lo, hi = item["scale"]
            answers = [r[item["field"]] for r in mine if r[item["field"]] is not None]
            answers = [a for a in answers if lo <= a <= hi]
            assert part.n == len(answers)
            if answers:
                assert part.raw_mean == pytest.approx(statistics.mean(answers))
            else:
                assert part.mean is None
