"""Helpdesks: Zendesk (JSON export and CSV export), Freshdesk (CSV), Intercom (JSON).

Each maps a ticket (conversation) to the fields of the standard ticket specs —
``ticket_id``, ``created_at``, ``first_response_at``, ``resolved_at``, ``status``,
``channel`` (phone, chat, email, social, web_form, …), ``agent``, ``team``,
``customer_id`` — and its satisfaction rating to the survey fields ``satisfaction``
(1–5), ``comment``, ``submitted_at`` and ``touchpoint`` (``support``), so one export
feeds both FRT and CSAT.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from cxengine_exports.base import (
    Column,
    Columns,
    ExportOptions,
    ExportSource,
    Prepared,
    Row,
    cell,
)
from cxengine_exports.table import JsonRecord, Record, read_csv, read_json_objects
from cxengine_exports.values import Stamp, after, bad_value, channel, from_unix, score

CHANNELS = {
    "email": "email",
    "mail": "email",
    "e-mail": "email",
    "web": "web_form",
    "web form": "web_form",
    "web_form": "web_form",
    "portal": "web_form",
    "feedback widget": "web_form",
    "web widget": "web_form",
    "help center": "web_form",
    "chat": "chat",
    "native_messaging": "chat",
    "messaging": "chat",
    "live chat": "chat",
    "conversation": "chat",
    "whatsapp": "chat",
    "telegram": "chat",
    "sunshine_conversations": "chat",
    "voice": "phone",
    "phone": "phone",
    "call": "phone",
    "phone_call": "phone",
    "phone call (inbound)": "phone",
    "phone call (outbound)": "phone",
    "twitter": "social",
    "facebook": "social",
    "instagram": "social",
    "social": "social",
    "instagram_dm": "social",
    "facebook_messenger": "social",
    "web service (api)": "api",
    "api": "api",
}


def _with_labels(
    opts: ExportOptions, vendor: Mapping[str, float | None]
) -> dict[str, dict[str, float | None]]:
    """The options' labels, with the vendor's own satisfaction answers under them."""
    labels = {k: dict(v) for k, v in opts.labels.items()}
    labels["satisfaction"] = {**vendor, **labels.get("satisfaction", {})}
    return labels


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _rating_time(row: Row) -> dt.datetime | None:
    value = row.get("resolved_at") or row.get("created_at")
    return value if isinstance(value, dt.datetime) else None


class ZendeskSource(ExportSource):
    """Zendesk tickets: the JSON export (one ticket per line, or an API page) or CSV."""

    name = "zendesk"
    description = "Zendesk tickets (.json/.jsonl export or API page, or the .csv export)"
    time_formats = ("%Y-%m-%d %H:%M", "%d %b %Y %H:%M", "%b %d, %Y %H:%M", "%d.%m.%Y %H:%M")
    default_touchpoint = "support"
    # Zendesk's CSAT is good / bad: mapped onto the 1–5 scale of the standard specs so
    # that "good" is top-2-box and CSAT = good / (good + bad), as Zendesk reports it.
    LABELS: ClassVar[dict[str, float | None]] = {
        "good": 5,
        "bad": 1,
        "offered": None,
        "unoffered": None,
        "not offered": None,
    }

    def prepare(
        self, path: Path, opts: ExportOptions, *, label: str, dataset: str, stamp: Stamp
    ) -> Prepared:
        labels = _with_labels(opts, self.LABELS)
        if path.suffix.lower() == ".csv":
            return self._csv(path, label, dataset, stamp, labels)
        records, rejects = read_json_objects(
            path, label=label, dataset=dataset, list_keys=("tickets", "results")
        )

        def convert(record: JsonRecord) -> Row:
            t = record.value
            metrics = t.get("metric_set") or {}
            reply = (metrics.get("reply_time_in_minutes") or {}).get("calendar")
            rating = t.get("satisfaction_rating") or {}
            created = stamp.parse(_text(t.get("created_at")), "created_at")
            row: Row = {
                "ticket_id": _text(t.get("id")),
                "created_at": created,
                "first_response_at": after(created, reply, "first_response_at"),
                "resolved_at": stamp.parse(_text(metrics.get("solved_at")), "resolved_at"),
                "status": _text(t.get("status")),
                "channel": channel((t.get("via") or {}).get("channel"), CHANNELS),
                "agent": _text(t.get("assignee_id")),
                "team": _text(t.get("group_id")),
                "customer_id": _text(t.get("requester_id")),
                "satisfaction": score(_text(rating.get("score")), "satisfaction", labels),
                "comment": _text(rating.get("comment")),
            }
            row["submitted_at"] = _rating_time(row) if row["satisfaction"] is not None else None
            return row

        return Prepared(records, convert, rejects)

    def _csv(
        self,
        path: Path,
        label: str,
        dataset: str,
        stamp: Stamp,
        labels: Mapping[str, Mapping[str, float | None]],
    ) -> Prepared:
        table = read_csv(path, label=label, dataset=dataset, header_rows=1)
        cols = Columns(
            [Column(i, h) for i, h in enumerate(table.headers[0])], f"dataset {dataset!r}: {label}"
        )
        c = {
            "ticket_id": cols.named("Id", "ID", "Ticket ID"),
            "created_at": cols.named("Created at", "Requested", "Created"),
            "resolved_at": cols.named("Solved at", "Solved"),
            "reply": cols.named(
                "First reply time in minutes", "First reply time (min)", "First reply time"
            ),
            "status": cols.named("Status", "Ticket status"),
            "channel": cols.named("Via", "Channel", "Ticket channel"),
            "agent": cols.named("Assignee", "Assignee name"),
            "team": cols.named("Group", "Group name"),
            "customer_id": cols.named("Requester id", "Requester ID", "Requester"),
            "satisfaction": cols.named("Satisfaction Score", "Satisfaction", "Satisfaction rating"),
            "comment": cols.named("Satisfaction Comment", "Satisfaction comment"),
        }

        def convert(record: Record) -> Row:
            created = stamp.parse(cell(record, c["created_at"]), "created_at")
            row: Row = {
                "ticket_id": cell(record, c["ticket_id"]),
                "created_at": created,
                "first_response_at": after(created, cell(record, c["reply"]), "first_response_at"),
                "resolved_at": stamp.parse(cell(record, c["resolved_at"]), "resolved_at"),
                "status": cell(record, c["status"]),
                "channel": channel(cell(record, c["channel"]), CHANNELS),
                "agent": cell(record, c["agent"]),
                "team": cell(record, c["team"]),
                "customer_id": cell(record, c["customer_id"]),
                "satisfaction": score(cell(record, c["satisfaction"]), "satisfaction", labels),
                "comment": cell(record, c["comment"]),
            }
            row["submitted_at"] = _rating_time(row) if row["satisfaction"] is not None else None
            return row

        return Prepared(table.records, convert, table.rejects, columns=cols)


class FreshdeskSource(ExportSource):
    """Freshdesk ticket export (Tickets > Export, CSV)."""

    name = "freshdesk"
    description = "Freshdesk tickets export (.csv from Tickets > Export)"
    time_formats = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d-%m-%Y %H:%M:%S")
    default_touchpoint = "support"
    # Freshdesk's classic satisfaction survey answers, on the 1–5 scale of the specs.
    LABELS: ClassVar[dict[str, float | None]] = {
        "awesome": 5,
        "neutral": 3,
        "not good": 1,
        "extremely happy": 5,
        "happy": 4,
        "unhappy": 2,
        "extremely unhappy": 1,
    }

    def prepare(
        self, path: Path, opts: ExportOptions, *, label: str, dataset: str, stamp: Stamp
    ) -> Prepared:
        labels = _with_labels(opts, self.LABELS)
        table = read_csv(path, label=label, dataset=dataset, header_rows=1)
        cols = Columns(
            [Column(i, h) for i, h in enumerate(table.headers[0])], f"dataset {dataset!r}: {label}"
        )
        c = {
            "ticket_id": cols.named("Ticket ID", "Ticket Id", "ID"),
            "created_at": cols.named("Created time", "Created Time", "Created at"),
            "first_response_at": cols.named("Initial response time", "First responded at"),
            "first_response_hrs": cols.named("First response time (in hrs)"),
            "resolved_at": cols.named("Resolved time", "Resolved at"),
            "closed_at": cols.named("Closed time", "Closed at"),
            "status": cols.named("Status"),
            "channel": cols.named("Source"),
            "agent": cols.named("Agent", "Agent name"),
            "team": cols.named("Group", "Group name"),
            "customer_id": cols.named("Contact ID", "Requester email", "Email", "Full name"),
            "satisfaction": cols.named(
                "Survey results", "Satisfaction rating", "Customer satisfaction"
            ),
            "comment": cols.named("Survey comment", "Satisfaction comment", "Feedback"),
        }

        def convert(record: Record) -> Row:
            created = stamp.parse(cell(record, c["created_at"]), "created_at")
            first = stamp.parse(cell(record, c["first_response_at"]), "first_response_at")
            hours = cell(record, c["first_response_hrs"])
            if first is None and hours is not None:
                # "First response time (in hrs)": 1.5 or 01:30:00, both hours.
                minutes = _hours_as_minutes(hours)
                first = after(created, minutes, "first_response_at")
            resolved = stamp.parse(cell(record, c["resolved_at"]), "resolved_at")
            row: Row = {
                "ticket_id": cell(record, c["ticket_id"]),
                "created_at": created,
                "first_response_at": first,
                "resolved_at": resolved or stamp.parse(cell(record, c["closed_at"]), "resolved_at"),
                "status": cell(record, c["status"]),
                "channel": channel(cell(record, c["channel"]), CHANNELS),
                "agent": cell(record, c["agent"]),
                "team": cell(record, c["team"]),
                "customer_id": cell(record, c["customer_id"]),
                "satisfaction": score(cell(record, c["satisfaction"]), "satisfaction", labels),
                "comment": cell(record, c["comment"]),
            }
            row["submitted_at"] = _rating_time(row) if row["satisfaction"] is not None else None
            return row

        return Prepared(table.records, convert, table.rejects, columns=cols)


def _hours_as_minutes(text: str) -> float | None:
    value = text.strip().replace(",", ".")
    if ":" in value:
        parts = value.split(":")
        if 2 <= len(parts) <= 3 and all(p.isdigit() for p in parts):
            secs = int(parts[2]) if len(parts) == 3 else 0
            return int(parts[0]) * 60 + int(parts[1]) + secs / 60
    else:
        try:
            return float(value) * 60
        except ValueError:
            pass
    bad_value("first_response_at", text, f"field 'first_response_at': {text!r} is not hours")
    return None


class IntercomSource(ExportSource):
    """Intercom conversations as the REST API returns them (Unix times, nested stats)."""

    name = "intercom"
    description = "Intercom conversations (.json: an API page, a list, or one per line)"
    default_touchpoint = "support"

    def prepare(
        self, path: Path, opts: ExportOptions, *, label: str, dataset: str, stamp: Stamp
    ) -> Prepared:
        records, rejects = read_json_objects(
            path, label=label, dataset=dataset, list_keys=("conversations", "data")
        )

        def convert(record: JsonRecord) -> Row:
            conv = record.value
            stats = conv.get("statistics") or {}
            rating = conv.get("conversation_rating") or {}
            source = conv.get("source") or {}
            contacts = (conv.get("contacts") or {}).get("contacts") or []
            created = from_unix(conv.get("created_at"), "created_at")
            first = from_unix(stats.get("first_admin_reply_at"), "first_response_at")
            if first is None and stats.get("time_to_admin_reply") is not None and created:
                first = created + dt.timedelta(seconds=float(stats["time_to_admin_reply"]))
            rated = rating.get("rating")
            return {
                "ticket_id": _text(conv.get("id")),
                "created_at": created,
                "first_response_at": first,
                "resolved_at": from_unix(stats.get("last_close_at"), "resolved_at"),
                "status": _text(conv.get("state")),
                "channel": channel(source.get("type"), CHANNELS),
                "agent": _text(conv.get("admin_assignee_id")),
                "team": _text(conv.get("team_assignee_id")),
                "customer_id": _text(contacts[0].get("id")) if contacts else None,
                "satisfaction": score(_text(rated), "satisfaction", opts.labels),
                "comment": _text(rating.get("remark")),
                "submitted_at": from_unix(rating.get("created_at"), "submitted_at")
                if rated is not None
                else None,
            }

        return Prepared(records, convert, rejects)
