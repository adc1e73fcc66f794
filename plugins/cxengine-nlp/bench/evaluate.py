"""Evaluate cxengine-nlp sentiment and themes on the shared labelled data sets.

    python plugins/cxengine-nlp/bench/evaluate.py [--data DIR] [--json]

English: women's clothing reviews, rating as the label (1-2 negative, 3 neutral, 4-5
positive), title and text joined; compared with VADER's default thresholds
(compound >= 0.05 positive, <= -0.05 negative) on the same rows.
Russian: SentiRuEval-2015 restaurant reviews (train + test, 404 reviews). Review-level
positive vs. negative uses the <categories> "Whole" sentiment (reviews marked
positive or negative only); our prediction is positive above +0.05, negative below
-0.05 and "neutral" (no signal: counted as an error for either class) in between. The
old rule "score >= 0 is positive" called every text without any signal positive.
Theme precision/recall: a category counts as mentioned when its sentiment is not
"absence"; Food -> food, Interior -> interior, Price -> price, Service -> any of
service, staff_politeness, staff_competence, wait_time.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cxengine_nlp import analyze
from cxengine_nlp.taxonomy import restaurant_taxonomy

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
EN_FILE = Path("womens-clothing-reviews") / "reviews.csv"
RU_FILES = (
    Path("sentirueval2015-restaurants") / "SentiRuEval_rest_markup_train.xml",
    Path("sentirueval2015-restaurants") / "SentiRuEval_rest_markup_test.xml",
)
RU_THEMES: dict[str, tuple[str, ...]] = {
    "Food": ("food",),
    "Interior": ("interior",),
    "Price": ("price",),
    "Service": ("service", "staff_politeness", "staff_competence", "wait_time"),
}
TARGET_EN_MARGIN = 0.05
TARGET_RU_F1 = 0.75


#: Scores within this distance of 0 carry no signal: a 2-class prediction abstains.
NEUTRAL_BAND = 0.05


def two_class(score: float) -> str:
    """Positive / negative for a 2-class comparison, "neutral" inside the band."""
    if score >= NEUTRAL_BAND:
        return "positive"
    if score <= -NEUTRAL_BAND:
        return "negative"
    return "neutral"


def rating_label(rating: int) -> str:
    """Map a 1-5 rating to the 3-class proxy label."""
    return "negative" if rating <= 2 else "neutral" if rating == 3 else "positive"


def classification_report(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Return accuracy, macro-F1 and per-class precision/recall/F1."""
    per: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[label] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    accuracy = (
        sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / len(gold) if gold else 0.0
    )
    macro = sum(v["f1"] for v in per.values()) / len(per) if per else 0.0
    return {"n": len(gold), "accuracy": accuracy, "macro_f1": macro, "classes": per}


def load_english(data: Path) -> tuple[list[str], list[str]]:
    """Return (texts, gold labels) for rows that have a title or a text."""
    texts: list[str] = []
    gold: list[str] = []
    with (data / EN_FILE).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            title = html.unescape(row.get("Title") or "").strip()
            body = html.unescape(row.get("Review Text") or "").strip()
            if not (title or body):
                continue
            text = f"{title}. {body}" if title and body else title or body
            texts.append(text)
            gold.append(rating_label(int(row["Rating"])))
    return texts, gold


def load_russian(data: Path) -> list[dict[str, Any]]:
    """Return one dict per review: text and category sentiments."""
    reviews: list[dict[str, Any]] = []
    for name in RU_FILES:
        root = ET.parse(data / name).getroot()
        for review in root.iter("review"):
            cats = {c.get("name", ""): c.get("sentiment", "") for c in review.iter("category")}
            reviews.append({"text": (review.findtext("text") or "").strip(), "categories": cats})
    return reviews


