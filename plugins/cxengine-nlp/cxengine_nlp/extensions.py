"""The Doc extensions the components write, backed by one dict in `doc.user_data`.

Every `doc._.name` read or write goes through spaCy's Underscore accessor (~1.5 µs);
at 10,000 comments/s, five of them per component were a tenth of the budget. So the
components write one plain dict under `doc.user_data[USER_DATA_KEY]`, and the public
extensions are read-only getters over it. A plain dict (not an object) keeps
`doc.to_bytes()` and DocBin working, since user_data is serialised with msgpack.

Extensions (all read-only):
- `doc._.cx_themes`: tuple of theme ids, in taxonomy order
- `doc._.cx_theme_matches`: tuple of (theme id, start token, end token)
- `doc._.cx_theme_spans`: list of Spans labelled with the theme id (built on access)
- `doc._.cx_sentiment`: score in [-1, 1]
- `doc._.cx_label`: "negative", "neutral" or "positive"
- `doc._.cx_theme_sentiment`: theme id -> score in [-1, 1]
"""

from __future__ import annotations

from typing import Any

from spacy.tokens import Doc, Span

USER_DATA_KEY = "cxengine_nlp"


def state(doc: Doc) -> dict[str, Any]:
    """Return the mutable result dict of `doc`, creating it on first use."""
    data: dict[str, Any] | None = doc.user_data.get(USER_DATA_KEY)
    if data is None:
        data = {}
        doc.user_data[USER_DATA_KEY] = data
    return data


def _read(key: str, default: Any) -> Any:
    def getter(doc: Doc) -> Any:
        data = doc.user_data.get(USER_DATA_KEY)
        return default if data is None else data.get(key, default)

    return getter


def _themes(doc: Doc) -> tuple[str, ...]:
    # tuple() again because a Doc restored from bytes holds lists (msgpack has no tuples).
    return tuple(_read("themes", ())(doc))


def _matches(doc: Doc) -> tuple[tuple[str, int, int], ...]:
    return tuple((theme, start, end) for theme, start, end in _read("matches", ())(doc))


def _spans(doc: Doc) -> list[Span]:
    return [Span(doc, start, end, label=theme) for theme, start, end in _matches(doc)]


def register_extensions() -> None:
    """Register the cx_* Doc extensions (idempotent)."""
    getters = {
        "cx_themes": _themes,
        "cx_theme_matches": _matches,
        "cx_theme_spans": _spans,
        "cx_sentiment": _read("score", 0.0),
        "cx_label": _read("label", "neutral"),
        "cx_theme_sentiment": _read("theme_sentiment", {}),
    }
    for name, getter in getters.items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, getter=getter)
