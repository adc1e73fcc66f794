"""What `cxengine themes`, `themes suggest` and `followups` compute: a library, no printing.

Each function loads one dataset the way `cxengine run` does (same sources, typing and
rejects), tags its comments through the host's cached enrichment step (a comment tagged
by an earlier run is not analysed again), and computes with the same kinds a spec
would use, so a number printed here equals the number a spec stores.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date
from typing import TYPE_CHECKING, Any

from cxengine import api
from cxengine.api import (
    CommentsConfig,
    ConfigError,
    EnrichmentReport,
    ProjectConfig,
    Registry,
    Session,
    chosen_enrichers,
    did_you_mean,
    ident,
    known_list,
    load_project_specs,
    tag_prefix,
    text_literal,
)

from cxengine_nlp.kinds import (
    THEME_KEY,
    Driver,
    ThemeDrivers,
    ThemeDriversSpec,
    ThemeShare,
    ThemeShareSpec,
    drivers_from_counts,
    theme_ids,
)

if TYPE_CHECKING:
    import duckdb
    from cxengine.api import LoadedDataset

    from cxengine_nlp.suggest import TermSuggestion

ENRICHER = "nlp"


@dataclass
class TaggedComments:
    """One dataset loaded into DuckDB with its comments tagged by the nlp enricher."""

    session: Session
    project: ProjectConfig
    dataset: LoadedDataset
    comments: CommentsConfig
    tags: str  # the tag prefix without its trailing underscore: "comment" or "comment_nlp"
    enrichment: EnrichmentReport

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The session's DuckDB connection, locked down."""
        return self.session.con

    def column(self, tag: str) -> str:
        """Return the name of a tag column, e.g. column('sentiment') -> 'comment_sentiment'."""
        return f"{self.tags}_{tag}"

    @property
    def themes(self) -> list[str]:
        """Return the theme ids of the configured taxonomy."""
        return theme_ids(self.tags, self.dataset.fields)


def comment_datasets(project: ProjectConfig) -> list[str]:
    """Return the datasets that declare a comment field."""
    return [n for n, ds in project.model.datasets.items() if ds.comments is not None]


def pick_dataset(project: ProjectConfig, name: str | None) -> str:
    """Return the dataset to report on: the one named, or the only one with comments."""
    candidates = comment_datasets(project)
    if name is not None:
        if name not in candidates:
            raise ConfigError(
                f"dataset {name!r} has no `comments:` block in {project.path.name}"
                f"{did_you_mean(name, candidates)}. Datasets with comments: "
                f"{known_list(candidates) or 'none'}"
            )
        return name
    if not candidates:
        raise ConfigError(
            f"no dataset in {project.path.name} declares a comment field; add e.g.\n"
            "  comments: {field: comment, key: response_id}\nto a dataset"
        )
    if len(candidates) > 1:
        raise ConfigError(
            f"several datasets have comments ({known_list(candidates)}); choose one with --dataset"
        )
    return candidates[0]


@contextmanager
def tagged_comments(
    project: ProjectConfig, registry: Registry, dataset: str | None = None
) -> Iterator[TaggedComments]:
    """Load a dataset, tag its comments (cached in the results database), yield it."""
    name = pick_dataset(project, dataset)
    comments = project.model.datasets[name].comments
    assert comments is not None
    enrichers, _missing = chosen_enrichers(comments, registry)
    names = [n for n, _ in enrichers]
    if ENRICHER not in names:
        raise ConfigError(
            f"dataset {name!r}: its comments are not tagged by the {ENRICHER!r} enricher "
            f"(comments.enrichers is {known_list(names) or 'empty'})"
        )
    with Session(project, registry) as session:
        loaded = session.load({name})
        report = session.enrich()
        session.lock_down()
        prefix = tag_prefix(comments.field, ENRICHER, len(names) > 1)
        chosen = loaded[name]
        if not isinstance(chosen, api.LoadedDataset):
            # validate refuses `comments:` on a dataset kept on an engine (its texts
            # would all have to come to Python); a project that skipped it lands here.
            raise ConfigError(
                f"dataset {name!r}: comments on a dataset computed in an engine cannot be "
                "tagged; tag them in a file or DuckDB dataset"
            )
        yield TaggedComments(session, project, chosen, comments, prefix[:-1], report)


