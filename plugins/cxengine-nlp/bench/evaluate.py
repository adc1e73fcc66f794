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
import random
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cxengine_nlp import CommentAnalysis, analyze
from cxengine_nlp.learn import FOLDS, LABELS, SCALES, cross_validate
from cxengine_nlp.learn import classification_report as full_report
from cxengine_nlp.learn import fit as fit_model
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
    texts, gold, _ = load_english_ratings(data)
    return texts, gold


def load_english_ratings(data: Path) -> tuple[list[str], list[str], list[int]]:
    """Return (texts, gold labels, 1-5 ratings) for rows that have a title or a text."""
    texts: list[str] = []
    gold: list[str] = []
    ratings: list[int] = []
    with (data / EN_FILE).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            title = html.unescape(row.get("Title") or "").strip()
            body = html.unescape(row.get("Review Text") or "").strip()
            if not (title or body):
                continue
            text = f"{title}. {body}" if title and body else title or body
            texts.append(text)
            gold.append(rating_label(int(row["Rating"])))
            ratings.append(int(row["Rating"]))
    return texts, gold, ratings


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


TARGET_EN_LEARNED = 0.65
TARGET_RU_LEARNED_2CLASS = 0.90
#: Share of rows treated as "no score" in the held-out evaluation.
HELD_OUT_SHARE = 0.2
#: `--cv-seeds` default: the protocol's figure is seed 0 (folds and training seed);
#: on a thousand rows another seed moves English macro-F1 by up to 0.05, so the spread
#: over a few seeds is reported beside it.
CV_SEEDS = 1


def seed_spread(values: Sequence[float]) -> dict[str, Any]:
    """Return the figure per seed with its mean, minimum and maximum."""
    if not values:
        raise ValueError("seed_spread needs at least one figure")
    return {
        "per_seed": [round(v, 4) for v in values],
        "mean": sum(values) / len(values),
        "min": min(values),
        "max": max(values),
    }


def _macro_f1_over_seeds(
    texts: Sequence[str],
    gold: Sequence[str],
    analyses: Sequence[CommentAnalysis],
    seeds: int,
    labels: Sequence[str] = LABELS,
    folds: int = FOLDS,
    lexicon_labels: Sequence[str] | None = None,
    targets: Sequence[float | None] | None = None,
) -> dict[str, Any]:
    """k-fold macro-F1 of the learned model and of the lexicon, for seeds 0 .. seeds-1.

    A seed sets both the folds and the training seed (`cross_validate(seed=...)`).
    `lexicon_labels` are the lexicon's predictions to compare with (default: its
    3-class labels; the 2-class figures pass the ±0.05 band's).
    """
    ours = [a.label for a in analyses] if lexicon_labels is None else list(lexicon_labels)
    learned, lexicon = [], []
    for seed in range(seeds):
        cv = cross_validate(texts, gold, analyses, targets=targets, seed=seed, folds=folds)
        rows = sorted(cv["predictions"])
        rgold = [gold[i] for i in rows]
        learned.append(
            full_report(rgold, [cv["predictions"][i][0] for i in rows], labels)["macro_f1"]
        )
        lexicon.append(full_report(rgold, [ours[i] for i in rows], labels)["macro_f1"])
    return {"learned": seed_spread(learned), "lexicon": seed_spread(lexicon)}


def _brief(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "n": report["n"],
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "f1": {k: v["f1"] for k, v in report["classes"].items()},
        "confusion": report["confusion"],
    }


def learned_figures(
    texts: Sequence[str],
    gold: Sequence[str],
    analyses: Sequence[CommentAnalysis],
    seeds: int = CV_SEEDS,
    targets: Sequence[float | None] | None = None,
) -> dict[str, Any]:
    """5-fold CV of the learned model vs the lexicon, and a held-out "unscored" part.

    `targets`: the score's position on its scale per row (the model's regression
    target, as `cxengine run` passes it), or None to learn from the classes alone.

    With `seeds` > 1 also the 5-fold macro-F1 for seeds 0 .. seeds-1 (`cv_seeds`).
    """
    cv = cross_validate(texts, gold, analyses, targets=targets)
    order = list(range(len(texts)))
    random.Random(11).shuffle(order)
    cut = int(len(order) * (1 - HELD_OUT_SHARE))
    fit, held = order[:cut], order[cut:]
    # As `cxengine run` would: cross-validate and tune on the scored part, then train.
    model, _ = fit_model(
        [texts[i] for i in fit],
        [gold[i] for i in fit],
        [analyses[i] for i in fit],
        targets=None if targets is None else [targets[i] for i in fit],
    )
    guesses = model.predict([texts[i] for i in held], [analyses[i] for i in held])
    held_gold = [gold[i] for i in held]
    return {
        "cv_learned": _brief(cv["learned"]),
        "cv_lexicon": _brief(cv["lexicon"]),
        "held_out_learned": _brief(full_report(held_gold, [g for g, _ in guesses])),
        "held_out_lexicon": _brief(full_report(held_gold, [analyses[i].label for i in held])),
        "predictions": cv["predictions"],
        **(
            {"cv_seeds": _macro_f1_over_seeds(texts, gold, analyses, seeds, targets=targets)}
            if seeds > 1
            else {}
        ),
    }


