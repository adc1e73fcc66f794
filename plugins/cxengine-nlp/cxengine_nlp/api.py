"""The plain-Python API the cxengine host calls: `analyze` and `analyzer_version`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from cxengine_nlp.extensions import state
from cxengine_nlp.fastpath import fast_path
from cxengine_nlp.languages import FALLBACK_LANGUAGE, detect_language
from cxengine_nlp.pipeline import PIPELINE_LANGUAGES, forget_if_large, get_pipeline
from cxengine_nlp.taxonomy import Taxonomy, default_taxonomy

#: Comments longer than this are analysed on their first MAX_CHARS characters (cut at
#: a space). 20,000 characters is ~10 pages: far beyond any real comment, while a
#: pasted log or document stays bounded in time and memory.
MAX_CHARS = 20_000
#: Below this many comments a process pool costs more than it saves.
MIN_PARALLEL = 2_000
_BATCH_SIZE = 512


@dataclass(frozen=True)
class CommentAnalysis:
    """Language, themes and sentiment of one comment."""

    language: str
    themes: tuple[str, ...] = ()
    score: float = 0.0
    label: str = "neutral"
    theme_sentiment: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (themes as a list)."""
        out = asdict(self)
        out["themes"] = list(self.themes)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CommentAnalysis:
        """Rebuild an analysis from `to_dict` output."""
        return cls(
            language=data["language"],
            themes=tuple(data["themes"]),
            score=float(data["score"]),
            label=data["label"],
            theme_sentiment=dict(data["theme_sentiment"]),
        )


def analyze(
    texts: Sequence[object],
    *,
    language: str = "auto",
    taxonomy: Taxonomy | None = None,
    workers: int = 1,
) -> list[CommentAnalysis]:
    """Return one `CommentAnalysis` per text, in order.

    `language` is "auto" (detected per comment), "en", "ru" or "xx". None, NaN and
    blank texts give a neutral analysis with no themes. `workers` > 1 shards large
    inputs over a process pool (results are identical to one process).
    """
    if language != "auto" and language not in PIPELINE_LANGUAGES:
        known = ", ".join(("auto", *PIPELINE_LANGUAGES))
        raise ValueError(f"'{language}' is not a known language. Known: {known}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    tax = taxonomy if taxonomy is not None else default_taxonomy()
    if workers > 1 and len(texts) >= MIN_PARALLEL:
        return _analyze_parallel(texts, language, tax, workers)
    return _analyze(texts, language, tax)


def _analyze(
    texts: Sequence[object], language: str, taxonomy: Taxonomy, *, docs: bool = False
) -> list[CommentAnalysis]:
    # docs=True runs the spaCy pipeline over Docs: the reference the fast path is
    # tested and benchmarked against (same results, several times the CPU on real text).
    results: list[CommentAnalysis | None] = [None] * len(texts)
    groups: dict[str, list[tuple[int, str]]] = {}
    for i, raw in enumerate(texts):
        text = _clean(raw)
        if not text.strip():
            lang = FALLBACK_LANGUAGE if language == "auto" else language
            results[i] = CommentAnalysis(language=lang)
            continue
        lang = detect_language(text) if language == "auto" else language
        groups.setdefault(lang, []).append((i, text))
    for lang, items in groups.items():
        nlp = get_pipeline(lang, taxonomy)
        states: Iterable[dict[str, Any]]
        if docs:
            # state(doc) is what doc._.cx_* read, without the accessor overhead.
            pipe = nlp.pipe((text for _, text in items), batch_size=_BATCH_SIZE)
            states = (state(doc) for doc in pipe)
        else:
            analyse = fast_path(nlp).analyse
            states = (analyse(text) for _, text in items)
        for (i, _), data in zip(items, states, strict=True):
            results[i] = CommentAnalysis(
                language=lang,
                themes=tuple(data["themes"]),
                # Rounded so results are stable across platforms and compact in storage.
                score=round(data["score"], 4),
                label=data["label"],
                theme_sentiment={k: round(v, 4) for k, v in data["theme_sentiment"].items()},
            )
        forget_if_large(lang, taxonomy)
    return [r if r is not None else CommentAnalysis(language=FALLBACK_LANGUAGE) for r in results]


def _clean(raw: object) -> str:
    """Turn whatever a data frame holds into text: None/NaN -> "", long text cut."""
    if raw is None:
        return ""
    if isinstance(raw, float) and math.isnan(raw):
        return ""
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", errors="replace")
    elif isinstance(raw, str):
        text = raw
    else:
        text = str(raw)
        if text in ("<NA>", "NaT", "nan"):  # pandas missing-value markers
            return ""
    if len(text) > MAX_CHARS:
        cut = text.rfind(" ", MAX_CHARS // 2, MAX_CHARS)
        text = text[: cut if cut > 0 else MAX_CHARS]
    return text


def _analyze_plain(texts: list[object], language: str, taxonomy: Taxonomy) -> list[dict[str, Any]]:
    # Plain dicts cross the process boundary: pickling spaCy Docs back was what made
    # nlp.pipe(n_process=2) 10-15x slower than one process on this kind of machine.
    return [r.to_dict() for r in _analyze(texts, language, taxonomy)]


def _analyze_parallel(
    texts: Sequence[object], language: str, taxonomy: Taxonomy, workers: int
) -> list[CommentAnalysis]:
    # Several shards per worker keep both busy when one shard is slower (long texts).
    size = max(1, math.ceil(len(texts) / (workers * 4)))
    shards = [list(texts[i : i + size]) for i in range(0, len(texts), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parts = pool.map(_analyze_plain, shards, [language] * len(shards), [taxonomy] * len(shards))
        return [CommentAnalysis.from_dict(d) for part in parts for d in part]
