"""Measure the host's comment-tag cache: cxengine's enrichment step, first run vs rerun.

    python plugins/cxengine-nlp/bench/host_cache.py [--n 100000] [--json]

Writes a throwaway project (a CSV of `--n` synthetic comments per language, keyed,
declared as a comment field) and times cxengine's real enrichment step
(`Session.enrich` of `cxengine.api`: hashing, cache look-up in `comment_tags`, the nlp
enricher on misses, the SQLite write, the DuckDB tag columns) on an empty results
database, then again over the unchanged comments. Dataset loading is timed apart,
because it is the same in both runs. The machine is shared: read the ratios.
`--learn-from` gives every comment a score (0-10, seeded) and declares `learn_from:
score`: the first run then also trains, and the rerun also hands every text and score
to `learn` (which finds its model saved).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from comments import make_comments

TARGET_SPEEDUP = 20.0

CONFIG = """\
database: cx.db
metrics: []
datasets:
  comments:
    source: csv
    path: comments.csv
    key: id
    fields: {id: string, score: integer, comment: string}
    comments: {field: comment, key: id{learn}}
"""


def measure(n: int, folder: Path, learn_from: bool = False) -> dict[str, Any]:
    """Time loading, a cold enrichment and a cached one over the same project."""
    import random

    from cxengine.api import Session, get_registry, load_config

    texts = make_comments(n, "en") + make_comments(n, "ru")
    rng = random.Random(3)
    with (folder / "comments.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "score", "comment"])
        writer.writerows((f"C{i:07d}", rng.randint(0, 10), t) for i, t in enumerate(texts))
    learn = ", learn_from: score" if learn_from else ""
    (folder / "cxengine.yaml").write_text(CONFIG.replace("{learn}", learn), encoding="utf-8")
    project = load_config(folder / "cxengine.yaml")
    registry = get_registry()
    from cxengine_nlp import analyze

    analyze(texts[:500] + texts[-500:])  # build both pipelines first: not part of either run
    timings: dict[str, float] = {}
    stats: dict[str, Any] = {}
    for label in ("first", "rerun"):
        with Session(project, registry) as session:
            start = time.perf_counter()
            session.load({"comments"})
            timings[f"{label}_load"] = time.perf_counter() - start
            start = time.perf_counter()
            report = session.enrich(write=True)
            timings[f"{label}_enrich"] = time.perf_counter() - start
            stats[label] = report.stats[0].as_dict()
    return {
        "comments": len(texts),
        **timings,
        "first_per_second": len(texts) / timings["first_enrich"],
        "speedup": timings["first_enrich"] / timings["rerun_enrich"],
        "target": TARGET_SPEEDUP,
        "analysed_first": stats["first"]["analysed"],
        "analysed_rerun": stats["rerun"]["analysed"],
        "written_rerun": stats["rerun"]["written"],
    }


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description="cxengine comment-tag cache")
    parser.add_argument("--n", type=int, default=50_000, help="comments per language")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--learn-from", action="store_true", help="learn from a score too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = measure(args.n, Path(tmp), args.learn_from)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"{r['comments']:,} comments (half English, half Russian), cxengine enrichment step")
    print(
        f"  first run: {r['first_enrich']:.2f} s ({r['first_per_second']:,.0f} comments/s, "
        f"{r['analysed_first']:,} distinct texts analysed); load {r['first_load']:.2f} s"
    )
    print(
        f"  rerun:     {r['rerun_enrich']:.2f} s ({r['analysed_rerun']} analysed, "
        f"{r['written_rerun']} rows written); load {r['rerun_load']:.2f} s"
    )
    print(
        f"  speed-up {r['speedup']:.1f}x (target {TARGET_SPEEDUP:.0f}x, "
        f"ratio {r['speedup'] / TARGET_SPEEDUP:.2f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
