"""Typing an engine dataset's columns as cxengine's fields, in portable SQL.

The same rules as cxengine/dataset/fieldtypes.py: a present value that does not fit
its type is NULL (and a reject of that field), detected decimal marks and date
formats, datetimes stored as UTC instants and dates as local days. PostgreSQL has no
TRY_CAST, so every text is checked by a regular expression before it is cast (a CAST
of 2025-02-30 would fail the whole query instead of rejecting one value).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from cxengine.config import DatasetConfig, FieldConfig
from cxengine.dataset.fieldtypes import (
    DATETIME_FORMATS,
    FALSE_VALUES,
    GROUP_SPACES,
    ISO,
    NATIVE_OK,
    NATIVE_TYPE,
    TRUE_VALUES,
    WHITESPACE,
    FieldPlan,
)
from cxengine.engines.api import NotPortable
from cxengine.errors import DataError, did_you_mean

if TYPE_CHECKING:
    from cxengine.engines.relation import EngineDataset


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


@dataclass
class EnginePlan:
    """How one field is typed in the engine."""

    name: str
    column: str
    type: str
    kind: str  # the column's kind in the engine (text, int, timestamp, …)
    typed: exp.Expression
    bad: exp.Expression | None  # TRUE when a present value does not fit; None: never
    config: FieldConfig | None = None  # None: an undeclared field
    formats: tuple[str, ...] = ()
    decimal: str = "."
    note: str | None = None

    def field_plan(self) -> FieldPlan:
        """The embedded loader's plan of this field (for the same reject reasons)."""
        return FieldPlan(self.name, self.column, self.type, "VARCHAR", self.config,
                         formats=self.formats, decimal=self.decimal)  # fmt: skip


#: What the engine must find out from the data before it can type a text field:
#: the decimal mark of a number, the formats of a date or datetime.
Detect = Callable[[list["Pending"]], None]


@dataclass
class Pending:
    """A text field whose decimal mark or date formats are read from the data."""

    name: str
    column: str
    type: str
    kind: str
    decimal: str = "."
    formats: tuple[str, ...] = ()
    note: str | None = None


def plan_fields(
    name: str,
    config: DatasetConfig,
    kinds: Mapping[str, str],
    detect: Detect | None = None,
) -> list[EnginePlan]:
    """Decide how every field is typed from its engine column.

    Without `fields:`, text columns are strings and other columns keep their type
    (the embedded loader also infers types of text columns; an engine does not yet).
    """
    if not config.fields:
        return [
            _plan(name, col, col, NATIVE_TYPE.get(kind, "string"), kind, config, None)
            for col, kind in kinds.items()
        ]
    pending: dict[str, Pending] = {}
    for field_name, cfg in config.fields.items():
        col = cfg.column or field_name
        if col not in kinds:
            raise DataError(
                f"dataset {name!r}: field {field_name!r} reads column {col!r}, which is not "
                f"in the relation{did_you_mean(col, list(kinds))}. "
                f"Available columns: {', '.join(kinds) or '(none)'}"
            )
        if kinds[col] in NATIVE_OK[cfg.type] or cfg.type == "string":
            continue
        if cfg.type == "number" and not cfg.decimal:
            pending[field_name] = Pending(field_name, col, cfg.type, kinds[col])
        if cfg.type in ("date", "datetime") and not cfg.format:
            pending[field_name] = Pending(field_name, col, cfg.type, kinds[col])
    if pending and detect is not None:
        detect(list(pending.values()))
    plans = []
    for field_name, cfg in config.fields.items():
        col = cfg.column or field_name
        found = pending.get(field_name)
        plans.append(_plan(name, field_name, col, cfg.type, kinds[col], config, cfg, found))
    return plans


def check_field(dataset: str, name: str, cfg: FieldConfig) -> None:
    """Raise NotPortable when a declared field cannot be typed the embedded way."""
    if cfg.format and cfg.format != ISO:
        strptime_regex(cfg.format, dataset=dataset, field=name)


