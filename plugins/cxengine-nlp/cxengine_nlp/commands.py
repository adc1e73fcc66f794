"""`cxengine themes`, `cxengine themes suggest` and `cxengine followups`: thin click layers.

Each parses options, calls one function of `report.py` and formats its result.
Exit codes follow cxengine's: 0 ok, 1 invalid config or taxonomy, 2 usage, 3 plugin error.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import TYPE_CHECKING

import click
from cxengine.api import echo_json, get_state, json_option

if TYPE_CHECKING:
    from cxengine_nlp.kinds import Driver
    from cxengine_nlp.report import ThemeOverview

# The report module (and through it DuckDB, sqlglot, the engine) is imported inside
# the commands: every `cxengine` invocation registers these commands, and
# `cxengine --help` must stay instant.

_DATASET = click.option(
    "--dataset", "-d", default=None, help="Dataset to read (default: the one with comments)."
)
EXAMPLE_CHARS = 110


@click.group("themes", invoke_without_command=True)
@_DATASET
@click.option(
    "--by", default="auto", show_default=True,
    help="Slice field; 'auto' = touchpoint when present; 'none' for all comments together.",
)  # fmt: skip
@click.option("--top", default=5, show_default=True, help="Themes shown per slice.")
@click.option("--examples", default=2, show_default=True, help="Example comments per theme.")
@click.option(
    "--score", default="auto", show_default=True,
    help="Score for the drivers: 'auto' = the dataset's NPS spec field; 'none' for no drivers.",
)  # fmt: skip
@click.option(
    "--measure", type=click.Choice(["nps", "mean"]), default=None,
    help="Compare NPS (0–10 score) or the mean score; default from the spec kind.",
)  # fmt: skip
@json_option
@click.pass_context
def themes_command(
    ctx: click.Context,
    dataset: str | None,
    by: str,
    top: int,
    examples: int,
    score: str,
    measure: str | None,
    as_json: bool,
) -> None:
    """Show the top comment themes per touchpoint, with examples and the drivers of NPS.

    Comments are tagged like `cxengine run` tags them (cached: comments tagged before
    are not analysed again). Drivers compare the NPS (or mean score) of responses whose
    comment mentions a theme with those whose comment does not, with a 95 % interval,
    and give the NPS points the theme costs: what NPS would gain if the detractors
    mentioning it were passives.

    \b
    Examples:
        cxengine themes
        cxengine themes --by channel --top 3 --examples 1
        cxengine themes --score satisfaction --measure mean --json
        cxengine themes suggest
    """
    if ctx.invoked_subcommand is not None:
        ctx.ensure_object(dict)
        ctx.meta["cxengine_nlp.dataset"] = dataset
        return
    from cxengine_nlp.report import theme_overview

    state = get_state(ctx)
    overview = theme_overview(
        state.project(),
        state.registry,
        dataset=dataset,
        by=None if by == "none" else by,
        top=top,
        examples=examples,
        score=None if score == "none" else score,
        measure=measure,
    )
    if as_json:
        echo_json(overview.as_dict())
    else:
        click.echo(render_overview(overview), nl=False)
    for notice in overview.notices:
        click.echo(f"notice: {notice}", err=True)


@themes_command.command("suggest")
@_DATASET
@click.option("--top", default=30, show_default=True, help="Suggestions to list.")
@json_option
@click.pass_context
def themes_suggest_command(
    ctx: click.Context, dataset: str | None, top: int, as_json: bool
) -> None:
    """List frequent words and phrases in comments that no theme matches.

    Candidates for new theme terms: lemmas (dictionary forms) and 2–3-word phrases,
    counted once per comment, sentiment words and stop words left out. Add the ones
    that name a topic to your taxonomy file (see `comments.options.taxonomy`).

    \b
    Examples:
        cxengine themes suggest
        cxengine themes suggest --top 10 --json
    """
    from cxengine_nlp.report import theme_suggestions

    state = get_state(ctx)
    dataset = dataset or ctx.meta.get("cxengine_nlp.dataset")
    found = theme_suggestions(state.project(), state.registry, dataset=dataset, top=top)
    if as_json:
        echo_json([s.__dict__ for s in found])
        return
    if not found:
        click.echo("Every tagged comment matches a theme: nothing to suggest.")
        return
    rows = [[s.term, s.language, str(s.words), str(s.comments)] for s in found]
    click.echo(_table(["term", "language", "words", "comments"], rows), nl=False)


@click.command("followups")
@_DATASET
@click.option(
    "--nps-field", default="auto", show_default=True,
    help="0–10 recommend field; 'auto' = the NPS spec's; 'none' to ignore NPS.",
)  # fmt: skip
@click.option(
    "--max-recommend", type=float, default=None,
    help="Detractor threshold (default: the NPS spec's detractor range, 6).",
)  # fmt: skip
@click.option(
    "--csat-field", default="auto", show_default=True,
    help="1–5 satisfaction field; 'auto' = a 1–5 share/mean spec's; 'none' to ignore CSAT.",
)  # fmt: skip
@click.option(
    "--max-csat", type=float, default=2, show_default=True, help="Unhappy CSAT threshold."
)
@click.option(
    "--all-comments", is_flag=True, help="Include unhappy customers whose comment is not negative."
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Only answers on or after this date.",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many rows.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (full comments) instead of a table.")
@json_option
@click.pass_context
def followups_command(
    ctx: click.Context,
    dataset: str | None,
    nps_field: str,
    max_recommend: float | None,
    csat_field: str,
    max_csat: float,
    all_comments: bool,
    since: datetime | None,
    limit: int | None,
    as_csv: bool,
    as_json: bool,
) -> None:
    """List unhappy respondents with negative comments and their themes: who to call back.

    Unhappy = a detractor (recommend 0–6) or satisfaction ≤ 2; by default only those
    whose comment reads negative, most negative first. Fields come from the project's
    NPS and CSAT specs unless given.

    \b
    Examples:
        cxengine followups
        cxengine followups --csv > callbacks.csv
        cxengine followups --since 2025-11-01 --limit 20 --json
    """
    if as_csv and as_json:
        raise click.UsageError("choose one of --csv and --json")
    from cxengine_nlp.report import followups, format_cell

    state = get_state(ctx)
    columns, rows = followups(
        state.project(),
        state.registry,
        dataset=dataset,
        nps_field=None if nps_field == "none" else nps_field,
        max_recommend=max_recommend,
        csat_field=None if csat_field == "none" else csat_field,
        max_csat=max_csat,
        negative_only=not all_comments,
        since=since.date() if since else None,
        limit=limit,
    )
    if as_json:
        echo_json(rows)
    elif as_csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([format_cell(r[c]) for c in columns] for r in rows)
        click.echo(out.getvalue(), nl=False)
    else:
        comment = columns[-1]
        shown = [
            [format_cell(r[c]) if c != comment else _short(str(r[c]), 60) for c in columns]
            for r in rows
        ]
        click.echo(_table(columns, shown), nl=False)
    click.echo(f"{len(rows)} unhappy respondents to follow up", err=True)


# --------------------------------------------------------------------- rendering


def render_overview(o: ThemeOverview) -> str:
    """Render the themes overview as plain text (stable, for people and tests)."""
    lines = [f"{o.dataset}.{o.field}: {o.comments} tagged comments"]
    if o.learning and o.learning.get("summary"):
        lines.append(f"{o.learning['summary']}")
    for key in sorted(o.slices, key=lambda k: (k == "", k)):
        rows = o.slices[key]
        title = f"{o.by} = {key}" if key else "all comments"
        lines += ["", f"{title} ({rows[0].comments if rows else 0} comments)"]
        table = [
            [
                r.theme,
                f"{r.share:.1f}%",
                f"{_n(r.ci_low, 1)}–{_n(r.ci_high, 1)}",
                str(r.mentions),
                _signed(r.sentiment),
            ]
            for r in rows
        ]
        lines += _indent(_table(["theme", "share", "95% CI", "mentions", "sentiment"], table))
        for r in rows:
            for text, score in r.examples:
                lines.append(f"    {r.theme}: {_signed(score)} “{_short(text, EXAMPLE_CHARS)}”")
    if o.drivers:
        what = "NPS" if o.measure == "nps" else f"mean {o.score}"
        head = f"Drivers of {what} ({o.score}): responses whose comment mentions the theme vs not"
        if o.overall_nps is not None:
            head += f"; overall NPS {o.overall_nps:.1f}"
        lines += ["", head]
        lines += _driver_table(o, o.drivers, "mentions")
    if o.negative_drivers:
        source = "learned from scores" if o.sentiment_source == "learned" else "lexicon"
        lines += [
            "",
            f"Drivers of low scores: responses whose comment speaks negatively about the theme "
            f"vs the rest (theme sentiment ≤ −0.15, {source})",
        ]
        lines += _driver_table(o, o.negative_drivers, "negative")
    return "\n".join(lines) + "\n"


def _driver_table(o: ThemeOverview, drivers: list[Driver], counted: str) -> list[str]:
    columns = ["theme", counted, "with", "without", "gap", "95% CI"]
    if o.measure == "nps":
        columns.append("NPS cost")
    digits = 1 if o.measure == "nps" else 2
    table = []
    for d in drivers:
        low = "*" if d.n_with < o.min_n else ""
        row = [
            d.theme, f"{d.n_with}{low}", _n(d.with_value, digits), _n(d.without_value, digits),
            _signed(d.gap, digits), f"{_n(d.gap_low, digits)}…{_n(d.gap_high, digits)}",
        ]  # fmt: skip
        if o.measure == "nps":
            row.append(_n(d.cost, 1))
        table.append(row)
    lines = _indent(_table(columns, table))
    if any(d.n_with < o.min_n for d in drivers):
        lines.append(f"  * fewer than {o.min_n} {counted}: a low sample, read with care")
    return lines


def _table(columns: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for r in rows:
        out.append("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(out) + "\n"


def _indent(text: str) -> list[str]:
    return ["  " + line for line in text.rstrip("\n").split("\n")]


def _n(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:+.{digits}f}"


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
