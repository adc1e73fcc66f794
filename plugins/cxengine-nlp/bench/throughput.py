"""Measure cxengine-nlp throughput: comments per second, one process, and a cached rerun.

    python plugins/cxengine-nlp/bench/throughput.py [--n 100000] [--workers 2] [--json]

Generates `--n` synthetic CX comments per language (deterministic seed, see
comments.py), once from templates and once with a realistic vocabulary (dictionary
words with a Zipf-like skew, handles, URLs, hashtags, numbers: over 20,000 distinct
word forms per 100,000 comments), and runs the full analysis (language detection,
lemmas, themes, sentiment) through `cxengine_nlp.analyze` with cold caches: every
lemma cache and pipeline is dropped first, so each rate is a first run's. Building
the pipeline is timed apart (`setup_seconds`): a process pays it once. The cached
rerun simulates the host's result cache: a dict keyed by sha1(text + analyzer_version).
The machine is shared: compare figures from alternating runs and read the ratios;
comments per CPU second are printed beside comments per (wall) second. `x docs` is
the CPU time of the spaCy Doc pipeline (`api._analyze(..., docs=True)`, cold caches,
same texts, results asserted identical) over the fast path's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from comments import make_comments

from cxengine_nlp import CommentAnalysis, analyze, analyzer_version
from cxengine_nlp.api import _analyze
from cxengine_nlp.lemmatizer import lemma_en, lemma_ru
from cxengine_nlp.pipeline import _CACHE as _PIPELINES
from cxengine_nlp.pipeline import get_pipeline
from cxengine_nlp.taxonomy import default_taxonomy

_WORD = re.compile(r"\w+")

TARGETS = {"en": 10_000.0, "ru": 8_000.0}
CACHE_TARGET = 20.0


def cache_key(text: str, version: str) -> str:
    """Return the host-style cache key of one comment."""
    return hashlib.sha1(f"{version}\x00{text}".encode()).hexdigest()


def cold_caches() -> None:
    """Forget every lemma and pipeline this process has built: the next run is a first run."""
    lemma_en.cache_clear()
    lemma_ru.cache_clear()
    _PIPELINES.clear()


def measure(lang: str, n: int, workers: int, realistic: bool) -> dict[str, Any]:
    """Time a first analysis, a cached rerun and optionally a sharded run for one language."""
    taxonomy = default_taxonomy()
    texts = make_comments(n, lang, realistic=realistic)
    distinct = len({w.lower() for t in texts for w in _WORD.findall(t)})
    cold_caches()
    start = time.perf_counter()
    get_pipeline(lang, taxonomy)  # built once per process: reported, not part of the rate
    setup_seconds = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    results = analyze(texts, language="auto", taxonomy=taxonomy)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    version = analyzer_version(taxonomy)
    cache: dict[str, CommentAnalysis] = {
        cache_key(t, version): r for t, r in zip(texts, results, strict=True)
    }
    start = time.perf_counter()
    version = analyzer_version(taxonomy)
    cached = [cache[cache_key(t, version)] for t in texts]
    cached_seconds = time.perf_counter() - start
    assert cached == results
    out: dict[str, Any] = {
        "language": lang,
        "text": "realistic" if realistic else "template",
        "distinct_word_forms": distinct,
        "setup_seconds": setup_seconds,
        "comments": n,
        "seconds": seconds,
        "per_second": n / seconds,
        "cpu_seconds": cpu_seconds,
        # On a shared machine wall time measures the neighbours too; CPU time does not.
        "per_cpu_second": n / cpu_seconds,
        "target": TARGETS[lang],
        "ratio_to_target": n / seconds / TARGETS[lang],
        "labels": {
            k: sum(1 for r in results if r.label == k) for k in ("negative", "neutral", "positive")
        },
        "with_theme": sum(1 for r in results if r.themes) / n,
        "cached_seconds": cached_seconds,
        "cached_speedup": seconds / cached_seconds,
    }
    # The reference: the spaCy Doc pipeline `analyze` ran before the fast path, from
    # cold caches too; its results must be the same.
    cold_caches()
    get_pipeline(lang, taxonomy)
    cpu = time.process_time()
    reference = _analyze(texts, "auto", taxonomy, docs=True)
    out["docs_cpu_seconds"] = time.process_time() - cpu
    out["speedup_over_docs"] = out["docs_cpu_seconds"] / cpu_seconds
    assert reference == results
    if workers > 1:
        # Cold too: the pool forks this process, and warm memos would flatter it.
        cold_caches()
        start = time.perf_counter()
        parallel = analyze(texts, language="auto", taxonomy=taxonomy, workers=workers)
        parallel_seconds = time.perf_counter() - start
        assert parallel == results
        out["workers"] = workers
        out["parallel_per_second"] = n / parallel_seconds
        out["parallel_speedup"] = seconds / parallel_seconds
    return out


def main() -> int:
    """Run the benchmark for English and Russian and print a side-by-side table."""
    parser = argparse.ArgumentParser(description="cxengine-nlp throughput")
    parser.add_argument("--n", type=int, default=100_000, help="comments per language")
    parser.add_argument("--workers", type=int, default=1, help="also time analyze(workers=N)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    rows = [
        measure(lang, args.n, args.workers, realistic)
        for realistic in (False, True)
        for lang in ("en", "ru")
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(
        f"{'lang':<6}{'text':<10}{'forms':>7}{'comments':>9}{'comments/s':>12}{'/cpu-s':>9}"
        f"{'target':>9}"
        f"{'ratio':>7}{'cached x':>10}{'target':>8}{'ratio':>7}{'x docs':>8}"
    )
    for r in rows:
        print(
            f"{r['language']:<6}{r['text']:<10}{r['distinct_word_forms']:>7}"
            f"{r['comments']:>9}{r['per_second']:>12,.0f}{r['per_cpu_second']:>9,.0f}"
            f"{r['target']:>9,.0f}"
            f"{r['ratio_to_target']:>7.2f}{r['cached_speedup']:>10.0f}{CACHE_TARGET:>8.0f}"
            f"{r['cached_speedup'] / CACHE_TARGET:>7.2f}{r['speedup_over_docs']:>8.2f}"
        )
    for r in rows:
        if "workers" in r:
            print(
                f"{r['language']} {r['text']}: workers={r['workers']}: "
                f"{r['parallel_per_second']:,.0f} comments/s "
                f"({r['parallel_speedup']:.2f}x one process)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