def _plan(
    dataset: str,
    name: str,
    column: str,
    type_: str,
    kind: str,
    config: DatasetConfig,
    cfg: FieldConfig | None,
    found: Pending | None = None,
) -> EnginePlan:
    x = _col(column)
    zone = (cfg.timezone if cfg is not None else None) or "UTC"
    if kind in NATIVE_OK[type_]:
        return EnginePlan(name, column, type_, kind, _native(type_, kind, x, zone), None, cfg)
    text: exp.Expression = (
        x if kind == "text" else exp.Cast(this=x, to=exp.DataType.build("VARCHAR"))
    )
    missing = _missing(text, config.null_values)
    if type_ == "string":
        typed = exp.Case(ifs=[exp.If(this=missing, true=exp.Null())], default=text)
        return EnginePlan(name, column, type_, kind, typed, None, cfg)
    decimal = (found.decimal if found else None) or (cfg.decimal if cfg else None) or "."
    formats: tuple[str, ...] = ()
    if type_ in ("date", "datetime"):
        if found and found.formats:
            formats = found.formats
        else:
            formats = (cfg.format,) if cfg and cfg.format else (ISO,)
    value = _from_text(type_, text, cfg, decimal, formats, zone, dataset, name)
    typed = exp.Case(ifs=[exp.If(this=missing.copy(), true=exp.Null())], default=value)
    bad = exp.And(
        this=exp.Not(this=exp.Paren(this=missing)),
        expression=exp.Is(this=exp.Paren(this=value.copy()), expression=exp.Null()),
    )
    return EnginePlan(name, column, type_, kind, typed, exp.Paren(this=bad), cfg, formats,
                      decimal, found.note if found else None)  # fmt: skip


def _missing(text: exp.Expression, null_values: Sequence[str]) -> exp.Expression:
    """TRUE when a text is NULL or, once trimmed, one of the dataset's null markers."""
    missing: exp.Expression = exp.Is(this=text.copy(), expression=exp.Null())
    markers = sorted({m.strip(WHITESPACE) for m in null_values})
    if markers:
        trimmed = exp.Trim(this=text.copy(), expression=exp.Literal.string(WHITESPACE))
        marker = exp.In(this=trimmed, expressions=[exp.Literal.string(m) for m in markers])
        # Trimming a set of (multi-byte) characters off every value costs more than
        # the rest of the typing (PostgreSQL: 0.3-0.6 s per 1M values). A text can
        # only trim to a marker when it is empty or starts with a space or with a
        # marker's first character: that cheap test comes first, and AND stops there
        # for nearly every value.
        firsts = sorted(set(WHITESPACE) | {m[0] for m in markers if m})
        maybe = exp.Or(
            this=exp.EQ(this=text.copy(), expression=exp.Literal.string("")),
            expression=exp.In(
                this=exp.Left(this=text.copy(), expression=exp.Literal.number(1)),
                expressions=[exp.Literal.string(c) for c in firsts],
            ),
        )
        missing = exp.Or(
            this=missing,
            expression=exp.And(this=exp.Paren(this=maybe), expression=marker),
        )
    return missing


def _native(type_: str, kind: str, x: exp.Expression, zone: str) -> exp.Expression:
    if type_ == "integer":
        if kind == "int":
            return exp.Cast(this=x, to=exp.DataType.build("BIGINT"))
        whole = exp.EQ(this=x.copy(), expression=exp.Floor(this=x.copy()))
        in_range = exp.Between(
            this=x.copy(), low=exp.Literal.number(-(2**63)), high=exp.Literal.number(2**63 - 1)
        )
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.And(this=whole, expression=in_range),
                    true=exp.Cast(this=x, to=exp.DataType.build("BIGINT")),
                )
            ]
        )
    if type_ == "number":
        return exp.Cast(this=x, to=exp.DataType.build("DOUBLE"))
    if type_ == "boolean":
        if kind == "bool":
            return x
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.EQ(this=x.copy(), expression=exp.Literal.number(1)), true=exp.true()
                ),
                exp.If(
                    this=exp.EQ(this=x.copy(), expression=exp.Literal.number(0)), true=exp.false()
                ),
            ]
        )
    # As the embedded loader: a datetime is stored as its instant (naive UTC), a date
    # as the calendar day in its zone (cxengine/dataset/fieldtypes.py).
    instant = type_ == "datetime"
    if kind == "timestamptz":
        tstz = exp.Cast(this=x, to=exp.DataType.build("TIMESTAMPTZ"))
        value: exp.Expression = from_aware(tstz, zone, instant=instant)
    else:
        value = from_naive(
            exp.Cast(this=x, to=exp.DataType.build("TIMESTAMP")), zone, instant=instant
        )
    return exp.Cast(this=value, to=exp.DataType.build("DATE")) if type_ == "date" else value


