"""Learning from the scores on the comments' rows inside `cxengine run` (`learn_from`).

The host calls the enricher's `learn` once per run with every non-empty comment and
its score. Here the scores become labels (the configured scale's cut points), the
training set gets its key (a hash of the analyzer version, texts and labels), and the
model is trained, or found in the model cache, once per key:

- in this process (`_SESSIONS`), so `enrich` right after `learn` needs no reload;
- on disk, under ``<project>/.cxengine/nlp-models/<key>/``: the weights, the decision
  layer and the training report. A rerun over the same scored comments reads the report
  only (its tags come from the host's tag cache, keyed by the same hash), and new
  unscored comments are tagged by the saved model without training again.

Below the minimum of labelled comments per class nothing is trained: the key is
still returned (so the tags record what happened) and the lexicon tags every comment.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cxengine_nlp.api import CommentAnalysis
from cxengine_nlp.learn import (
    MIN_PER_CLASS,
    SCALES,
    Decision,
    LearnedSentiment,
    ScoreScale,
    TrainingReport,
    learn,
    training_key,
)
from cxengine_nlp.taxonomy import Taxonomy

#: Where, under the project folder, trained models are kept.
MODEL_DIR = Path(".cxengine") / "nlp-models"
SCALE_KEYS = ("field", "scale", "low", "high", "negative_max", "positive_min")
_SEED = 0


class ScaleError(ValueError):
    """A `learn_from` scale that cannot be used."""


def scale_from(learn_from: Mapping[str, Any]) -> ScoreScale:
    """Return the scale `comments.learn_from` describes: a named one, with overrides.

    `scale: nps` (default: 0-10, negative up to 6, positive from 9) or `scale: csat`
    (1-5, up to 2, from 4); `low`, `high`, `negative_max`, `positive_min` override
    the named scale's bounds.
    """
    name = str(learn_from.get("scale") or "nps")
    if name not in SCALES:
        raise ScaleError(
            f"learn_from.scale: unknown scale {name!r}. Known: {', '.join(sorted(SCALES))}"
        )
    base = SCALES[name]
    bounds = {}
    for key in ("low", "high", "negative_max", "positive_min"):
        value = learn_from.get(key)
        bounds[key] = float(getattr(base, key) if value is None else value)
    if not bounds["low"] <= bounds["negative_max"] < bounds["positive_min"] <= bounds["high"]:
        raise ScaleError(
            "learn_from: the cut points must satisfy low <= negative_max < positive_min <= high, "
            f"got {bounds['low']:g} / {bounds['negative_max']:g} / {bounds['positive_min']:g} / "
            f"{bounds['high']:g}"
        )
    return ScoreScale(name, **bounds)


@dataclass
class _Session:
    """What one `learn` call established, for the `enrich` calls that follow."""

    report: TrainingReport
    model: LearnedSentiment | None
    folder: Path | None
    analyses: dict[str, CommentAnalysis]


_SESSIONS: dict[str, _Session] = {}


def learn_for_host(
    texts: Sequence[str],
    scores: Sequence[Any],
    options: Mapping[str, Any],
    taxonomy: Taxonomy,
    version: str,
    analyze_texts: Any,
) -> dict[str, Any]:
    """Label the texts by their scores, train (or find) the model; return what `learn` answers.

    `analyze_texts(texts) -> list[CommentAnalysis]` is the lexicon pass with the
    enricher's options; `version` the analyzer version (part of the key).
    """
    scale = scale_from(options.get("learn_from") or {})
    labels = [scale.label(s) for s in scores]
    # The raw score's place on the scale is what the model regresses on (a 0 and a 6
    # are both detractors, not equally); so it is part of the key too.
    targets = [scale.position(s) for s in scores]
    from cxengine_nlp.cache_key import learner_version

    settings = f"{version}+learner.{learner_version()}+{scale}+seed{_SEED}+min{MIN_PER_CLASS}"
    key = training_key(texts, labels, settings, targets)
    session = _SESSIONS.get(key)
    folder = _model_folder(options, key)
    if session is None and folder is not None:
        session = _read(folder)
    if session is None:
        session = _train(texts, labels, targets, taxonomy, key, folder, analyze_texts)
    _SESSIONS[key] = session
    report = session.report
    return {
        "version": key,
        "summary": report.summary(),
        "details": {**report.as_dict(), "scale": scale.name, "cut_points": _cuts(scale)},
    }


def learned_analyses(
    texts: Sequence[str], key: str, analyses: Sequence[CommentAnalysis]
) -> list[CommentAnalysis]:
    """Return the analyses with the learned sentiment of model `key` (lexicon if none).

    The lexicon's own score is kept as `lexicon_score` by the caller; themes and the
    per-theme sentiment stay the lexicon's.
    """
    session = _SESSIONS.get(key)
    if session is None:
        raise RuntimeError(f"no learned model {key!r} in this process: call learn() first")
    if session.model is None and session.report.used and session.folder is not None:
        session.model = _read_model(session.folder)
    if session.model is None:
        return list(analyses)
    return session.model.apply(texts, analyses)


def lexicon_analyses(key: str, texts: Sequence[str]) -> list[CommentAnalysis | None]:
    """Return the lexicon analyses `learn` already computed for these texts (None if not)."""
    session = _SESSIONS.get(key)
    known = session.analyses if session is not None else {}
    return [known.get(t) for t in texts]


def _train(
    texts: Sequence[str],
    labels: Sequence[str | None],
    targets: Sequence[float | None],
    taxonomy: Taxonomy,
    key: str,
    folder: Path | None,
    analyze_texts: Any,
) -> _Session:
    rows = [i for i, label in enumerate(labels) if label is not None]
    counts = {label: sum(1 for i in rows if labels[i] == label) for label in set(labels)}
    enough = all(counts.get(c, 0) >= MIN_PER_CLASS for c in ("negative", "neutral", "positive"))
    analyses: dict[str, CommentAnalysis] = {}
    if enough:
        scored_texts = [texts[i] for i in rows]
        for text, analysis in zip(scored_texts, analyze_texts(scored_texts), strict=True):
            analyses[text] = analysis
    model, report = learn(
        [texts[i] for i in rows],
        [labels[i] for i in rows],
        targets=[targets[i] for i in rows],
        analyses=[analyses[texts[i]] for i in rows] if enough else None,
        taxonomy=taxonomy,
        seed=_SEED,
    )
    report = replace(report, key=key)
    session = _Session(report, model, folder, analyses)
    if folder is not None:
        _write(folder, session)
    return session


def _model_folder(options: Mapping[str, Any], key: str) -> Path | None:
    project = options.get("project_dir")
    return Path(str(project)) / MODEL_DIR / key if project else None


def _read(folder: Path) -> _Session | None:
    """Return the saved report (the weights load lazily), or None when absent or unreadable."""
    try:
        meta = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        report = TrainingReport.from_dict(meta["report"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if report.used and not (folder / "model.bin").is_file():
        return None
    return _Session(report, None, folder, {})


def _read_model(folder: Path) -> LearnedSentiment:
    meta = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    decision = Decision.from_dict(meta["decision"])
    return LearnedSentiment.from_bytes((folder / "model.bin").read_bytes(), decision)


def _write(folder: Path, session: _Session) -> None:
    """Save report and weights atomically (a folder renamed into place); a failure is no error.

    The cache only saves time: a read-only project folder trains on every run instead.
    """
    meta = {
        "report": session.report.as_dict(),
        "decision": session.model.decision.as_dict() if session.model is not None else None,
    }
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
        if session.model is not None:
            (staging / "model.bin").write_bytes(session.model.to_bytes())
        (staging / "report.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        try:
            os.replace(staging, folder)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another run saved it first
    except OSError:
        return


def _cuts(scale: ScoreScale) -> dict[str, str]:
    return {
        "negative": f"{scale.low:g}-{scale.negative_max:g}",
        "positive": f"{scale.positive_min:g}-{scale.high:g}",
        "valid": f"{scale.low:g}-{scale.high:g}",
    }