def vader_labels(texts: Sequence[str]) -> list[str] | None:
    """Return VADER's labels at its default thresholds, or None if it is not installed."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        return None
    analyzer = SentimentIntensityAnalyzer()
    out = []
    for text in texts:
        compound = analyzer.polarity_scores(text)["compound"]
        out.append(
            "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
        )
    return out


def evaluate_english(data: Path) -> dict[str, Any]:
    """Score the English reviews with cxengine-nlp and VADER."""
    texts, gold = load_english(data)
    start = time.perf_counter()
    results = analyze(texts, language="auto")
    seconds = time.perf_counter() - start
    labels = ("negative", "neutral", "positive")
    ours = classification_report(gold, [r.label for r in results], labels)
    out: dict[str, Any] = {
        "rows": len(texts),
        "detected_en": sum(1 for r in results if r.language == "en") / len(results),
        "seconds": seconds,
        "ours": ours,
    }
    vader = vader_labels(texts)
    if vader is not None:
        out["vader"] = classification_report(gold, vader, labels)
        out["margin"] = ours["macro_f1"] - out["vader"]["macro_f1"]
        out["target_met"] = out["margin"] >= TARGET_EN_MARGIN
    return out


def evaluate_russian(data: Path) -> dict[str, Any]:
    """Score the Russian reviews: pos-vs-neg sentiment and category mentions."""
    reviews = load_russian(data)
    start = time.perf_counter()
    results = analyze([r["text"] for r in reviews], language="auto", taxonomy=restaurant_taxonomy())
    seconds = time.perf_counter() - start
    gold, pred = [], []
    for review, result in zip(reviews, results, strict=True):
        whole = review["categories"].get("Whole")
        if whole in ("positive", "negative"):
            gold.append(whole)
            pred.append(two_class(result.score))
    sentiment = classification_report(gold, pred, ("negative", "positive"))
    themes: dict[str, Any] = {}
    for category, ids in RU_THEMES.items():
        tp = fp = fn = 0
        agree = total = 0
        for review, result in zip(reviews, results, strict=True):
            gold_sent = review["categories"].get(category, "absence")
            mentioned = gold_sent != "absence"
            found = [t for t in ids if t in result.themes]
            tp += mentioned and bool(found)
            fp += (not mentioned) and bool(found)
            fn += mentioned and not found
            if found and gold_sent in ("positive", "negative"):
                value = sum(result.theme_sentiment.get(t, 0.0) for t in found)
                if value != 0.0:
                    total += 1
                    agree += (value > 0) == (gold_sent == "positive")
        themes[category] = {
            "themes": list(ids),
            "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn) if tp + fn else 0.0,
            "mentioned": tp + fn,
            "sentiment_sign_accuracy": agree / total if total else 0.0,
            "sentiment_scored": total,
        }
    return {
        "reviews": len(reviews),
        "detected_ru": sum(1 for r in results if r.language == "ru") / len(results),
        "seconds": seconds,
        "pos_vs_neg": sentiment,
        "target_met": sentiment["macro_f1"] >= TARGET_RU_F1,
        "themes": themes,
    }


def print_report(report: dict[str, Any]) -> None:
    """Print the figures as a small plain-text report."""
    en = report.get("english")
    if en:
        print(f"English clothing reviews: {en['rows']} rows, 3 classes (rating proxy)")
        print(f"  {'':<14}{'accuracy':>10}{'macro-F1':>10}{'F1 neg':>8}{'F1 neu':>8}{'F1 pos':>8}")
        for name in ("ours", "vader"):
            if name in en:
                r = en[name]
                c = r["classes"]
                print(
                    f"  {name:<14}{r['accuracy']:>10.3f}{r['macro_f1']:>10.3f}"
                    f"{c['negative']['f1']:>8.3f}{c['neutral']['f1']:>8.3f}{c['positive']['f1']:>8.3f}"
                )
        if "margin" in en:
            status = "met" if en["target_met"] else "MISSED"
            print(
                f"  margin over VADER: {en['margin']:+.3f} "
                f"(target +{TARGET_EN_MARGIN:.2f}: {status})"
            )
    ru = report.get("russian")
    if ru:
        s = ru["pos_vs_neg"]
        status = "met" if ru["target_met"] else "MISSED"
        print(f"Russian restaurant reviews: {ru['reviews']} reviews, {s['n']} positive-or-negative")
        print(
            f"  pos vs neg: accuracy {s['accuracy']:.3f}, macro-F1 {s['macro_f1']:.3f} "
            f"(target {TARGET_RU_F1:.2f}: {status}; ratio {s['macro_f1'] / TARGET_RU_F1:.2f})"
        )
        for label, c in s["classes"].items():
            print(
                f"    {label:<9} P {c['precision']:.3f} R {c['recall']:.3f} "
                f"F1 {c['f1']:.3f} (n={c['support']})"
            )
        print(f"  {'category':<10}{'precision':>10}{'recall':>8}{'mentioned':>11}{'sign acc':>10}")
        for category, t in ru["themes"].items():
            print(
                f"  {category:<10}{t['precision']:>10.3f}{t['recall']:>8.3f}{t['mentioned']:>11}"
                f"{t['sentiment_sign_accuracy']:>10.3f}"
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation; exit 0 when data is present, 2 when it is missing."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data directory")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    data: Path = args.data
    if not (data / EN_FILE).exists() and not all((data / f).exists() for f in RU_FILES):
        print(f"no evaluation data under {data}", file=sys.stderr)
        return 2
    report: dict[str, Any] = {}
    if (data / EN_FILE).exists():
        report["english"] = evaluate_english(data)
    if all((data / f).exists() for f in RU_FILES):
        report["russian"] = evaluate_russian(data)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