# Integers: the embedded loader reads any run of digits (with `.0…`) that fits a
# BIGINT; 19 digits can overflow, so they go through a DECIMAL(38, 0) range check.
_INTEGER_RE = r"^([+-]?)0*([0-9]{1,19})(\.0*)?$"
_NUMBER_RE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
#: A number text whose value is between 1e-300 and 1e300 in size (or zero): a cast
#: of it cannot overflow or underflow (PostgreSQL fails the whole query when one does).
_PLAIN_NUMBER_RE = r"^[+-]?[0-9.]{1,200}([eE][+-]?[0-9]{1,2})?$"
#: The exact decimal digits of the smallest size that rounds to infinity, (2 − 2⁻⁵³)·2¹⁰²³
#: (1.797…e308), and of the largest that rounds to zero, 2⁻¹⁰⁷⁵ (2.470…e-324).
_OVERFLOW_DIGITS = str((2**54 - 1) * 2**970)
_UNDERFLOW_DIGITS = str(5**1075)
_MONTH_DAY = (
    r"((0?[13578]|1[02])-(0?[1-9]|[12][0-9]|3[01])"
    r"|(0?[469]|11)-(0?[1-9]|[12][0-9]|30)"
    r"|0?2-(0?[1-9]|1[0-9]|2[0-8]))"
)
# Years 0001 to 9999 (Python's), without a lookahead: RE2 (DuckDB) has none.
_YEAR = r"([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
_LEAP_DAY = r"([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)-0?2-29"
_DATE_RE = rf"^(({_YEAR}-{_MONTH_DAY})|{_LEAP_DAY})"
_CLOCK = r"([01]?[0-9]|2[0-3]):[0-5]?[0-9](:[0-5]?[0-9](\.[0-9]{1,6})?)?"
#: A valid calendar date, optionally with a clock time: what may be CAST safely.
_DATETIME_RE = _DATE_RE + rf"([ T]{_CLOCK})?$"
#: The end of a day written as the next day's midnight (`2025-01-31 24:00`), which
#: DuckDB's cast reads as `2025-02-01 00:00` (minutes and seconds zero, however
#: written). A time past year 9999 once in UTC is a reject (`_within_years`).
_MIDNIGHT_TAIL = r"[ T]24:0?0(:0?0(\.0+)?)?"
_END_OF_DAY_RE = rf"{_DATE_RE}{_MIDNIGHT_TAIL}$"
#: ISO text ending in a UTC offset (as cxengine/dataset/fieldtypes.py reads it).
_OFFSET_TAIL = r"\s*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_HAS_OFFSET = r"[T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"


def _matches(x: exp.Expression, pattern: str) -> exp.Expression:
    return exp.RegexpLike(this=x, expression=exp.Literal.string(pattern))


def _sub(x: exp.Expression, pattern: str, replacement: str) -> exp.Expression:
    """regexp_replace(x, pattern, replacement) with \\1-style group references.

    Engines spelling group references otherwise rewrite them (Spark: $1).
    """
    return exp.RegexpReplace(
        this=x, expression=exp.Literal.string(pattern), replacement=exp.Literal.string(replacement)
    )


def _when(cond: exp.Expression, value: exp.Expression) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=cond, true=value)])


def _replace(x: exp.Expression, old: str, new: str) -> exp.Expression:
    return exp.Anonymous(
        this="replace", expressions=[x, exp.Literal.string(old), exp.Literal.string(new)]
    )


def _strip_groups(x: exp.Expression, *, spaces: bool) -> exp.Expression:
    for ch in (*GROUP_SPACES, *((" ",) if spaces else ())):
        x = _replace(x, ch, "")
    return x


def _trimmed(x: exp.Expression) -> exp.Expression:
    return exp.Trim(this=x, expression=exp.Literal.string(WHITESPACE))