def learning_of(tc: TaggedComments) -> dict[str, Any] | None:
    """Return what the nlp enricher learned from the field's scores in this session, if any."""
    for st in tc.enrichment.stats:
        learning = getattr(st, "learning", None)
        if st.enricher == ENRICHER and st.field == tc.comments.field and learning:
            return dict(learning)
    return None


# ------------------------------------------------------------------------ themes


@dataclass(frozen=True)
class ThemeRow:
    """One theme in one slice: how often it is mentioned, how people feel, examples."""

    theme: str
    share: float
    ci_low: float | None
    ci_high: float | None
    mentions: int
    comments: int
    sentiment: float | None  # mean sentiment of what is said about the theme
    examples: tuple[tuple[str, float], ...]  # (comment, its theme sentiment)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        out = dict(self.__dict__)
        out["examples"] = [{"text": t, "sentiment": s} for t, s in self.examples]
        return out


@dataclass
class ThemeOverview:
    """Top themes per slice value (e.g. per touchpoint) and the theme drivers."""

    dataset: str
    field: str
    by: str | None
    comments: int
    slices: dict[str, list[ThemeRow]] = dc_field(default_factory=dict)  # "" = all comments
    score: str | None = None
    measure: str | None = None
    drivers: list[Driver] = dc_field(default_factory=list)
    #: The same, counting only mentions whose theme sentiment reads negative (complaints).
    negative_drivers: list[Driver] = dc_field(default_factory=list)
    overall_nps: float | None = None
    notices: list[str] = dc_field(default_factory=list)
    min_n: int = 30  # below this many mentions a driver is marked low sample
    #: How sentiment was learned from `comments.learn_from` (summary, details), or None.
    learning: dict[str, Any] | None = None

    @property
    def sentiment_source(self) -> str:
        """Where the sentiment columns come from: "learned" from scores, or "lexicon"."""
        details = (self.learning or {}).get("details") or {}
        return "learned" if details.get("used") else "lexicon"

    def as_dict(self) -> dict[str, Any]:
        """Return the `cxengine themes --json` document."""
        return {
            "dataset": self.dataset,
            "field": self.field,
            "by": self.by,
            "comments": self.comments,
            "slices": {k: [r.as_dict() for r in v] for k, v in self.slices.items()},
            "score": self.score,
            "measure": self.measure,
            "overall_nps": self.overall_nps,
            "drivers": [d.as_dict() for d in self.drivers],
            "negative_drivers": [d.as_dict() for d in self.negative_drivers],
            "sentiment_source": self.sentiment_source,
            "notices": self.notices,
            "min_n": self.min_n,
            "learning": self.learning,
        }


def default_score(
    project: ProjectConfig, registry: Registry, dataset: str
) -> tuple[str | None, str]:
    """Return the score field and measure for drivers: the dataset's NPS spec, else a mean/share."""
    specs, _problems = load_project_specs(project, registry)
    for kind, measure in (("nps", "nps"), ("mean", "mean"), ("share", "mean")):
        for s in specs:
            field_name = getattr(s.spec, "field", None)
            if s.spec.kind == kind and s.spec.dataset == dataset and field_name:
                return str(field_name), measure
    return None, "nps"