def evaluate_english_learned(data: Path, seeds: int = CV_SEEDS) -> dict[str, Any]:
    """Learned-from-ratings sentiment on the English reviews (rating = the score)."""
    texts, gold, ratings = load_english_ratings(data)
    start = time.perf_counter()
    # The rating is the score: its position on the 1-5 scale is the regression target,
    # as `cxengine run` passes a `learn_from: {scale: csat}` score.
    targets = [SCALES["csat"].position(r) for r in ratings]
    figures = learned_figures(texts, gold, analyze(texts), seeds, targets)
    figures.pop("predictions")
    figures["seconds"] = time.perf_counter() - start
    figures["target"] = TARGET_EN_LEARNED
    figures["target_met"] = figures["cv_learned"]["macro_f1"] >= TARGET_EN_LEARNED
    return figures


def _three(sentiment: str | None) -> str | None:
    """SentiRuEval sentiment -> 3 classes; "both" (mixed) counts as neutral."""
    if sentiment in ("positive", "negative", "neutral"):
        return sentiment
    if sentiment == "both":
        return "neutral"
    return None


def evaluate_russian_learned(data: Path, seeds: int = CV_SEEDS) -> dict[str, Any]:
    """Learned sentiment on the Russian reviews: per review (3 and 2 classes), per category."""
    reviews = load_russian(data)
    texts = [r["text"] for r in reviews]
    analyses = analyze(texts, taxonomy=restaurant_taxonomy())
    out: dict[str, Any] = {}
    rows = [i for i, r in enumerate(reviews) if _three(r["categories"].get("Whole"))]
    gold = [str(_three(reviews[i]["categories"]["Whole"])) for i in rows]
    whole = learned_figures([texts[i] for i in rows], gold, [analyses[i] for i in rows], seeds)
    predictions = whole.pop("predictions")
    out["review_3class"] = whole
    two_gold, two_learned, two_lexicon = [], [], []
    for k, i in enumerate(rows):
        if gold[k] in ("positive", "negative"):
            two_gold.append(gold[k])
            two_learned.append(two_class(predictions[k][1]))
            two_lexicon.append(two_class(analyses[i].score))
    labels2 = ("negative", "positive")
    out["review_2class"] = {
        "learned": _brief(full_report(two_gold, two_learned, labels2)),
        "lexicon": _brief(full_report(two_gold, two_lexicon, labels2)),
        "target": TARGET_RU_LEARNED_2CLASS,
    }
    out["review_2class"]["target_met"] = (
        out["review_2class"]["learned"]["macro_f1"] >= TARGET_RU_LEARNED_2CLASS
    )
    # The 2-class task proper: a model trained on the positive and negative reviews only
    # (as SentiRuEval's 2-class task and the lexicon's 2-class figure use them), its
    # out-of-fold label; the row above reads the 3-class model's score instead.
    pairs = [(k, i) for k, i in enumerate(rows) if gold[k] in ("positive", "negative")]
    cv2 = cross_validate(
        [texts[i] for _, i in pairs], [gold[k] for k, _ in pairs], [analyses[i] for _, i in pairs]
    )
    gold2 = [gold[k] for k, _ in pairs]
    ordered2 = sorted(cv2["predictions"])
    trained = full_report(
        [gold2[j] for j in ordered2], [cv2["predictions"][j][0] for j in ordered2], labels2
    )
    out["review_2class_trained"] = {
        "learned": _brief(trained),
        "lexicon": out["review_2class"]["lexicon"],
        "target": TARGET_RU_LEARNED_2CLASS,
        "target_met": trained["macro_f1"] >= TARGET_RU_LEARNED_2CLASS,
    }
    if seeds > 1:
        out["review_2class_trained"]["cv_seeds"] = _macro_f1_over_seeds(
            [texts[i] for _, i in pairs],
            gold2,
            [analyses[i] for _, i in pairs],
            seeds,
            labels2,
            lexicon_labels=[two_class(analyses[i].score) for _, i in pairs],
        )
    categories: dict[str, Any] = {}
    for category, ids in RU_THEMES.items():
        crow = [i for i, r in enumerate(reviews) if _three(r["categories"].get(category))]
        cgold = [str(_three(reviews[i]["categories"][category])) for i in crow]
        counts = {label: cgold.count(label) for label in LABELS}
        if min(counts.values()) < 5:
            categories[category] = {"counts": counts, "skipped": "a class has < 5 reviews"}
            continue
        cv = cross_validate([texts[i] for i in crow], cgold, [analyses[i] for i in crow])
        theme_labels = [
            _sign_label(sum(analyses[i].theme_sentiment.get(t, 0.0) for t in ids)) for i in crow
        ]
        categories[category] = {
            "counts": counts,
            "learned": _brief(cv["learned"]),
            "lexicon_review": _brief(cv["lexicon"]),
            "lexicon_theme": _brief(full_report(cgold, theme_labels)),
        }
    out["categories"] = categories
    return out