def detect(dataset: EngineDataset, relation: exp.Expression, todo: list[Pending]) -> None:
    """Read each pending field's decimal mark or date formats from its values, in one query.

    The embedded rules (cxengine/dataset/fieldtypes.py): a comma when some values look
    like 1,5 and none has a point; the date format most values parse with, and its
    relatives with or without a time. Counted over every row (the embedded loader
    reads a spread sample of 20,000 rows: the same rows below that size).
    """
    exprs: list[exp.Expression] = []
    slots: list[tuple[Pending, str]] = []
    for p in todo:
        text: exp.Expression = _col(p.column)
        if p.kind != "text":
            text = exp.Cast(this=text, to=exp.DataType.build("VARCHAR"))
        t = _trimmed(text)
        if p.type == "number":
            x = _strip_groups(t.copy(), spaces=True)
            exprs.append(_count_where(_matches(x.copy(), "^-?[0-9]+,[0-9]+$")))
            exprs.append(
                _count_where(exp.Like(this=t.copy(), expression=exp.Literal.string("%.%")))
            )
            slots += [(p, "comma"), (p, "point")]
        else:
            for fmt in DATETIME_FORMATS:
                parsed = parse_datetime(t.copy(), (fmt,), "UTC")
                exprs.append(_count_where(exp.Not(this=exp.Is(this=parsed, expression=exp.Null()))))
                slots.append((p, fmt))
    _, rows = dataset.fetch(exp.select(*exprs).from_(relation.copy()))
    counts: dict[str, dict[str, int]] = {}
    for (p, what), n in zip(slots, rows[0], strict=True):
        counts.setdefault(p.name, {})[what] = int(n or 0)
    for p in todo:
        c = counts[p.name]
        if p.type == "number":
            p.decimal = "," if c["comma"] > 0 and c["point"] == 0 else "."
            continue
        best = max(DATETIME_FORMATS, key=lambda f: (c[f], -DATETIME_FORMATS.index(f)))
        if c[best] == 0:
            p.formats = (ISO,)
            continue
        if "%m/%d" in best and c.get(best.replace("%m/%d", "%d/%m"), 0) == c[best]:
            p.note = (
                f"field {p.name!r}: dates like 03/04/2024 read as month/day ({best}); "
                "every value fits day/month too, set `format:` if that is wrong"
            )
        family = _date_part(best)
        p.formats = tuple(f for f in DATETIME_FORMATS if c[f] and _date_part(f) == family)


def _date_part(fmt: str) -> str:
    return "iso" if fmt == ISO or fmt.startswith("%Y-%m-%d") else re.split(r"[ T]", fmt)[0]


def _count_where(cond: exp.Expression) -> exp.Expression:
    return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=cond))


def _from_text(
    type_: str,
    text: exp.Expression,
    cfg: FieldConfig | None,
    decimal: str,
    formats: tuple[str, ...],
    zone: str,
    dataset: str,
    name: str,
) -> exp.Expression:
    t = _trimmed(text)
    if type_ == "integer":
        digits = _sub(t.copy(), _INTEGER_RE, r"\1\2")
        wide = exp.Cast(this=digits.copy(), to=exp.DataType.build("DECIMAL(38, 0)"))
        fits = exp.Between(
            this=wide, low=exp.Literal.number(-(2**63)), high=exp.Literal.number(2**63 - 1)
        )
        return _when(
            exp.And(this=_matches(t, _INTEGER_RE), expression=fits),
            exp.Cast(this=digits, to=exp.DataType.build("BIGINT")),
        )
    if type_ == "number":
        # As the embedded typing: thousands spaces go (plain spaces too with a decimal
        # comma), the text must be a number with that decimal mark, then it is cast.
        comma = decimal == ","
        t = _strip_groups(t, spaces=comma)
        pattern = _NUMBER_RE.replace(r"\.", ",") if comma else _NUMBER_RE
        value = _replace(t.copy(), ",", ".") if comma else t.copy()
        return _when(_matches(t, pattern), _to_double(value))
    if type_ == "boolean":
        trues = (
            [*TRUE_VALUES, *(v.lower() for v in (cfg.true_values or []))] if cfg else TRUE_VALUES
        )
        falses = (
            [*FALSE_VALUES, *(v.lower() for v in (cfg.false_values or []))] if cfg else FALSE_VALUES
        )
        # trim() of plain spaces only, as the embedded `lower(trim(x))`.
        low = exp.Lower(this=exp.Trim(this=text.copy()))
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.In(
                        this=low.copy(), expressions=[exp.Literal.string(v) for v in trues]
                    ),
                    true=exp.true(),
                ),
                exp.If(
                    this=exp.In(
                        this=low.copy(), expressions=[exp.Literal.string(v) for v in falses]
                    ),
                    true=exp.false(),
                ),
            ]
        )
    if type_ in ("datetime", "date"):
        for fmt in formats:
            if fmt != ISO:
                strptime_regex(fmt, dataset=dataset, field=name)
        ts = parse_datetime(exp.Trim(this=text.copy()), formats, zone, instant=type_ == "datetime")
        ts = _within_years(text.copy(), ts)
        return exp.Cast(this=ts, to=exp.DataType.build("DATE")) if type_ == "date" else ts
    raise ValueError(f"unknown field type {type_!r}")