def theme_overview(
    project: ProjectConfig,
    registry: Registry,
    *,
    dataset: str | None = None,
    by: str | None = "auto",
    top: int = 5,
    examples: int = 2,
    score: str | None = "auto",
    measure: str | None = None,
) -> ThemeOverview:
    """Return the top themes per `by` value with examples, and the drivers of `score`."""
    with tagged_comments(project, registry, dataset) as tc:
        ds = tc.dataset
        if by == "auto":
            by = "touchpoint" if "touchpoint" in ds.fields else None
        if by is not None and by not in ds.fields:
            raise ConfigError(
                f"--by: {by!r} is not a field of dataset {ds.name!r}"
                f"{did_you_mean(by, list(ds.fields))}"
            )
        overview = ThemeOverview(ds.name, tc.comments.field, by, _count_tagged(tc))
        overview.min_n = project.model.min_n
        overview.notices.extend(tc.enrichment.notices)
        overview.learning = learning_of(tc)
        share_spec = ThemeShareSpec(
            name="theme_share", kind="theme_share", dataset=ds.name, field=tc.tags,
            by=[by] if by else [],
        )  # fmt: skip
        shares = tc.session.compute(share_spec, ThemeShare()).values
        sentiment = _theme_sentiment(tc, by)
        samples = _examples(tc, by, examples)
        for v in shares:
            if v.value is None or not v.counts.get(f"m_{v.slice[THEME_KEY]}"):
                continue
            key = "" if by is None or by not in v.slice else str(v.slice[by])
            theme = str(v.slice[THEME_KEY])
            overview.slices.setdefault(key, []).append(
                ThemeRow(
                    theme, v.value, v.ci_low, v.ci_high, int(v.counts[f"m_{theme}"] or 0), v.n,
                    sentiment.get((key, theme)), tuple(samples.get((key, theme), ())),
                )
            )  # fmt: skip
        for key, rows in overview.slices.items():
            rows.sort(key=lambda r: (-r.mentions, r.theme))
            overview.slices[key] = rows[:top]
        if score == "auto":
            score, auto_measure = default_score(project, registry, ds.name)
            measure = measure or auto_measure
            if score is None:
                overview.notices.append(
                    "no NPS, mean or share spec reads this dataset: pass --score FIELD for drivers"
                )
        if score is not None:
            if score not in ds.fields:
                raise ConfigError(
                    f"--score: {score!r} is not a field of dataset {ds.name!r}"
                    f"{did_you_mean(score, list(ds.fields))}"
                )
            overview.score, overview.measure = score, measure or "nps"
            spec = ThemeDriversSpec(
                name="theme_drivers", kind="theme_drivers", dataset=ds.name, field=tc.tags,
                score=score, measure=overview.measure,
            )  # fmt: skip
            overview.drivers, counts = _drivers(tc, spec)
            if tc.themes:
                # What drives low scores is what people complain about: the same
                # comparison, counting a theme only where its sentiment reads negative
                # (learned from the scores when the enricher learned, see `learn_from`).
                negative = spec.model_copy(update={"mentions": "negative", "themes": tc.themes})
                overview.negative_drivers, _ = _drivers(tc, negative)
            if spec.measure == "nps" and counts.get("n_all"):
                n_all = float(counts["n_all"])
                overview.overall_nps = (
                    100.0
                    * (float(counts.get("p_all") or 0) - float(counts.get("d_all") or 0))
                    / n_all
                )
        return overview


def _drivers(tc: TaggedComments, spec: ThemeDriversSpec) -> tuple[list[Driver], Mapping[str, Any]]:
    """Return the spec's drivers of themes mentioned at least once (lowest gap first), and
    the counts they come from."""
    values = tc.session.compute(spec, ThemeDrivers()).values
    counts = values[0].counts if values else {}
    drivers = sorted(
        (d for d in drivers_from_counts(spec, counts) if d.n_with),
        key=lambda d: (d.gap if d.gap is not None else 0.0, d.theme),
    )
    return drivers, counts


def _count_tagged(tc: TaggedComments) -> int:
    row = tc.con.execute(
        f"SELECT count({ident(tc.column('themes'))}) FROM {ident(tc.dataset.table)}"
    ).fetchall()[0]
    return int(row[0]) if row else 0