def _sign_label(value: float) -> str:
    label = two_class(value)
    return label


def _print_learned(name: str, learned: dict[str, Any], lexicon: dict[str, Any]) -> None:
    f1 = learned["f1"]
    print(
        f"  {name:<26} learned macro-F1 {learned['macro_f1']:.3f} "
        f"(lexicon {lexicon['macro_f1']:.3f}, {learned['macro_f1'] - lexicon['macro_f1']:+.3f})"
        f"  F1 " + " ".join(f"{k[:3]} {v:.3f}" for k, v in f1.items())
    )


def _print_seeds(figures: dict[str, Any]) -> None:
    spread = figures.get("cv_seeds")
    if not spread:
        return
    learned, lexicon = spread["learned"], spread["lexicon"]
    print(
        f"  {'5-fold over ' + str(len(learned['per_seed'])) + ' seeds':<26} learned mean "
        f"{learned['mean']:.3f} (min {learned['min']:.3f}, max {learned['max']:.3f}); "
        f"lexicon mean {lexicon['mean']:.3f}; per seed "
        + " ".join(f"{v:.3f}" for v in learned["per_seed"])
    )


def _print_confusion(confusion: dict[str, dict[str, int]]) -> None:
    labels = list(confusion)
    print("      gold \\ predicted " + "".join(f"{p[:8]:>10}" for p in labels))
    for g in labels:
        print(f"      {g:<20}" + "".join(f"{confusion[g][p]:>10}" for p in labels))


def print_learned(report: dict[str, Any]) -> None:
    """Print the learned-from-scores figures."""
    en = report.get("english_learned")
    if en:
        status = "met" if en["target_met"] else "MISSED"
        print(f"English, learned from ratings (target {en['target']:.2f}: {status})")
        _print_learned("5-fold CV", en["cv_learned"], en["cv_lexicon"])
        _print_confusion(en["cv_learned"]["confusion"])
        _print_seeds(en)
        _print_learned("held-out 20% unscored", en["held_out_learned"], en["held_out_lexicon"])
    ru = report.get("russian_learned")
    if ru:
        print("Russian, learned from the reviews' own sentiment labels")
        r3 = ru["review_3class"]
        _print_learned("review 3-class, 5-fold", r3["cv_learned"], r3["cv_lexicon"])
        _print_confusion(r3["cv_learned"]["confusion"])
        _print_seeds(r3)
        _print_learned("review 3-class, held-out", r3["held_out_learned"], r3["held_out_lexicon"])
        r2 = ru["review_2class"]
        status = "met" if r2["target_met"] else "MISSED"
        _print_learned(f"review 2-class ({status})", r2["learned"], r2["lexicon"])
        r2t = ru["review_2class_trained"]
        status = "met" if r2t["target_met"] else "MISSED"
        _print_learned(f"2-class model ({status})", r2t["learned"], r2t["lexicon"])
        _print_confusion(r2t["learned"]["confusion"])
        _print_seeds(r2t)
        for category, c in ru["categories"].items():
            if "learned" in c:
                _print_learned(f"{category} 3-class", c["learned"], c["lexicon_theme"])
            else:
                print(f"  {category}: {c['skipped']} {c['counts']}")


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
    parser.add_argument(
        "--learned",
        action="store_true",
        help="also train from the scores (5-fold CV; about a minute)",
    )
    parser.add_argument(
        "--cv-seeds",
        type=int,
        default=CV_SEEDS,
        help="with --learned: also 5-fold macro-F1 for seeds 0..N-1 (folds and training)",
    )
    args = parser.parse_args(argv)
    if args.cv_seeds < 1:
        parser.error(f"--cv-seeds must be at least 1, got {args.cv_seeds}")
    data: Path = args.data
    if not (data / EN_FILE).exists() and not all((data / f).exists() for f in RU_FILES):
        print(f"no evaluation data under {data}", file=sys.stderr)
        return 2
    report: dict[str, Any] = {}
    if (data / EN_FILE).exists():
        report["english"] = evaluate_english(data)
    if all((data / f).exists() for f in RU_FILES):
        report["russian"] = evaluate_russian(data)
    if args.learned:
        if "english" in report:
            report["english_learned"] = evaluate_english_learned(data, args.cv_seeds)
        if "russian" in report:
            report["russian_learned"] = evaluate_russian_learned(data, args.cv_seeds)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(report)
        print_learned(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
