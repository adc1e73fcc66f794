"""Survey tools: SurveyMonkey, Typeform, Google Forms / Sheets, Qualtrics.

Each maps its export to the fields of the standard survey specs: ``response_id``,
``submitted_at``, ``recommend`` (0–10), ``satisfaction`` (1–5), ``effort`` (1–7),
``comment``, ``touchpoint`` and ``channel``, plus the tool's own extras (Typeform's
hidden fields, Qualtrics' embedded data) under their names.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from cxengine_exports._host import DataError
from cxengine_exports.base import (
    SCORE_FIELDS,
    Column,
    Columns,
    ExportOptions,
    ExportSource,
    Prepared,
    Row,
    Skip,
    cell,
    survey_questions,
)
from cxengine_exports.table import Record, Table, read_csv, read_xlsx
from cxengine_exports.values import Stamp, channel, score, zone

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def answers(record: Record, picked: dict[str, Column], opts: ExportOptions, row: Row) -> Row:
    """Copy the question answers into ``row``: scores as numbers, other answers as text."""
    for name, col in picked.items():
        text = cell(record, col)
        row[name] = (
            score(text, name, opts.labels)
            if (name in SCORE_FIELDS or name in opts.labels)
            else text
        )
    return row


class SurveyMonkeyOptions(ExportOptions):
    """Options of the surveymonkey source."""

    sheet: str | None = Field(None, description=".xlsx only: the sheet (default the first)")


class SurveyMonkeySource(ExportSource):
    """SurveyMonkey "All individual responses" export, CSV or XLSX (two header rows)."""

    name = "surveymonkey"
    description = "SurveyMonkey responses export (.csv or .xlsx; question and answer-option rows)"
    options_model: ClassVar[type[ExportOptions]] = SurveyMonkeyOptions
    # SurveyMonkey writes dates as the account's locale shows them, US style by default.
    time_formats = (
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %I:%M %p",
        "%m/%d/%Y %H:%M",
        "%m/%d/%Y",
    )
    default_touchpoint = "survey"
    META: ClassVar[dict[str, str | None]] = {
        "respondent id": "response_id",
        "collector id": "collector_id",
        "start date": "started_at",
        "end date": "submitted_at",
        "ip address": None,
        "email address": "email",
        "first name": None,
        "last name": None,
        "custom data 1": "custom_data",
        "custom data": "custom_data",
    }

    def prepare(
        self, path: Path, opts: ExportOptions, *, label: str, dataset: str, stamp: Stamp
    ) -> Prepared:
        assert isinstance(opts, SurveyMonkeyOptions)
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            table = read_xlsx(path, label=label, dataset=dataset, header_rows=2, sheet=opts.sheet)
        else:
            table = read_csv(path, label=label, dataset=dataset, header_rows=2)
        cols = Columns(self._columns(table), f"dataset {dataset!r}: {label}")
        picked = survey_questions(cols, opts)
        meta = {c.index: self.META[c.header.casefold()] for c in cols.all if not c.question}

        def convert(record: Record) -> Row:
            row: Row = {}
            for index, name in meta.items():
                if name is not None:
                    row[name] = record.cells[index].strip() or None
            for name in ("started_at", "submitted_at"):
                if name in row:
                    row[name] = stamp.parse(row[name], name)
            return answers(record, picked, opts, row)

        return Prepared(table.records, convert, table.rejects, columns=cols)

    def _columns(self, table: Table) -> list[Column]:
        questions, options = table.headers
        out: list[Column] = []
        current = ""
        for i, (top, sub) in enumerate(zip(questions, options, strict=False)):
            if not out and not top and not sub:
                raise DataError("the first column of a SurveyMonkey export has no header")
            if top.casefold() in self.META and not sub:
                out.append(Column(i, top))
                current = ""
                continue
            current = top or current  # a question's answer options leave the top cell empty
            whole = sub in ("", "Response", "Open-Ended Response")
            text = current if whole else f"{current} — {sub}"
            open_ended = sub == "Open-Ended Response" or "please specify" in sub.casefold()
            out.append(Column(i, text, question=text, open_ended=open_ended))
        return out


class TypeformSource(ExportSource):
    """Typeform responses CSV: one column per question, hidden fields, ``#`` id."""

    name = "typeform"
    description = "Typeform responses export (.csv: one column per question, hidden fields)"
    time_formats = ("%Y-%m-%d %H:%M:%S",)
    default_touchpoint = "survey"
    META: ClassVar[dict[str, str | None]] = {
        "#": "response_id",
        "response type": "response_type",
        "start date (utc)": "started_at",
        "stage date (utc)": None,
        "submit date (utc)": "submitted_at",
        "network id": None,
        "tags": "tags",
        "ending": "ending",
    }

    def prepare(
        self, path: Path, opts: ExportOptions, *, label: str, dataset: str, stamp: Stamp
    ) -> Prepared:
        table = read_csv(path, label=label, dataset=dataset, header_rows=1)
        utc = Stamp(self.time_formats, zone("UTC", label))  # the header says "(UTC)"
        cols: list[Column] = []
        hidden: dict[int, str] = {}
        for i, header in enumerate(table.headers[0]):
            if header.casefold() in self.META:
                cols.append(Column(i, header))
            elif _IDENTIFIER.match(header):
                # Hidden fields are named like identifiers (Typeform allows only
                # lower-case letters, digits and underscores); questions are sentences.
                hidden[i] = header
                cols.append(Column(i, header))
            else:
                cols.append(Column(i, header, question=header, open_ended=None))
        found = Columns(cols, f"dataset {dataset!r}: {label}")
        picked = survey_questions(found, opts)
        meta = {
            c.index: self.META[c.header.casefold()]
            for c in cols
            if c.header.casefold() in self.META
        }

        def convert(record: Record) -> Row:
            row: Row = {}
            for index, name in meta.items():
                if name is not None:
                    row[name] = record.cells[index].strip() or None
            for name in ("started_at", "submitted_at"):
                if name in row:
                    row[name] = utc.parse(row[name], name)
            for index, name in hidden.items():
                row[name] = record.cells[index] or None
            return answers(record, picked, opts, row)

        return Prepared(table.records, convert, table.rejects, columns=found)