def _theme_sentiment(tc: TaggedComments, by: str | None) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    table = ident(tc.dataset.table)
    for theme in tc.themes:
        col = ident(tc.column(f"theme_{theme}_sentiment"))
        key = f"CAST({ident(by)} AS VARCHAR)" if by else "''"
        rows = tc.con.execute(
            f"SELECT {key}, avg({col}) FROM {table} WHERE {col} IS NOT NULL GROUP BY 1"
        ).fetchall()
        total = tc.con.execute(f"SELECT avg({col}) FROM {table}").fetchall()[0]
        for k, mean in rows:
            out[(str(k) if k is not None else "", theme)] = float(mean)
        if by and total and total[0] is not None:
            out[("", theme)] = float(total[0])
    return out


def _examples(
    tc: TaggedComments, by: str | None, per_theme: int
) -> dict[tuple[str, str], list[tuple[str, float]]]:
    """Return up to `per_theme` comments per (slice, theme): the most negative first, then
    the most positive, so both sides of a theme are visible."""
    if per_theme <= 0:
        return {}
    key = f"CAST({ident(by)} AS VARCHAR)" if by else "''"
    rows = tc.con.execute(
        f"SELECT {key}, {ident(tc.comments.field)}, {ident(tc.column('themes'))}, "
        f"{ident(tc.column('sentiment'))} FROM {ident(tc.dataset.table)} "
        f"WHERE {ident(tc.column('themes'))} IS NOT NULL ORDER BY _cx_row"
    ).fetchall()
    grouped: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for k, text, themes, sentiment in rows:
        for theme in themes or ():
            for slice_key in {str(k) if k is not None else "", ""}:
                grouped.setdefault((slice_key, theme), []).append((text, float(sentiment or 0)))
    out: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for group, items in grouped.items():
        ordered = sorted(items, key=lambda x: x[1])
        picked: list[tuple[str, float]] = []
        low, high = 0, len(ordered) - 1
        while len(picked) < min(per_theme, len(ordered)):
            picked.append(ordered[low])
            low += 1
            if len(picked) < per_theme and high >= low and ordered[high][1] > 0:
                picked.append(ordered[high])
                high -= 1
        out[group] = picked
    return out


# ---------------------------------------------------------------------- suggest


def theme_suggestions(
    project: ProjectConfig, registry: Registry, *, dataset: str | None = None, top: int = 30
) -> list[TermSuggestion]:
    """Return frequent lemmas and phrases in tagged comments that no theme matched."""
    from cxengine_nlp.enricher import taxonomy_for
    from cxengine_nlp.suggest import suggest_terms

    with tagged_comments(project, registry, dataset) as tc:
        texts = [
            r[0]
            for r in tc.con.execute(
                f"SELECT {ident(tc.comments.field)} FROM {ident(tc.dataset.table)} "
                f"WHERE len({ident(tc.column('themes'))}) = 0 ORDER BY _cx_row"
            ).fetchall()
        ]
        from cxengine.api import enricher_options

        taxonomy = taxonomy_for(enricher_options(project, tc.comments))
        return suggest_terms(texts, taxonomy, language=tc.comments.language, top=top)


# -------------------------------------------------------------------- followups


@dataclass(frozen=True)
class FollowupRules:
    """Who counts as unhappy: a detractor, or a low satisfaction answer."""

    nps_field: str | None
    max_recommend: float
    csat_field: str | None
    max_csat: float
    negative_only: bool = True


def default_rules(
    project: ProjectConfig, registry: Registry, dataset: str
) -> tuple[str | None, float, str | None, str | None]:
    """Return (nps field, detractor max, CSAT field, time field) from the project's specs."""
    specs, _ = load_project_specs(project, registry)
    nps_field: str | None = None
    det_max = 6.0
    csat: str | None = None
    time: str | None = None
    for s in specs:
        spec = s.spec
        if spec.dataset != dataset:
            continue
        if spec.kind == "nps" and nps_field is None:
            nps_field = spec.field  # type: ignore[attr-defined]
            detractors = getattr(spec, "detractors", None)
            det_max = float(detractors.max) if detractors and detractors.max is not None else 6.0
            time = time or spec.time
        scale = getattr(spec, "scale", None)
        if spec.kind in ("share", "mean") and csat is None and scale and scale.max == 5:
            csat = spec.field  # type: ignore[attr-defined]
            time = time or spec.time
    return nps_field, det_max, csat, time