def _to_double(v: exp.Expression) -> exp.Expression:
    """A number text (point decimal mark) as a DOUBLE, as DuckDB's cast reads it.

    Past the largest double it is no number (NULL: a reject, as the embedded loader
    makes it), below the smallest it is 0 (DuckDB; Spark's cast too; PostgreSQL's own
    cast fails the query on both). Most texts are plainly in range and
    cast as they are; the others are sized from their digits and exponent first.
    """

    def lit(x: str | int) -> exp.Expression:
        return exp.Literal.string(x) if isinstance(x, str) else exp.Literal.number(x)

    def double(text: exp.Expression) -> exp.Expression:
        return exp.Cast(this=text, to=exp.DataType.build("DOUBLE"))

    sign = exp.Case(ifs=[exp.If(this=exp.Like(this=v.copy(), expression=lit("-%")),
                                true=lit("-"))], default=lit(""))  # fmt: skip
    mantissa = _sub(v.copy(), r"^[+-]?([0-9.]*)([eE].*)?$", r"\1")
    # The exponent with its sign and without leading zeros: '' when there is none.
    power = _sub(v.copy(), r"^[^eE]*([eE]([+-]?)0*([0-9]*))?$", r"\2\3")
    digits = _sub(_replace(mantissa.copy(), ".", ""), "^0*", "")  # '' for zero
    whole = exp.Length(this=_sub(mantissa.copy(), r"^0*([0-9]*).*$", r"\1"))
    zeros = exp.Length(this=_sub(mantissa.copy(), r"^[0-9]*\.?(0*).*$", r"\1"))
    huge = exp.GT(this=exp.Length(this=_sub(power.copy(), "^[+-]", "")), expression=lit(6))
    e = exp.Cast(this=exp.Case(ifs=[exp.If(this=exp.In(this=power.copy(), expressions=[
        lit(""), lit("+"), lit("-")]), true=lit("0"))], default=power.copy()),
        to=exp.DataType.build("INT"))  # fmt: skip
    # The power of ten of the first significant digit (1234.5 → 3, 0.0012 → -3).
    size = exp.Case(
        ifs=[exp.If(this=exp.GT(this=whole.copy(), expression=lit(0)),
                    true=exp.Sub(this=exp.Add(this=e.copy(), expression=whole.copy()),
                                 expression=lit(1)))],
        default=exp.Sub(this=exp.Sub(this=e.copy(), expression=zeros), expression=lit(1)),
    )  # fmt: skip

    def leading(n: int) -> exp.Expression:
        return exp.Pad(this=exp.Substring(this=digits.copy(), start=lit(1), length=lit(n)),
                       expression=lit(n), fill_pattern=lit("0"), is_left=False)  # fmt: skip

    # Past the largest double: no finite number, a reject of its field (NULL), as in
    # the embedded loader (cxengine/dataset/fieldtypes.py).
    infinity = exp.Cast(this=exp.Null(), to=exp.DataType.build("DOUBLE"))
    zero = double(exp.DPipe(this=sign.copy(), expression=lit("0")))
    positive = exp.Not(this=exp.Like(this=power.copy(), expression=lit("-%")))
    sized = exp.Case(
        ifs=[
            exp.If(this=exp.EQ(this=digits.copy(), expression=lit("")), true=double(v.copy())),
            exp.If(this=exp.And(this=huge.copy(), expression=positive), true=infinity.copy()),
            exp.If(this=huge, true=zero.copy()),
            exp.If(this=exp.GT(this=size.copy(), expression=lit(308)), true=infinity.copy()),
            exp.If(this=exp.LT(this=size.copy(), expression=lit(-324)), true=zero.copy()),
            exp.If(this=exp.And(this=exp.EQ(this=size.copy(), expression=lit(308)),
                                expression=exp.GTE(this=leading(len(_OVERFLOW_DIGITS)),
                                                   expression=lit(_OVERFLOW_DIGITS))),
                   true=infinity),
            exp.If(this=exp.And(this=exp.EQ(this=size, expression=lit(-324)),
                                expression=exp.LTE(this=leading(len(_UNDERFLOW_DIGITS)),
                                                   expression=lit(_UNDERFLOW_DIGITS))),
                   true=zero),
        ],
        default=double(v.copy()),
    )  # fmt: skip
    return exp.Case(ifs=[exp.If(this=_matches(v.copy(), _PLAIN_NUMBER_RE), true=double(v))],
                    default=sized)  # fmt: skip