# Google Sheets writes the form's timestamp as the spreadsheet's locale shows dates.
_LOCALE_FORMATS = {
    "mdy": ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M"),
    "dmy/": ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"),
    "dmy.": ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M"),
    "ymd": ("%Y/%m/%d %H:%M:%S", "%Y.%m.%d %H:%M:%S"),
}
LOCALES = {
    "en_US": "mdy",
    "en_CA": "mdy",
    "en_PH": "mdy",
    "en_GB": "dmy/",
    "en_AU": "dmy/",
    "en_IE": "dmy/",
    "en_IN": "dmy/",
    "fr_FR": "dmy/",
    "es_ES": "dmy/",
    "it_IT": "dmy/",
    "pt_BR": "dmy/",
    "ru_RU": "dmy.",
    "uk_UA": "dmy.",
    "de_DE": "dmy.",
    "kk_KZ": "dmy.",
    "be_BY": "dmy.",
    "tr_TR": "dmy.",
    "ja_JP": "ymd",
    "zh_CN": "ymd",
    "ko_KR": "ymd",
}
# "Timestamp" as the form's language writes it.
_TIMESTAMP = (
    "Timestamp",
    "Отметка времени",
    "Позначка часу",
    "Zeitstempel",
    "Horodateur",
    "Marca temporal",
    "Carimbo de data/hora",
    "Informazioni cronologiche",
    "タイムスタンプ",
    "时间戳",
    "타임스탬프",
    "Zaman damgası",
)
_EMAIL = (
    "Email Address",
    "Email",
    "Адрес электронной почты",
    "E-Mail-Adresse",
    "Adresse e-mail",
    "Dirección de correo electrónico",
    "Endereço de e-mail",
)


class GoogleFormsOptions(ExportOptions):
    """Options of the google_forms source."""

    locale: str = Field(
        "en_US",
        description=(
            "the spreadsheet's locale (File > Settings), which fixes how the timestamp is "
            "written: en_US 11/15/2024 10:32:05, en_GB 15/11/2024 …, ru_RU 15.11.2024 …"
        ),
    )


class GoogleFormsSource(ExportSource):
    """Google Forms responses downloaded as CSV (or the linked Sheet saved as CSV)."""

    name = "google_forms"
    description = "Google Forms / Sheets responses (.csv; timestamp in the form's locale)"
    options_model: ClassVar[type[ExportOptions]] = GoogleFormsOptions
    default_touchpoint = "survey"

    def prepare(
        self, path: Path, opts: ExportOptions, *, label: str, dataset: str, stamp: Stamp
    ) -> Prepared:
        assert isinstance(opts, GoogleFormsOptions)
        where = f"dataset {dataset!r}: {label}"
        order = LOCALES.get(opts.locale.replace("-", "_"))
        if order is None:
            raise DataError(
                f"{where}: locale {opts.locale!r} is not known; known: {', '.join(LOCALES)}"
            )
        stamp.formats = _LOCALE_FORMATS[order]
        table = read_csv(path, label=label, dataset=dataset, header_rows=1)
        cols = [Column(i, h, question=h, open_ended=None) for i, h in enumerate(table.headers[0])]
        found = Columns(cols, where)
        time_col = found.named(*_TIMESTAMP)
        email_col = found.named(*_EMAIL)
        if time_col is None:
            raise DataError(f"{where}: no Timestamp column: is this a Google Forms export?")
        for col in (time_col, email_col):
            if col is not None:
                col.question = ""  # not questions: never detected as one
        picked = survey_questions(found, opts)

        def convert(record: Record) -> Row:
            row: Row = {
                "submitted_at": stamp.parse(cell(record, time_col), "submitted_at"),
                "email": cell(record, email_col),
            }
            return answers(record, picked, opts, row)

        return Prepared(table.records, convert, table.rejects, columns=found)


