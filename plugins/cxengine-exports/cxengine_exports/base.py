"""What every export source shares: options, opening the file, columns, rows and rejects.

A vendor adapter says how to read its file (`prepare`) and how one record becomes a
row of cxengine fields (`Prepared.convert`). This module turns that into `SourceData`:
rows streamed lazily, each with the vendor file's locator; records the adapter refuses
(a Qualtrics preview, a malformed line) stored as rejects with their reason, so
``read = used + rejected`` holds. A value that cannot be converted is a reject of its
field only (`SourceData.cell_rejects`): the row is used with that field empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cxengine_exports._host import DataError, Reject, SourceContext, SourceData, note
from cxengine_exports.table import fingerprint
from cxengine_exports.values import BadValue, Stamp, collecting_bad_values, zone


class ExportOptions(BaseModel):
    """Options every export source takes."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="the exported file, relative to cxengine.yaml")
    timezone: str | None = Field(
        None,
        description=(
            "IANA zone of timestamps that carry no offset (the account's zone the vendor "
            "exports in); default UTC, with a note"
        ),
    )
    questions: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "cxengine field -> the question (or column) that answers it, e.g. "
            "recommend: 'How likely are you to recommend us?'; overrides detection"
        ),
    )
    labels: dict[str, dict[str, float | None]] = Field(
        default_factory=dict,
        description="cxengine field -> answer label -> score (None: not answered)",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="more fields to copy: cxengine field -> the export's column, as text",
    )
    touchpoint: str | None = Field(
        None, description="the touchpoint every row belongs to, when no column gives it"
    )


class Skip:
    """A record the adapter does not turn into a row, and why (stored as a reject)."""

    def __init__(self, reason: str, field: str | None = None, value: str | None = None):
        self.reason = reason
        self.field = field
        self.value = value


Row = dict[str, Any]


@dataclass
class Prepared:
    """An opened export: records with locators, how to convert one, rejects so far."""

    records: Iterable[Any]  # objects with a ``locator`` attribute
    convert: Callable[[Any], Row | Skip]
    rejects: list[Reject] = field(default_factory=list)
    columns: Columns | None = None  # tabular exports: what `columns:` entries refer to


@dataclass
class Column:
    """One column of a tabular export, with the names it answers to."""

    index: int
    header: str  # what `columns:` and messages call it
    question: str = ""  # survey question text, when the export gives one
    aliases: tuple[str, ...] = ()  # other names: Qualtrics' Q7 and QID7
    open_ended: bool | None = False  # a free-text answer; None: the export does not say
    meta: Mapping[str, Any] = field(default_factory=dict)


def fold(text: str) -> str:
    """Text compared without case, surrounding punctuation or repeated spaces."""
    return " ".join(text.casefold().replace("\u00a0", " ").split()).strip(" ?:.*")


class Columns:
    """Finds the export's columns by header, question text or alias."""

    def __init__(self, columns: Sequence[Column], where: str):
        self.all = list(columns)
        self.where = where

    def named(self, *candidates: str) -> Column | None:
        """The first column whose header is one of ``candidates`` (without case)."""
        by_name = {fold(c.header): c for c in reversed(self.all)}
        for name in candidates:
            if fold(name) in by_name:
                return by_name[fold(name)]
        return None

    def chosen(self, option: str, wanted: str) -> Column:
        """The column a user named in an option: header, question, alias, or a unique part."""
        key = fold(wanted)
        for col in self.all:
            if key in {fold(col.header), fold(col.question), *map(fold, col.aliases)}:
                return col
        partial = [c for c in self.all if key and key in fold(c.question or c.header)]
        if len(partial) == 1:
            return partial[0]
        listing = "; ".join(repr(c.question or c.header) for c in self.all[:40])
        if partial:
            raise DataError(
                f"{self.where}: {option}: {wanted!r} is part of several columns "
                f"({', '.join(repr(c.question or c.header) for c in partial)}); quote one whole"
            )
        raise DataError(f"{self.where}: {option}: no column {wanted!r}. Columns: {listing}")

    def detect(
        self, field: str, keywords: Sequence[str], *, open_ended: bool, taken: set[int]
    ) -> Column | None:
        """The one question column whose text holds a keyword; None if none or several."""
        found = [
            c
            for c in self.all
            if c.index not in taken
            and c.question
            and c.open_ended in (open_ended, None)
            and any(k in fold(c.question) for k in keywords)
        ]
        if len(found) > 1:
            names = ", ".join(repr(c.question) for c in found)
            note(
                f"{self.where}: several questions could be {field!r} ({names}); "
                f"none is used: set questions.{field} to the one you mean"
            )
            return None
        return found[0] if found else None


# Words that find the standard survey questions when `questions:` does not name them.
QUESTION_KEYWORDS: dict[str, tuple[str, ...]] = {
    "recommend": ("recommend", "nps", "порекоменд", "рекомендовать"),
    "satisfaction": ("satisf", "csat", "доволь", "удовлетвор"),
    "effort": ("easy", "effort", "ces", "легко", "усили"),
}
COMMENT_KEYWORDS = ("why", "comment", "feedback", "anything else", "почему", "комментар", "отзыв")
SCORE_FIELDS = ("recommend", "satisfaction", "effort")


