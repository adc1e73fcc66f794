"""Turning vendors' cell texts into cxengine values: scores, timestamps, channels.

A value that cannot be converted is a reject of that field only, as in cxengine's own
field typing (`field 'satisfaction': 'Sort of' is not a score`): while an export's
records are converted (`collecting_bad_values`), the bad value is recorded with its
field and text, and becomes empty, so the respondent's other answers still count.
Outside that, `bad_value` raises `BadValue`. Nothing is dropped silently and nothing is
guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cxengine_exports._host import DataError

# The answer labels survey tools export instead of numbers, per cxengine field, on the
# scales of the standard specs: satisfaction 1–5, effort 1–7 (7 = very easy).
DEFAULT_LABELS: dict[str, dict[str, float | None]] = {
    "satisfaction": {
        "very satisfied": 5,
        "extremely satisfied": 5,
        "satisfied": 4,
        "somewhat satisfied": 4,
        "neither satisfied nor dissatisfied": 3,
        "neutral": 3,
        "somewhat dissatisfied": 2,
        "dissatisfied": 2,
        "very dissatisfied": 1,
        "extremely dissatisfied": 1,
        "очень доволен": 5,
        "полностью удовлетворен": 5,
        "доволен": 4,
        "скорее доволен": 4,
        "нейтрально": 3,
        "скорее недоволен": 2,
        "недоволен": 2,
        "очень недоволен": 1,
    },
    "effort": {
        "strongly agree": 7,
        "agree": 6,
        "somewhat agree": 5,
        "neither agree nor disagree": 4,
        "somewhat disagree": 3,
        "disagree": 2,
        "strongly disagree": 1,
    },
}

_LEADING_NUMBER = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)(?:\s*(?:[-–—:=]\s*\S.*|\*+|/\s*\d+)?)?\s*$")


class BadValue(Exception):
    """A cell that cannot become its field's value (recorded, or raised; see the module)."""

    def __init__(self, field: str, value: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.value = value
        self.reason = reason


# The bad values of the record being converted. A context variable rather than a
# parameter: the converters sit several calls below each adapter's `convert`, and an
# adapter should not have to thread a collector through every one of them.
_BAD_VALUES: ContextVar[list[BadValue] | None] = ContextVar("bad_values", default=None)


@contextmanager
def collecting_bad_values() -> Iterator[list[BadValue]]:
    """Within the block, `bad_value` records a bad value and the field becomes empty."""
    found: list[BadValue] = []
    token = _BAD_VALUES.set(found)
    try:
        yield found
    finally:
        _BAD_VALUES.reset(token)


def bad_value(field: str, value: str, reason: str) -> None:
    """A value of ``field`` that cannot be converted: recorded (and empty), else raised."""
    bad = BadValue(field, value, reason)
    found = _BAD_VALUES.get()
    if found is None:
        raise bad
    found.append(bad)


def score(
    text: str | None, field: str, labels: Mapping[str, Mapping[str, float | None]]
) -> float | int | None:
    """A score from an answer: ``9``, ``10 - Extremely likely``, ``4/5``, or a known label.

    ``labels`` (the options' ``labels`` over the vendor's and the defaults) map an
    answer label to its score; a label mapped to None is "not answered" (Zendesk's
    ``offered``). Anything else is a bad value of ``field`` (see `bad_value`).
    """
    if text is None:
        return None
    value = text.strip()
    if not value:
        return None
    match = _LEADING_NUMBER.match(value)
    if match:
        number = float(match.group(1).replace(",", "."))
        return int(number) if number.is_integer() else number
    key = " ".join(value.casefold().split())
    for scale in (labels.get(field, {}), DEFAULT_LABELS.get(field, {})):
        folded = {" ".join(k.casefold().split()): v for k, v in scale.items()}
        if key in folded:
            found = folded[key]
            return int(found) if isinstance(found, float) and found.is_integer() else found
    bad_value(
        field,
        text,
        f"field {field!r}: {text!r} is not a score; map the answer in labels.{field}",
    )
    return None


def zone(name: str | None, where: str) -> ZoneInfo | None:
    """The IANA zone ``name`` (None stays None); an unknown name is a usage error."""
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DataError(
            f"{where}: unknown time zone {name!r} (use an IANA name such as Europe/Moscow)"
        ) from None


class Stamp:
    """Parses one vendor's timestamps into aware datetimes.

    ISO 8601 (with or without an offset) is always accepted, then ``formats`` in order.
    A value without an offset is in ``default_zone`` (the account's zone the vendor
    exports in); remembers whether it ever had to assume one.
    """

    def __init__(self, formats: Sequence[str], default_zone: ZoneInfo | None):
        self.formats = tuple(formats)
        self.default_zone = default_zone
        self.assumed_utc = False

    def parse(self, text: str | None, field: str) -> dt.datetime | None:
        """An aware datetime; None for an empty cell or a bad value (see `bad_value`)."""
        if text is None or not text.strip():
            return None
        value = " ".join(text.split())
        parsed = _iso(value)
        if parsed is None:
            for fmt in self.formats:
                try:
                    parsed = dt.datetime.strptime(value, fmt)
                    break
                except ValueError:
                    continue
        if parsed is None:
            shown = " or ".join(self.formats) or "ISO 8601"
            bad_value(field, text, f"field {field!r}: {text!r} is not a timestamp ({shown})")
            return None
        return self.attach(parsed)

    def attach(self, value: dt.datetime) -> dt.datetime:
        """Give a naive datetime the export's zone (UTC when none is configured)."""
        if value.tzinfo is not None:
            return value
        if self.default_zone is None:
            self.assumed_utc = True
            return value.replace(tzinfo=dt.UTC)
        return value.replace(tzinfo=self.default_zone)


def _iso(value: str) -> dt.datetime | None:
    if not value[:4].isdigit() or len(value) < 10 or value[4] != "-":
        return None
    candidate = value.replace(" UTC", "+00:00").replace(" +", "+").replace(" -", "-")
    try:
        return dt.datetime.fromisoformat(candidate)
    except ValueError:
        return None


def from_unix(value: object, field: str) -> dt.datetime | None:
    """A Unix timestamp (seconds, as Intercom's API gives them) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        bad_value(field, str(value), f"field {field!r}: {value!r} is not a Unix time")
        return None
    return dt.datetime.fromtimestamp(value, dt.UTC)


def after(start: dt.datetime | None, minutes: str | float | None, field: str) -> dt.datetime | None:
    """``start`` plus a duration in minutes (a "first reply time in minutes" column)."""
    if minutes is None or start is None or (isinstance(minutes, str) and not minutes.strip()):
        return None
    if isinstance(minutes, str):
        parsed = duration_minutes(minutes)
        if parsed is None:
            bad_value(field, minutes, f"field {field!r}: {minutes!r} is not a duration")
            return None
        minutes = parsed
    return start + dt.timedelta(minutes=float(minutes))


def duration_minutes(text: str) -> float | None:
    """Minutes in ``90``, ``1.5`` or ``01:30:00`` (h:mm:ss) / ``01:30`` (h:mm); else None."""
    value = text.strip().replace(",", ".")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    parts = value.split(":")
    if 2 <= len(parts) <= 3 and all(p.isdigit() for p in parts):
        hours, mins = int(parts[0]), int(parts[1])
        secs = int(parts[2]) if len(parts) == 3 else 0
        return hours * 60 + mins + secs / 60
    return None


def channel(text: str | None, table: Mapping[str, str]) -> str | None:
    """The cxengine channel (phone, chat, email, social, web_form, …) of a vendor's label.

    Unknown labels are kept, lower-cased with underscores, so a new vendor channel
    shows up as its own slice instead of vanishing.
    """
    if text is None or not str(text).strip():
        return None
    key = " ".join(str(text).casefold().split())
    return table.get(key, key.replace(" ", "_"))