def from_naive(value: exp.Expression, zone: str, *, instant: bool) -> exp.Expression:
    """A naive wall-clock time in `zone`: its UTC instant, or itself (a local day)."""
    if not instant or zone == "UTC":
        return value
    aware = exp.AtTimeZone(this=value, zone=exp.Literal.string(zone))
    return exp.AtTimeZone(this=aware, zone=exp.Literal.string("UTC"))


def from_aware(value: exp.Expression, zone: str, *, instant: bool) -> exp.Expression:
    """A time with a zone (TIMESTAMPTZ): its UTC instant, or its wall-clock time in `zone`."""
    return exp.AtTimeZone(this=value, zone=exp.Literal.string("UTC" if instant else zone))


def parse_datetime(
    t: exp.Expression, formats: Sequence[str], zone: str, *, instant: bool = False
) -> exp.Expression:
    """A naive TIMESTAMP from text in one of `formats`, NULL when none fits.

    Text without an offset is wall-clock time in `zone`; the result is the UTC instant
    when `instant` (datetime fields), else the wall-clock time in `zone` (dates).
    """
    parts: list[exp.Expression] = []
    for fmt in formats:
        if fmt == ISO:
            parts.append(_iso(t.copy(), zone, instant))
        else:
            regex, iso = strptime_regex(fmt)
            parsed = _safe_timestamp(_padded_year(_sub(t.copy(), regex, iso)))
            parts.append(
                _when(_matches(t.copy(), regex), from_naive(parsed, zone, instant=instant))
            )
    if len(parts) == 1:
        return parts[0]
    return exp.Coalesce(this=parts[0], expressions=parts[1:])


def _safe_timestamp(iso_text: exp.Expression) -> exp.Expression:
    """CAST to TIMESTAMP only when the text is a real date (and time); else NULL."""
    return _when(
        _matches(iso_text.copy(), _DATETIME_RE),
        exp.Cast(this=iso_text, to=exp.DataType.build("TIMESTAMP")),
    )


def _iso(t: exp.Expression, zone: str, instant: bool) -> exp.Expression:
    # A value carrying a UTC offset is an instant, converted from that instant (so the
    # hour a DST change repeats keeps its two instants); any other is wall-clock time
    # in the field's zone.
    naive_part = _sub(t.copy(), _OFFSET_TAIL, "")
    offset = _sub(_sub(_sub(t.copy(), r"^.*[^Zz+-]([Zz]|[+-][0-9:]+)$", r"\1"), "^[Zz]$", "+00:00"),
                  r"^([+-][0-9]{2})$", r"\1:00")  # fmt: skip
    offset = _sub(offset, r"^([+-][0-9]{2})([0-9]{2})$", r"\1:\2")

    def aware_at(text: exp.Expression) -> exp.Expression:
        stamp = exp.DPipe(this=_sub(text, "T", " "), expression=offset.copy())
        return exp.Cast(this=stamp, to=exp.DataType.build("TIMESTAMPTZ"))

    # 24:00 with an offset: that offset's midnight starting the day, one day (24 hours:
    # the offset is fixed) later.
    start = _sub(naive_part.copy(), f"{_MIDNIGHT_TAIL}$", " 00:00:00")
    aware = exp.Case(
        ifs=[
            exp.If(this=_matches(naive_part.copy(), _DATETIME_RE),
                   true=aware_at(naive_part.copy())),
            exp.If(this=_end_of_day(naive_part.copy()), true=_next_day(aware_at(start))),
        ]
    )  # fmt: skip
    return exp.Case(
        ifs=[exp.If(this=_matches(t.copy(), _HAS_OFFSET),
                    true=from_aware(aware, zone, instant=instant))],
        default=from_naive(_iso_naive(t), zone, instant=instant),
    )  # fmt: skip