class QualtricsSource(ExportSource):
    """Qualtrics "Data & Analysis" CSV export with three header rows."""

    name = "qualtrics"
    description = "Qualtrics responses export (.csv: export tags, question texts, ImportId JSON)"
    time_formats = ("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S")
    default_touchpoint = "survey"
    META: ClassVar[dict[str, str]] = {
        "responseid": "response_id",
        "recordeddate": "submitted_at",
        "startdate": "started_at",
        "enddate": "ended_at",
        "status": "status",
        "progress": "progress",
        "finished": "finished",
        "distributionchannel": "channel",
        "userlanguage": "language",
        "externalreference": "customer_id",
        "duration (in seconds)": "duration_s",
    }
    IGNORED: ClassVar[set[str]] = {
        "ipaddress",
        "recipientlastname",
        "recipientfirstname",
        "recipientemail",
        "locationlatitude",
        "locationlongitude",
        "q_recaptchascore",
        "q_relevantidduplicate",
        "q_relevantidduplicatescore",
        "q_relevantidfrauddscore",
        "q_relevantidlaststartdate",
    }
    # Status codes (numeric export) and labels (choice-text export) that are not answers.
    NOT_RESPONSES: ClassVar[dict[str, str]] = {
        "1": "Survey Preview",
        "2": "Survey Test",
        "8": "Spam",
        "9": "Preview Spam",
        "12": "Imported Spam",
        "17": "Offline Preview",
        "survey preview": "Survey Preview",
        "survey test": "Survey Test",
        "spam": "Spam",
        "preview spam": "Preview Spam",
        "imported spam": "Imported Spam",
        "offline survey preview": "Offline Preview",
    }
    CHANNELS: ClassVar[dict[str, str]] = {
        "anonymous": "web",
        "gl": "web",
        "email": "email",
        "sms": "sms",
        "social": "social",
        "offline": "offline",
        "qr": "qr",
        "preview": "preview",
    }

    def prepare(
        self, path: Path, opts: ExportOptions, *, label: str, dataset: str, stamp: Stamp
    ) -> Prepared:
        where = f"dataset {dataset!r}: {label}"
        table = read_csv(path, label=label, dataset=dataset, header_rows=3)
        tags, texts, imports = table.headers
        cols: list[Column] = []
        zones: dict[str, Stamp] = {}
        embedded: dict[int, str] = {}
        for i, tag in enumerate(tags):
            meta = _import_id(imports[i] if i < len(imports) else "", where, i)
            import_id = str(meta.get("ImportId", ""))
            key = tag.casefold()
            if key in self.META or key in self.IGNORED:
                cols.append(Column(i, tag, aliases=(import_id,), meta=meta))
                if "timeZone" in meta:
                    zones[key] = Stamp(self.time_formats, zone(str(meta["timeZone"]), where))
            elif import_id.startswith("QID"):
                group = import_id.endswith("_NPS_GROUP") or tag.endswith("_NPS_GROUP")
                open_ended = import_id.endswith("_TEXT") or tag.endswith("_TEXT")
                cols.append(
                    Column(
                        i,
                        tag,
                        question="" if group else texts[i],
                        aliases=(import_id,),
                        open_ended=open_ended,
                        meta=meta,
                    )
                )
            else:
                # Embedded data (touchpoint, customer_id, …): ImportId is the field's name.
                embedded[i] = tag
                cols.append(Column(i, tag, aliases=(import_id,), meta=meta))
        found = Columns(cols, where)
        picked = survey_questions(found, opts)
        meta_cols = {
            c.index: self.META[c.header.casefold()]
            for c in cols
            if c.header.casefold() in self.META
        }
        # Each date column is in the zone its own ImportId names (else the option's).
        stamps: dict[str, Stamp] = {}
        for name in ("submitted_at", "started_at", "ended_at"):
            tag = next(k for k, v in self.META.items() if v == name)
            stamps[name] = zones.get(tag, stamp)

        def convert(record: Record) -> Row | Skip:
            row: Row = {}
            for index, name in meta_cols.items():
                row[name] = record.cells[index].strip() or None
            status = (row.get("status") or "").casefold()
            if status in self.NOT_RESPONSES:
                return Skip(
                    f"Qualtrics status {self.NOT_RESPONSES[status]!r}: not a response",
                    "status",
                    row.get("status"),
                )
            for name, parser in stamps.items():
                if name in row:
                    row[name] = parser.parse(row[name], name)
            if "channel" in row:
                row["channel"] = channel(row["channel"], self.CHANNELS)
            for index, name in embedded.items():
                row[name] = record.cells[index] or None
            return answers(record, picked, opts, row)

        return Prepared(table.records, convert, table.rejects, columns=found)


def _import_id(text: str, where: str, index: int) -> dict[str, Any]:
    """The third header row's ``{"ImportId":"QID1","timeZone":…}`` (empty when absent)."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise DataError(
            f"{where}:3: column {index + 1}: the third header row must hold ImportId JSON "
            f"(export with 'Use numeric values' or 'Use choice text'), found {text[:40]!r}"
        ) from None
    return value if isinstance(value, dict) else {}
