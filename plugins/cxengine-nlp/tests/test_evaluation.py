"""Evaluation smoke test on the shared data (skips when ../shared/data is absent)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

# Not imported from conftest: when one pytest run collects the host's tests too, the
# name `conftest` may be the host's module.
PLUGIN_ROOT = Path(__file__).resolve().parents[1]


def test_evaluation_meets_its_targets(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sys.path.insert(0, str(PLUGIN_ROOT / "bench"))
    try:
        import evaluate
    finally:
        sys.path.pop(0)
    assert evaluate.main(["--data", str(shared_data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    english, russian = report["english"], report["russian"]
    assert english["rows"] > 900 and english["detected_en"] > 0.99
    if "vader" in english:
        assert english["target_met"], english["margin"]
    assert russian["detected_ru"] == 1.0
    assert russian["target_met"], russian["pos_vs_neg"]["macro_f1"]
    assert russian["themes"]["Food"]["recall"] > 0.9


def test_missing_data_directory_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sys.path.insert(0, str(PLUGIN_ROOT / "bench"))
    try:
        import evaluate
    finally:
        sys.path.pop(0)
    assert evaluate.main(["--data", str(tmp_path)]) == 2
    assert "no evaluation data" in capsys.readouterr().err