def _iso_naive(t: exp.Expression) -> exp.Expression:
    """ISO text without an offset as a TIMESTAMP, `24:00` as the next day's midnight."""
    midnight = exp.Cast(
        this=_sub(t.copy(), f"{_MIDNIGHT_TAIL}$", " 00:00:00"), to=exp.DataType.build("TIMESTAMP")
    )
    return exp.Case(
        ifs=[
            exp.If(this=_matches(t.copy(), _DATETIME_RE),
                   true=exp.Cast(this=t.copy(), to=exp.DataType.build("TIMESTAMP"))),
            exp.If(this=_end_of_day(t.copy()), true=_next_day(midnight)),
        ]
    )  # fmt: skip


def _end_of_day(t: exp.Expression) -> exp.Expression:
    """TRUE for a valid date at 24:00."""
    return _matches(t, _END_OF_DAY_RE)


#: Text that may be read as a time outside years 1 to 9999 once 24:00, an offset or
#: the zone moves it: year 9999 or year 1 (however padded).
_EDGE_YEAR = r"9999|(^|[^0-9])0*1([^0-9]|$)"


def _within_years(text: exp.Expression, ts: exp.Expression) -> exp.Expression:
    """NULL for a time outside years 1 to 9999, as the embedded loader (Python holds no
    other); only text near those years is checked, the rest cannot leave them."""
    inside = exp.Between(
        this=ts.copy(),
        low=exp.Cast(this=exp.Literal.string("0001-01-01 00:00:00"),
                     to=exp.DataType.build("TIMESTAMP")),
        high=exp.Cast(this=exp.Literal.string("9999-12-31 23:59:59.999999"),
                      to=exp.DataType.build("TIMESTAMP")),
    )  # fmt: skip
    return exp.Case(ifs=[exp.If(this=_matches(text, _EDGE_YEAR), true=_when(inside, ts.copy()))],
                    default=ts)  # fmt: skip


def _next_day(value: exp.Expression) -> exp.Expression:
    """A time one day later (the session runs in UTC: a day is 24 hours)."""
    day = exp.Interval(this=exp.Literal.string("1"), unit=exp.var("DAY"))
    return exp.Add(this=value, expression=day)


def _padded_year(iso_text: exp.Expression) -> exp.Expression:
    # strptime's %Y reads 1 to 4 digits: `000` + year, then the last four digits.
    return _sub(iso_text, r"^[0-9]*([0-9]{4})-", r"\1-")


_DIRECTIVES = {
    "%Y": (r"([0-9]{1,4})", "Y"),
    "%m": (r"([0-9]{1,2})", "m"),
    "%d": (r"([0-9]{1,2})", "d"),
    "%H": (r"([0-9]{1,2})", "H"),
    "%M": (r"([0-9]{1,2})", "M"),
    "%S": (r"([0-9]{1,2})", "S"),
}


def strptime_regex(fmt: str, *, dataset: str = "", field: str = "") -> tuple[str, str]:
    """Return a regex reading a strptime format, and the ISO text built from its groups.

    Only %Y %m %d %H %M %S and literal characters have a portable reading; anything
    else raises NotPortable (validate refuses the field for the engine).
    """
    regex, order, i = "^", [], 0
    while i < len(fmt):
        if fmt[i] == "%":
            d = fmt[i : i + 2]
            if d not in _DIRECTIVES:
                raise NotPortable(
                    f"dataset {dataset!r}: field {field!r}: the date format {fmt!r} uses "
                    f"{d!r}, which has no rendering on an engine yet (%Y %m %d %H %M %S "
                    "do); store the column as a timestamp or date, or as ISO 8601 text"
                )
            pattern, part = _DIRECTIVES[d]
            regex += pattern
            order.append(part)
            i += 2
        else:
            regex += re.escape(fmt[i]) if fmt[i] != " " else " +"
            i += 1
    regex += "$"
    group = {part: f"\\{n + 1}" for n, part in enumerate(order)}
    if not {"Y", "m", "d"} <= set(group):
        raise NotPortable(
            f"dataset {dataset!r}: field {field!r}: the date format {fmt!r} has no full date"
        )
    iso = f"000{group['Y']}-{group['m']}-{group['d']}"
    iso += f" {group.get('H', '0')}:{group.get('M', '00')}:{group.get('S', '00')}"
    return regex, iso
