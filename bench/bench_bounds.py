"""Benchmark: the work limits that tests used to check with a stopwatch.

Tests no longer assert durations (a loaded CI machine made them fail at random);
the bounds live here instead, each timed against a benign input of the same kind
in the same process, medians of interleaved repeats:

- hostile filters (deep nesting, 900 NOTs, 700 casts…) vs a plain filter;
- hostile YAML spec files (alias bombs, deep nesting, huge integers) vs a plain spec;
- generating the 4,000-row demo CSV (absolute time; the test bound was 1 s);
- tagging one 100 KB comment with the NLP plugin vs one short comment (if installed).

    python bench/bench_bounds.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "plugins" / "cxengine-nlp")]


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def refused(fn: Callable[[], object]) -> Callable[[], None]:
    def call() -> None:
        with contextlib.suppress(Exception):  # being refused is the point
            fn()

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from cxengine.expr import MAX_LENGTH, MAX_NESTING, parse_filter
    from cxengine.plugins import get_registry
    from cxengine.scaffold.responses import write_responses_csv
    from cxengine.spec.loader import load_spec_file

    rows: list[tuple[str, float, float]] = []
    plain = "channel = 'web' AND score >= 4"
    hostile = {
        f"filter nested {MAX_NESTING + 1} deep": "(" * (MAX_NESTING + 1)
        + "score > 1"
        + ")" * (MAX_NESTING + 1),
        "filter over MAX_LENGTH": "x" * (MAX_LENGTH + 1),
        "filter: 900 NOTs": "NOT " * 900 + "is_test",
        "filter: 700 casts": "score" + "::INT" * 700 + " = 1",
        "filter: 990 additions": "score" + " + 1" * 990 + " = 1",
    }
    base = median_time(lambda: parse_filter(plain), args.repeat)
    for name, text in hostile.items():
        rows.append((name, median_time(refused(lambda t=text: parse_filter(t)), args.repeat), base))

    registry = get_registry()
    models = {name: agg.spec_model for name, agg in registry.aggregations.items()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        good = folder / "good.yaml"
        good.write_text("name: m\nkind: count\ndataset: d\n", "utf-8")
        bomb = ["name: bomb", "kind: count", "dataset: d", 'l0: &l0 ["lol"]']
        for i in range(1, 10):
            bomb.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
        docs = {
            "spec: billion laughs": "\n".join(bomb) + "\n",
            "spec: deep flow nesting": "name: m\ntags: " + "[" * 5_000 + "]" * 5_000 + "\n",
            "spec: 10,000-digit integer": "name: m\nkind: count\ndataset: d\nmin_n: "
            + "9" * 10_000
            + "\n",
        }
        base = median_time(lambda: load_spec_file(good, models), args.repeat)
        for name, text in docs.items():
            path = folder / "bad.yaml"
            path.write_text(text, "utf-8")
            rows.append(
                (name, median_time(lambda p=path: load_spec_file(p, models), args.repeat), base)
            )
        gen = median_time(
            lambda: write_responses_csv(folder / "r.csv", n=4000, seed=1), args.repeat
        )
        rows.append(("demo CSV, 4,000 rows (s, no reference)", gen, 1.0))

    try:
        from cxengine_nlp.api import analyze
    except ImportError:
        analyze = None
    if analyze is not None:
        analyze(["warm up the model"])
        long = "The delivery was late and the courier was rude. " * 2100
        short = "The delivery was late and the courier was rude."
        base = median_time(lambda: analyze([short]), args.repeat)
        rows.append(
            ("NLP: one 100 KB comment", median_time(lambda: analyze([long]), args.repeat), base)
        )

    print(f"{'case':45} {'median s':>10} {'reference s':>12} {'ratio':>9}")
    for name, t, ref in rows:
        print(f"{name:45} {t:10.4f} {ref:12.4f} {t / ref:9.1f}")


if __name__ == "__main__":
    main()
