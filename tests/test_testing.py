"""cxengine.testing: the helpers plugin authors test with catch what they promise to catch.

Each helper is run once on something correct (it passes and returns what a test
needs) and once on something wrong (it fails with a message naming the problem).
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from cxengine.interfaces import EnrichRequest
from cxengine.testing import (
    check_enricher,
    check_kind,
    check_source,
    compare_kind,
    run_project,
    write_project,
)

REPO = Path(__file__).resolve().parent.parent
SURVEY = "id,score,team\n1,5,a\n2,4,a\n3,2,b\n4,five,b\n5,1,b\n"


def test_the_plugin_is_registered_for_pytest_through_an_entry_point() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["entry-points"]["pytest11"] == {"cxengine": "cxengine.testing"}


def test_cx_project_writes_a_project_that_runs(cx_project: Callable[..., Path]) -> None:
    config = cx_project(
        {"responses": {"source": "csv", "path": "data/s.csv", "fields": {"score": "integer"}}},
        {"csat": {"kind": "share", "dataset": "responses", "field": "score", "scale": [1, 5]}},
        {"data/s.csv": SURVEY},
    )
    result = run_project(config)
    overall = next(v for v in result.values if v.period is None and not v.slice)
    assert (overall.value, overall.n) == (50.0, 4)
    assert result.datasets["responses"].cells_rejected == {"score": 1}


def test_write_project_copies_standard_specs_by_name(tmp_path: Path) -> None:
    write_project(tmp_path, {}, standard=["nps", "frt"])
    assert sorted(p.name for p in (tmp_path / "metric_specs").iterdir()) == ["frt.yaml", "nps.yaml"]
    with pytest.raises(ValueError, match="no standard spec 'npz'"):
        write_project(tmp_path, {}, standard=["npz"])


def test_check_source_counts_rows_and_locates_rejects(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text(SURVEY, encoding="utf-8")
    run = check_source(
        "csv",
        {"path": "s.csv"},
        base_dir=tmp_path,
        fields={"id": "string", "score": "integer", "team": "string"},
        locator=r"s\.csv:\d+",
        read=5,
        used=5,
        rejected=0,
        bad_values=1,
    )
    assert run.column("score") == [5, 4, 2, None, 1]  # 'five' rejected in its field only
    assert run.column("team")[3] == "b"
    assert run.reject_at("s.csv:5").field == "score"
    with pytest.raises(AssertionError, match=r"no reject at 's\.csv:2'"):
        run.reject_at("s.csv:2")


def test_check_source_fails_on_wrong_counts_and_foreign_locators(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text(SURVEY, encoding="utf-8")
    fields = {"score": "integer"}
    with pytest.raises(AssertionError, match="bad values 1, expected 0"):
        check_source("csv", {"path": "s.csv"}, base_dir=tmp_path, fields=fields, bad_values=0)
    with pytest.raises(AssertionError, match="does not match"):
        check_source("csv", {"path": "s.csv"}, base_dir=tmp_path, fields=fields, locator=r"x:\d+")


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CountingSource:
    """A third-party source whose `malformed` rows must be counted as read and rejected."""

    name = "counting"
    description = "rows 0..4 and one malformed record"
    options_model = NoOptions

    def open(self, context: Any) -> Any:
        from cxengine.interfaces import Reject, SourceData

        return SourceData(
            rows=[{"n": i} for i in range(5)],
            origin="feed",
            locate=lambda idx: {i: f"feed#{i}" for i in idx},
            malformed=lambda con: [Reject(context.dataset, "feed#x", "broken record")],
        )


def test_check_source_takes_a_source_object_and_its_malformed_rows(tmp_path: Path) -> None:
    run = check_source(CountingSource(), {}, base_dir=tmp_path, read=6, used=5, rejected=1,
                       locator=r"feed#\w+")  # fmt: skip
    assert run.column("n") == [0, 1, 2, 3, 4]


ANSWERS = [(5, "a", 1), (4, "a", 1), (2, "b", 1), (1, "b", 2), (5, "b", 2)]
ROWS = [{"score": s, "team": t, "at": f"2024-0{m}-10"} for s, t, m in ANSWERS]
SHARE = {"kind": "share", "field": "score", "scale": [1, 5], "by": ["team"], "time": "at",
         "period": "month"}  # fmt: skip


def test_check_kind_compares_values_overall_per_period_and_slice(tmp_path: Path) -> None:
    run = check_kind(
        SHARE,
        ROWS,
        {
            None: 60.0,
            "2024-01-01": 200 / 3,
            (("team", "b"),): 100 / 3,
            ("2024-02-01", (("team", "b"),)): 50.0,
        },
        fields={"score": "integer", "team": "string", "at": "date"},
        root=tmp_path,
    )
    assert run.overall.n == 5


def test_check_kind_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"metric at None: 60\.0, expected 70"):
        check_kind(SHARE, ROWS, {None: 70}, root=tmp_path,
                   fields={"score": "integer", "team": "string", "at": "date"})  # fmt: skip


def test_compare_kind_runs_the_gate_test_for_the_kind(tmp_path: Path) -> None:
    baseline = [{"score": 5 if i < 80 else 1} for i in range(100)]
    current = [{"score": 5 if i < 50 else 1} for i in range(100)]
    spec = {"kind": "share", "field": "score", "scale": [1, 5]}
    test = compare_kind(spec, baseline, current, root=tmp_path)
    assert test.difference == pytest.approx(-0.30)  # type: ignore[union-attr]
    assert test.p_value is not None and test.p_value < 0.001  # type: ignore[union-attr]
    same = compare_kind(spec, baseline, baseline, root=tmp_path / "same")
    assert same.p_value == pytest.approx(0.5, abs=0.01)  # type: ignore[union-attr]


class Tagger:
    """A small enricher: theme 'price' when the text says so, sentiment from a word."""

    name = "tagger"
    description = "test enricher"

    def __init__(self, sentiment: float = 0.5, extra_theme: str | None = None):
        self.sentiment = sentiment
        self.extra_theme = extra_theme

    def version(self, options: Mapping[str, Any]) -> str:
        return "1"

    def themes(self, options: Mapping[str, Any]) -> Sequence[str]:
        return ["price"]

    def enrich(self, request: EnrichRequest) -> list[dict[str, Any]]:
        out = []
        for text in request.texts:
            themes = ["price"] if "price" in text else []
            if self.extra_theme:
                themes.append(self.extra_theme)
            out.append({"language": "en", "themes": themes, "sentiment": self.sentiment})
        return out


def test_check_enricher_accepts_the_standard_schema() -> None:
    tags = check_enricher(Tagger(), ["good price", "slow"])
    assert tags[0]["themes"] == ["price"] and tags[1]["themes"] == []


@pytest.mark.parametrize(
    ("enricher", "message"),
    [
        (Tagger(sentiment=2.0), "outside -1…1"),
        (Tagger(extra_theme="delivery"), r"themes \['delivery'\] are not among"),
        (Tagger(sentiment=float("nan")), "finite number"),
    ],
)
def test_check_enricher_rejects_tags_outside_the_schema(enricher: Tagger, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_enricher(enricher, ["good price"])


def test_the_module_imports_nothing_heavy() -> None:
    # It is loaded by pytest in every project that installs cxengine.
    code = "import sys, cxengine.testing; print('duckdb' in sys.modules, 'pydantic' in sys.modules)"
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO)  # fmt: skip
    assert out.stdout.split() == ["False", "False"]
