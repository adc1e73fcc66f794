"""Band slices: numeric fields cut into labelled ranges, in order."""

from __future__ import annotations

import duckdb
import pytest
from pydantic import ValidationError

from cxengine.bands import Band, band_rank, banded_view, slice_order
from cxengine.default_plugins.aggregations.share import ShareSpec

EDGES = [0, 5, 30, 120, 1440]


def test_labels_from_the_issue_in_order_with_the_unit_from_the_field_name():
    band = Band(field="frt_min", bands=EDGES)
    assert band.labels() == [
        "< 0 min", "0–5 min", "5–30 min", "30–120 min", "120–1440 min", "≥ 1440 min",
    ]  # fmt: skip
    assert band.slice_name == "frt_min_band"
    assert Band(field="wait", bands=[0.5, 2]).labels() == ["< 0.5", "0.5–2", "≥ 2"]
    assert Band(field="wait", bands=[1], unit="s").labels() == ["< 1 s", "≥ 1 s"]


def test_edges_must_increase_and_exist():
    with pytest.raises(ValidationError, match="must increase: 5 follows 30"):
        Band(field="x", bands=[0, 30, 5])
    with pytest.raises(ValidationError, match="at least one"):
        Band(field="x", bands=[])


def test_a_by_entry_with_bands_becomes_a_slice_field_and_survives_a_dump():
    spec = ShareSpec.model_validate({
        "name": "csat_by_frt", "kind": "share", "dataset": "d", "field": "csat",
        "scale": [1, 5], "by": ["channel", {"field": "frt_min", "bands": EDGES}],
    })  # fmt: skip
    assert spec.by == ["channel", "frt_min_band"]
    assert spec.bands["frt_min_band"].field == "frt_min"
    again = ShareSpec.model_validate(spec.model_dump(mode="json"))
    assert again == spec


def test_view_labels_each_value_lower_edge_inclusive_and_keeps_the_raw_field():
    con = duckdb.connect()
    values = "(-1.0::DOUBLE), (0), (4.9), (5), (1440), (NULL)"
    con.execute(f"CREATE TABLE t AS SELECT * FROM (VALUES {values}) v(frt_min)")
    band = Band(field="frt_min", bands=EDGES)
    view, types = banded_view(con, "m", {"frt_min_band": band}, "t", {"frt_min": "number"})
    assert types == {"frt_min": "number", "frt_min_band": "string"}
    rows = con.execute(f'SELECT frt_min, frt_min_band FROM "{view}"').fetchall()
    assert rows == [
        (-1, "< 0 min"), (0, "0–5 min"), (4.9, "0–5 min"), (5, "5–30 min"),
        (1440, "≥ 1440 min"), (None, None),
    ]  # fmt: skip


def test_slices_sort_in_band_order_not_alphabetically():
    band = Band(field="frt_min", bands=EDGES)
    shuffled = ["≥ 1440 min", "120–1440 min", "30–120 min", "0–5 min", "5–30 min"]
    ordered = sorted(shuffled, key=lambda label: slice_order({"b": band}, {"b": label}))
    assert ordered == ["0–5 min", "5–30 min", "30–120 min", "120–1440 min", "≥ 1440 min"]
    assert band_rank(band, None) == 6
