"""Evaluation smoke test on the shared data (skips when ../shared/data is absent)."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

from cxengine_nlp import analyze
from cxengine_nlp.learn import LABELS, cross_validate

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


def _evaluate_module() -> ModuleType:
    sys.path.insert(0, str(PLUGIN_ROOT / "bench"))
    try:
        import evaluate
    finally:
        sys.path.pop(0)
    return evaluate


def test_seed_spread_reports_each_seed_and_the_range() -> None:
    spread = _evaluate_module().seed_spread([0.6, 0.5, 0.55])
    assert spread["per_seed"] == [0.6, 0.5, 0.55]
    assert spread["mean"] == pytest.approx(0.55)
    assert (spread["min"], spread["max"]) == (0.5, 0.6)
    with pytest.raises(ValueError, match="at least one"):
        _evaluate_module().seed_spread([])


def test_cv_seeds_below_one_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        _evaluate_module().main(["--data", str(tmp_path), "--learned", "--cv-seeds", "0"])
    assert exited.value.code == 2


def test_the_seed_spread_starts_with_the_protocol_figure() -> None:
    """Seed 0 of the spread is the figure `cross_validate` reports for seed 0."""
    evaluate = _evaluate_module()
    rng = random.Random(5)
    words = {"negative": "zorb", "neutral": "quib", "positive": "plink"}
    texts, gold = [], []
    for k in range(90):
        label = LABELS[k % 3]
        # One row in five carries another class's word: a seed then changes the figure.
        word = words[LABELS[(k + 1) % 3]] if k % 5 == 0 else words[label]
        texts.append(f"{rng.choice(['the order', 'my parcel', 'again'])} {word} {k % 13}")
        gold.append(label)
    analyses = analyze(texts)
    spread = evaluate._macro_f1_over_seeds(texts, gold, analyses, 2, folds=2)
    cv = cross_validate(texts, gold, analyses, seed=0, folds=2)
    assert len(spread["learned"]["per_seed"]) == 2
    assert spread["learned"]["per_seed"][0] == round(cv["learned"]["macro_f1"], 4)
    assert spread["learned"]["min"] <= spread["learned"]["mean"] <= spread["learned"]["max"]
    assert spread["learned"]["mean"] > spread["lexicon"]["mean"]