def followups(
    project: ProjectConfig,
    registry: Registry,
    *,
    dataset: str | None = None,
    nps_field: str | None = "auto",
    max_recommend: float | None = None,
    csat_field: str | None = "auto",
    max_csat: float = 2,
    negative_only: bool = True,
    since: date | None = None,
    limit: int | None = None,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Return (columns, rows) of unhappy respondents with a (negative) tagged comment.

    Unhappy = a detractor (recommend ≤ `max_recommend`, default the NPS spec's
    detractor range) or satisfaction ≤ `max_csat`. Most negative comments first.
    """

    name = pick_dataset(project, dataset)
    auto_nps, det_max, auto_csat, time = default_rules(project, registry, name)
    nps_field = auto_nps if nps_field == "auto" else nps_field
    csat_field = auto_csat if csat_field == "auto" else csat_field
    if nps_field is None and csat_field is None:
        raise ConfigError(
            "no NPS or CSAT field to find unhappy customers by: pass --nps-field or --csat-field"
        )
    limit_recommend = det_max if max_recommend is None else max_recommend
    with tagged_comments(project, registry, name) as tc:
        ds = tc.dataset
        for option, value in (("--nps-field", nps_field), ("--csat-field", csat_field)):
            if value is not None and value not in ds.fields:
                raise ConfigError(
                    f"{option}: {value!r} is not a field of dataset {ds.name!r}"
                    f"{did_you_mean(value, list(ds.fields))}"
                )
        unhappy = []
        if nps_field:
            unhappy.append(f"{ident(nps_field)} <= {float(limit_recommend)!r}")
        if csat_field:
            unhappy.append(f"{ident(csat_field)} <= {float(max_csat)!r}")
        conditions = [f"({' OR '.join(unhappy)})", f"{ident(tc.column('themes'))} IS NOT NULL"]
        if negative_only:
            conditions.append(f"{ident(tc.column('label'))} = 'negative'")
        if since is not None and time is not None:
            conditions.append(
                f"CAST({ident(time)} AS DATE) >= CAST({text_literal(since.isoformat())} AS DATE)"
            )
        tag_columns = {c for c in ds.fields if c.startswith(f"{tc.tags}_")}
        base = [c for c in ds.fields if c not in tag_columns and c != tc.comments.field]
        columns = [*base, "sentiment", "label", "themes", tc.comments.field]
        select = [ident(c) for c in base] + [
            ident(tc.column("sentiment")),
            ident(tc.column("label")),
            f"array_to_string({ident(tc.column('themes'))}, ', ')",
            ident(tc.comments.field),
        ]
        order = [ident(tc.column("sentiment")) + " ASC"]
        if time is not None:
            order.append(f"{ident(time)} DESC")
        order.append("_cx_row")
        sql = (
            f"SELECT {', '.join(select)} FROM {ident(ds.table)} "
            f"WHERE {' AND '.join(conditions)} ORDER BY {', '.join(order)}"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = [dict(zip(columns, r, strict=True)) for r in tc.con.execute(sql).fetchall()]
    return columns, rows


def format_cell(value: Any) -> str:
    """Format a value for a table or CSV cell (datetimes as ISO text)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}" if not value.is_integer() else str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat())
    return str(value)


def ordered(rows: Sequence[ThemeRow]) -> list[ThemeRow]:
    """Return theme rows by mentions, most first (ties by id, for stable output)."""
    return sorted(rows, key=lambda r: (-r.mentions, r.theme))