def survey_questions(cols: Columns, opts: ExportOptions) -> dict[str, Column]:
    """cxengine field -> column for the standard survey fields and the comment.

    Named in ``questions:`` first; the rest detected from the question texts. A field
    nobody asked about is simply absent (a spec reading it says so).
    """
    picked: dict[str, Column] = {}
    for name, wanted in opts.questions.items():
        picked[name] = cols.chosen(f"questions.{name}", wanted)
    taken = {c.index for c in picked.values()}
    for name in SCORE_FIELDS:
        if name not in picked:
            found = cols.detect(name, QUESTION_KEYWORDS[name], open_ended=False, taken=taken)
            if found is not None:
                picked[name] = found
                taken.add(found.index)
    if "comment" not in picked:
        found = cols.detect("comment", COMMENT_KEYWORDS, open_ended=True, taken=taken)
        if found is None:
            texts = [c for c in cols.all if c.open_ended and c.index not in taken]
            found = texts[0] if len(texts) == 1 else None
        if found is not None:
            picked["comment"] = found
    return picked


class ExportSource:
    """Base of every adapter: validates options, opens the file, streams the rows."""

    name: ClassVar[str]
    description: ClassVar[str]
    options_model: ClassVar[type[ExportOptions]] = ExportOptions
    #: strptime formats of the vendor's timestamps, after ISO 8601.
    time_formats: ClassVar[tuple[str, ...]] = ()
    #: touchpoint of every row when neither a column nor the `touchpoint` option gives one.
    default_touchpoint: ClassVar[str | None] = None

    def input_files(self, context: SourceContext) -> list[Path]:
        """Return the export file: `cxengine run` reuses a stored run while it is unchanged."""
        opts = self.options_model.model_validate(dict(context.options))
        return [_existing_file(context, opts.path)]

    def open(self, context: SourceContext) -> SourceData:
        """Read the export and describe its rows (see the module docstring)."""
        opts = self.options_model.model_validate(dict(context.options))
        path = _existing_file(context, opts.path)
        label = opts.path
        where = f"dataset {context.dataset!r}: {label}"
        stamp = Stamp(self.time_formats, zone(opts.timezone, where))
        prepared = self.prepare(path, opts, label=label, dataset=context.dataset, stamp=stamp)
        locators: list[str] = []
        bad_cells: list[Reject] = []
        extras = [
            (name, _extra_column(prepared, name, header, where))
            for name, header in opts.columns.items()
        ]

        def rows() -> Iterator[Row]:
            for record in prepared.records:
                with collecting_bad_values() as bad_values:
                    try:
                        out = prepared.convert(record)
                    except BadValue as bad:  # an adapter's own check that refuses the record
                        out = Skip(bad.reason, bad.field, bad.value)
                if isinstance(out, Skip):
                    prepared.rejects.append(
                        Reject(context.dataset, record.locator, out.reason, out.field, out.value)
                    )
                    continue
                bad_cells.extend(
                    Reject(context.dataset, record.locator, b.reason, b.field, b.value)
                    for b in bad_values
                )
                for name, get in extras:
                    out[name] = get(record)
                if out.get("touchpoint") is None:
                    out["touchpoint"] = opts.touchpoint or self.default_touchpoint
                locators.append(record.locator)
                yield out
            if stamp.assumed_utc:
                note(
                    f"{where}: timestamps carry no time zone and `timezone:` is not set; "
                    "they were read as UTC (set it to the account's zone)"
                )

        def locate(indexes: Sequence[int]) -> Mapping[int, str]:
            return {i: locators[i] for i in indexes if 0 <= i < len(locators)}

        return SourceData(
            rows=rows(),
            origin=label,
            locate=locate,
            malformed=lambda _con: list(prepared.rejects),
            cell_rejects=lambda: list(bad_cells),
            fingerprint=lambda: fingerprint(path),
        )

    def prepare(
        self, path: Path, opts: ExportOptions, *, label: str, dataset: str, stamp: Stamp
    ) -> Prepared:
        """Open the export: the records and how one becomes a row (each adapter's job)."""
        raise NotImplementedError


def _extra_column(
    prepared: Prepared, name: str, header: str, where: str
) -> Callable[[Any], str | None]:
    """Reader of a `columns:` entry: a CSV cell, or a JSON key (dots walk nested objects)."""
    if prepared.columns is not None:
        col = prepared.columns.chosen(f"columns.{name}", header)

        def cell(record: Any) -> str | None:
            return record.cells[col.index] or None

        return cell

    def member(record: Any) -> str | None:
        value: Any = record.value
        for part in header.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return None if value is None else str(value)

    return member


def _existing_file(context: SourceContext, option: str) -> Path:
    # cxengine's own checks: inside the project or `allow_paths:`, a regular readable file.
    path: Path = context.input_file(option)
    return path


def cell(record: Any, col: Column | None) -> str | None:
    """The text of ``col`` in a tabular record; None when the column is absent or empty."""
    if col is None:
        return None
    value: str = record.cells[col.index]
    return value if value.strip() else None
