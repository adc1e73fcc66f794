"""CRMs common with Russian-speaking teams: Bitrix24 and amoCRM (kommo) CSV exports.

Both export deals (leads) as Excel-style CSV: cp1251 (or UTF-8 with a BOM), ``;``
between fields, Russian headers, dates as ``dd.mm.yyyy hh:mm:ss``. CX teams keep the
survey answers after a deal in custom fields ("Оценка NPS", "Удовлетворённость", …):
those map to ``recommend``, ``satisfaction``, ``effort`` and ``comment`` as for a
survey tool, and the deal's own columns to ``response_id``, ``submitted_at``,
``created_at``, ``agent`` (the responsible manager), ``channel`` (the source) and
``status`` (the stage).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from cxengine_exports.base import (
    Column,
    Columns,
    ExportOptions,
    ExportSource,
    Prepared,
    Row,
    cell,
    survey_questions,
)
from cxengine_exports.surveys import answers
from cxengine_exports.table import Record, read_csv
from cxengine_exports.values import Stamp, channel

CHANNELS = {
    "звонок": "phone",
    "телефон": "phone",
    "входящий звонок": "phone",
    "исходящий звонок": "phone",
    "телефония": "phone",
    "call": "phone",
    "электронная почта": "email",
    "e-mail": "email",
    "email": "email",
    "почта": "email",
    "онлайн-чат": "chat",
    "чат": "chat",
    "открытая линия": "chat",
    "telegram": "chat",
    "whatsapp": "chat",
    "viber": "chat",
    "чат на сайте": "chat",
    "вконтакте": "social",
    "вк": "social",
    "instagram": "social",
    "facebook": "social",
    "одноклассники": "social",
    "сайт": "web_form",
    "веб-сайт": "web_form",
    "crm-форма": "web_form",
    "форма на сайте": "web_form",
    "веб-форма": "web_form",
}


class CrmOptions(ExportOptions):
    """Options of the CRM sources."""

    encoding: str = Field(
        "auto", description="auto (UTF-8 when it decodes, else cp1251) or a codec name"
    )
    delimiter: str | None = Field(None, description="field separator; default detected (;)")


class CrmSource(ExportSource):
    """A CRM's deal export: meta columns found by their Russian (or English) headers."""

    options_model: ClassVar[type[ExportOptions]] = CrmOptions
    time_formats = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y")
    default_touchpoint = "crm"
    ID: ClassVar[tuple[str, ...]] = ("ID",)
    CREATED: ClassVar[tuple[str, ...]] = ("Дата создания", "Created")
    #: When the survey was answered: the first of these columns the export has.
    ANSWERED: ClassVar[tuple[str, ...]] = (
        "Дата опроса",
        "Дата оценки",
        "Дата закрытия",
        "Дата изменения",
        "Дата создания",
    )
    AGENT: ClassVar[tuple[str, ...]] = ("Ответственный", "Responsible")
    STATUS: ClassVar[tuple[str, ...]] = ("Стадия сделки", "Этап сделки", "Этап", "Статус", "Стадия")
    SOURCE: ClassVar[tuple[str, ...]] = ("Источник", "Source")
    CUSTOMER: ClassVar[tuple[str, ...]] = (
        "Контакт",
        "Основной контакт",
        "Полное имя контакта",
        "Компания",
    )

    def prepare(
        self, path: Path, opts: ExportOptions, *, label: str, dataset: str, stamp: Stamp
    ) -> Prepared:
        assert isinstance(opts, CrmOptions)
        table = read_csv(
            path,
            label=label,
            dataset=dataset,
            header_rows=1,
            encoding=opts.encoding,
            delimiter=opts.delimiter,
        )
        cols = [Column(i, h, question=h, open_ended=None) for i, h in enumerate(table.headers[0])]
        found = Columns(cols, f"dataset {dataset!r}: {label}")
        c = {
            "response_id": found.named(*self.ID),
            "created_at": found.named(*self.CREATED),
            "submitted_at": found.named(*self.ANSWERED),
            "agent": found.named(*self.AGENT),
            "status": found.named(*self.STATUS),
            "channel": found.named(*self.SOURCE),
            "customer_id": found.named(*self.CUSTOMER),
        }
        for col in c.values():
            if col is not None:
                col.question = ""  # the deal's own columns are never survey questions
        picked = survey_questions(found, opts)

        def convert(record: Record) -> Row:
            row: Row = {
                "response_id": cell(record, c["response_id"]),
                "created_at": stamp.parse(cell(record, c["created_at"]), "created_at"),
                "submitted_at": stamp.parse(cell(record, c["submitted_at"]), "submitted_at"),
                "agent": cell(record, c["agent"]),
                "status": cell(record, c["status"]),
                "channel": channel(cell(record, c["channel"]), CHANNELS),
                "customer_id": cell(record, c["customer_id"]),
            }
            return answers(record, picked, opts, row)

        return Prepared(table.records, convert, table.rejects, columns=found)


class Bitrix24Source(CrmSource):
    """Bitrix24 CRM deals (or leads) exported to CSV / "Excel" from the list's menu."""

    name = "bitrix24"
    description = "Bitrix24 CRM deals/leads export (.csv, cp1251, ';', Russian headers)"


class AmoCrmSource(CrmSource):
    """amoCRM (kommo) leads exported from the pipeline's list view as CSV."""

    name = "amocrm"
    description = "amoCRM leads export (.csv, cp1251, ';', Russian headers)"
    STATUS = ("Этап сделки", "Этап", "Статус")
    CUSTOMER = ("Основной контакт", "Полное имя контакта", "Контакт", "Компания")
