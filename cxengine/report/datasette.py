"""Datasette metadata for a results database: described tables and canned queries.

The descriptions of tables and columns are read from docs/storage.md, the one source
of truth (a test checks that it names every column of the schema), so what Datasette
shows cannot drift from the documentation. The canned queries answer the first
questions people ask: the latest value of every metric, a metric's trend by slice,
rejects by reason, failing checks, and the comments of a theme.
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path
from typing import Any

LATEST_RUN = "(SELECT id FROM runs WHERE status = 'ok' ORDER BY finished DESC, rowid DESC LIMIT 1)"

QUERIES: dict[str, dict[str, Any]] = {
    "latest_values": {
        "title": "Latest values of every metric",
        "description": (
            "The latest ok run: each metric's overall value (all slices together) in its "
            "latest period, with its interval and n."
        ),
        "sql": f"""SELECT v.metric, v.title, v.period, v.value, v.unit, v.ci_low, v.ci_high,
       v.n, v.low_sample
FROM value_rows v
WHERE v.run_id = {LATEST_RUN}
  AND v.slice = '{{}}'
  AND v.period IS (SELECT max(w.period) FROM value_rows w
                   WHERE w.run_id = v.run_id AND w.metric = v.metric AND w.slice = '{{}}')
ORDER BY v.metric""",
    },
    "metric_trend": {
        "title": "A metric's trend by slice",
        "description": (
            "Every period of one metric in the latest ok run, per slice ({} is all "
            "slices together), with intervals: ready to chart."
        ),
        "sql": f"""SELECT v.period, v.slice, v.value, v.unit, v.ci_low, v.ci_high, v.n,
       v.low_sample
FROM value_rows v
WHERE v.run_id = {LATEST_RUN} AND v.metric = :metric AND v.period IS NOT NULL
ORDER BY v.slice, v.period""",
    },
    "rejects_by_reason": {
        "title": "Rejected rows by reason",
        "description": (
            "Why input rows or values were not used in the latest ok run, most frequent "
            "first, with the first place each reason occurs (file:line)."
        ),
        "sql": f"""SELECT dataset, coalesce(metric, '(whole row)') AS metric, field, reason,
       count(*) AS rows, min(locator) AS first_example
FROM rejects
WHERE run_id = {LATEST_RUN}
GROUP BY dataset, metric, field, reason
ORDER BY rows DESC, dataset, reason""",
    },
    "failing_checks": {
        "title": "Failing and warning checks",
        "description": "Targets and regression checks of the latest ok run that failed or warned.",
        "sql": f"""SELECT verdict, metric, slice, compared, reason, current_value, current_n,
       baseline_value, change, p_adjusted
FROM checks
WHERE run_id = {LATEST_RUN} AND verdict IN ('fail', 'warn')
ORDER BY verdict = 'warn', metric, slice""",
    },
    "theme_comments": {
        "title": "Comments of a theme",
        "description": (
            "Tagged comments that mention a theme (e.g. delivery), most negative first; "
            "comment_key ties each back to its row in the dataset."
        ),
        "sql": """SELECT t.dataset, t.comment_key, t.language, t.label, t.sentiment,
       json_extract(t.theme_sentiment, '$.' || :theme) AS theme_sentiment, t.themes
FROM comment_tags t, json_each(t.themes) j
WHERE j.value = :theme
ORDER BY theme_sentiment, t.sentiment
LIMIT 500""",
    },
}


def storage_doc() -> str:
    """The text of docs/storage.md: shipped in the wheel, or read from the checkout."""
    try:
        return (
            importlib.resources.files("cxengine.reference")
            .joinpath("storage.md")
            .read_text(encoding="utf-8")
        )
    except (ModuleNotFoundError, FileNotFoundError):
        here = Path(__file__).resolve().parents[2] / "docs" / "storage.md"
        return here.read_text(encoding="utf-8")


def _plain(markdown: str) -> str:
    """Markdown inline text as plain text: no backticks, links as their text."""
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", markdown)
    return re.sub(r"\s+", " ", text.replace("`", "")).strip()


def table_descriptions(doc: str) -> dict[str, dict[str, Any]]:
    """Parse `### \\`table\\`` sections: the paragraph before the table, and per column
    its meaning (a row naming several columns gives each the same meaning)."""
    out: dict[str, dict[str, Any]] = {}
    for part in re.split(r"^### ", doc, flags=re.M)[1:]:
        head, _, body = part.partition("\n")
        name = re.match(r"`([^`]+)`", head)
        if not name:
            continue
        body = body.split("\n## ", 1)[0]
        lines = body.splitlines()
        intro = []
        for line in lines:
            if line.startswith("|"):
                break
            intro.append(line)
        columns: dict[str, str] = {}
        for line in lines:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 2 or set(cells[0]) <= {"-", " "} or cells[0] == "column":
                continue
            for col in re.findall(r"`([^`]+)`", cells[0]):
                columns[col] = _plain("|".join(cells[1:]))
        out[name.group(1)] = {"description": _plain(" ".join(intro)), "columns": columns}
    return out


def metadata(database: Path, view_columns: list[str] | None = None) -> dict[str, Any]:
    """Datasette metadata (JSON-ready) for one results database file."""
    described = table_descriptions(storage_doc())
    tables: dict[str, Any] = {}
    for table, info in described.items():
        entry: dict[str, Any] = {"columns": dict(info["columns"])}
        if info["description"]:
            entry["description"] = info["description"]
        tables[table] = entry
    if "value_rows" in tables:
        for col in view_columns or []:
            tables["value_rows"]["columns"].setdefault(col, f"slice field {col}")
        tables["value_rows"]["sort"] = "period"
    return {
        "title": f"cxengine results: {database.name}",
        "description": (
            "Metric values with n and confidence intervals, rejected rows with their "
            "reasons, check verdicts and comment tags, written by `cxengine run`. "
            "Start with value_rows (one column per slice field) or the canned queries."
        ),
        "source": "cxengine",
        "databases": {
            database.stem: {
                "description": "Runs of cxengine: see docs/storage.md for every table.",
                "tables": tables,
                "queries": QUERIES,
            }
        },
    }
