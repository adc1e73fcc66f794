"""Measure how long learning from scores takes: `train` alone and all `learn` does in a run.

    python plugins/cxengine-nlp/bench/learn_speed.py [--n 50000] [--json]

Generates `--n` comments (half English, half Russian, with the realistic vocabulary
of comments.py) and gives each a label drawn from the lexicon's score with noise (a
score is a noisy label of its comment), so every class is represented the way real
scores are. Timed apart, on this machine and whatever else runs on it:

- the lexicon pass (`analyze`), which a first run pays anyway to tag the comments;
- `train`: the ordinal ridge model on every labelled comment (target: 30 s for 50,000);
- `learn`: what `cxengine run` does on a new training set: 5-fold cross-validation on at
  most 5,000 comments, tuning the decision layer, then `train`.

CPU seconds are reported beside wall seconds: on the shared 2-core machine the wall
clock mostly measures the other jobs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from comments import make_comments

from cxengine_nlp import analyze
from cxengine_nlp.learn import LABELS, learn, train

TARGET_SECONDS = 30.0


def noisy_label(score: float, rng: random.Random) -> str:
    """Return a class for a lexicon score, wrong about a third of the time."""
    value = score + rng.gauss(0.0, 0.35)
    return "negative" if value < -0.15 else "positive" if value > 0.3 else "neutral"


def timed(action: Any) -> tuple[Any, float, float]:
    """Return the action's result, its wall seconds and its CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="comments in all")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    half = args.n // 2
    texts = make_comments(half, "en", realistic=True) + make_comments(
        args.n - half, "ru", realistic=True
    )
    analyses, lex_wall, lex_cpu = timed(lambda: analyze(texts))
    rng = random.Random(5)
    labels = [noisy_label(a.score, rng) for a in analyses]
    counts = {c: labels.count(c) for c in LABELS}
    _, train_wall, train_cpu = timed(lambda: train(texts, labels, analyses))
    (_, report), learn_wall, learn_cpu = timed(lambda: learn(texts, labels, analyses=analyses))
    figures = {
        "comments": len(texts),
        "counts": counts,
        "lexicon_seconds": {"wall": round(lex_wall, 1), "cpu": round(lex_cpu, 1)},
        "train_seconds": {"wall": round(train_wall, 1), "cpu": round(train_cpu, 1)},
        "learn_seconds": {"wall": round(learn_wall, 1), "cpu": round(learn_cpu, 1)},
        "train_target_seconds": TARGET_SECONDS,
        "cv_macro_f1": report.cv_macro_f1,
        "lexicon_macro_f1": report.lexicon_macro_f1,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{len(texts):,} comments, labels {counts}")
    print(f"lexicon pass: {lex_wall:.1f} s wall, {lex_cpu:.1f} s CPU")
    print(
        f"train:        {train_wall:.1f} s wall, {train_cpu:.1f} s CPU "
        f"(target {TARGET_SECONDS:.0f} s: {train_cpu / TARGET_SECONDS:.2f}x of it, CPU)"
    )
    print(
        f"learn (CV on <= 5,000 + tuning + train): {learn_wall:.1f} s wall, {learn_cpu:.1f} s CPU"
    )
    print(f"5-fold macro-F1 {report.cv_macro_f1:.3f} vs lexicon {report.lexicon_macro_f1:.3f}")


if __name__ == "__main__":
    main()
