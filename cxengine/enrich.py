"""Enrichment: tag each dataset's comment field with the registered enrichers, cached.

A dataset opts in with a `comments:` block in cxengine.yaml. After the datasets are
loaded (and before DuckDB is locked down), every non-empty comment is tagged by each
enricher, unless `comment_tags` already holds tags for the same text (SHA-1) and the
same enricher version: a rerun over unchanged comments does no NLP work.

What kinds see: the dataset's table is replaced by the same rows plus tag columns,
named after the comment field (``comment_sentiment``, ``comment_themes``, …; see
`tag_columns`). Tags are therefore ordinary typed fields: usable in `where:` filters,
in `by:`, and by any aggregation kind, built-in or from a plugin. Rows without a
comment have NULL tags.

With no enricher installed the comment fields are simply not tagged, with a notice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxengine.config import CommentsConfig, ProjectConfig
from cxengine.errors import PluginError, Problem, SpecError, did_you_mean, known_list
from cxengine.interfaces import Enricher, EnrichRequest
from cxengine.tagging import (
    Staged,
    call,
    stage_comments,
    tag_field,
    tag_select,
    text_tags,
)

if TYPE_CHECKING:
    import duckdb

    from cxengine.dataset.load import LoadedDataset
    from cxengine.plugins import Registry

Progress = Callable[[str, int, int], None]

NOTICE_NO_ENRICHER = (
    "{dataset}.{field}: no enricher is installed, so comments are not tagged "
    "(install one, e.g. `pip install cxengine-nlp`)"
)


@dataclass(frozen=True)
class EnrichmentStats:
    """What one enricher did for one comment field."""

    dataset: str
    field: str
    enricher: str
    version: str
    comments: int  # non-empty comments in the dataset
    analysed: int  # distinct texts the enricher was called for (cache misses)
    cached: int  # comments whose tags came from comment_tags
    written: int  # rows upserted into comment_tags
    columns: tuple[str, ...]
    #: What the enricher learned from `comments.learn_from` ({"version", "summary",
    #: "details"} as its `learn` returned them), None when it did not learn.
    learning: Mapping[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "dataset": self.dataset,
            "field": self.field,
            "enricher": self.enricher,
            "version": self.version,
            "comments": self.comments,
            "analysed": self.analysed,
            "cached": self.cached,
            "written": self.written,
            "columns": list(self.columns),
            "learning": dict(self.learning) if self.learning is not None else None,
        }


@dataclass
class EnrichmentReport:
    """Everything enrichment did in one run, and what it could not do."""

    stats: list[EnrichmentStats] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"stats": [s.as_dict() for s in self.stats], "notices": list(self.notices)}


# ------------------------------------------------------------------ column layout


def tag_prefix(comment_field: str, enricher: str, several: bool) -> str:
    """Return the prefix of an enricher's tag columns: `comment_`, or `comment_nlp_` if shared."""
    return f"{comment_field}_{enricher}_" if several else f"{comment_field}_"


def tag_columns(prefix: str, themes: Sequence[str]) -> dict[str, str]:
    """Return tag column -> cxengine type for one enricher on one field.

    ``<prefix>language``, ``<prefix>label`` (string), ``<prefix>sentiment`` (number,
    −1…1), ``<prefix>themes`` (list of theme ids), and per theme the enricher declares
    ``<prefix>theme_<id>`` (boolean: mentioned) and ``<prefix>theme_<id>_sentiment``
    (number: sentiment of what the comment says about it).
    """
    columns = {
        f"{prefix}language": "string",
        f"{prefix}themes": "list",
        f"{prefix}sentiment": "number",
        f"{prefix}label": "string",
    }
    for theme in themes:
        columns[f"{prefix}theme_{theme}"] = "boolean"
        columns[f"{prefix}theme_{theme}_sentiment"] = "number"
    return columns


def enricher_options(project: ProjectConfig, comments: CommentsConfig) -> dict[str, Any]:
    """Return the options an enricher gets: the config's, plus `language` and `project_dir`.

    And `learn_from` (field, scale, cut points) only when the block declares it, and
    `allowed_paths` (the folders outside the project files may be read from) only when
    the project lists any, so enrichers that check their option keys see nothing new
    otherwise.
    """
    options = {
        **comments.options,
        "language": comments.language,
        "project_dir": str(project.base_dir),
    }
    if comments.learn_from is not None:
        options["learn_from"] = comments.learn_from.as_options()
    allowed = project.allowed_paths()
    if allowed:
        # Only when listed, so enrichers that check their option keys see nothing new.
        options["allowed_paths"] = [str(p) for p in allowed]
    return options


def chosen_enrichers(
    comments: CommentsConfig, registry: Registry
) -> tuple[list[tuple[str, Enricher]], list[str]]:
    """Return the enrichers to run on a field, and the configured names not installed."""
    if comments.enrichers is None:
        return sorted(registry.enrichers.items()), []
    found = [(n, registry.enrichers[n]) for n in comments.enrichers if n in registry.enrichers]
    missing = [n for n in comments.enrichers if n not in registry.enrichers]
    return found, missing


def _themes_of(enricher: Enricher, options: Mapping[str, Any]) -> list[str]:
    getter = getattr(enricher, "themes", None)
    return [str(t) for t in getter(options)] if getter else []


def declared_tag_types(project: ProjectConfig, registry: Registry) -> dict[str, dict[str, str]]:
    """Return dataset -> field -> type for datasets that declare fields, tag columns added.

    Lets specs that read tag columns (or filter on them) validate without data.
    """
    out: dict[str, dict[str, str]] = {}
    for name, ds in project.model.datasets.items():
        if not ds.fields:
            continue
        types: dict[str, str] = {f: c.type for f, c in ds.fields.items()}
        if ds.comments is not None:
            types.update(_field_tag_types(project, registry, ds.comments))
        out[name] = types
    return out


def add_tag_types(
    types: dict[str, dict[str, str]], project: ProjectConfig, registry: Registry
) -> None:
    """Add the tag columns to field types read from data (`validate --with-data`)."""
    for name, fields in types.items():
        comments = project.model.datasets[name].comments
        if comments is not None:
            fields.update(_field_tag_types(project, registry, comments))


def _field_tag_types(
    project: ProjectConfig, registry: Registry, comments: CommentsConfig
) -> dict[str, str]:
    enrichers, _ = chosen_enrichers(comments, registry)
    options = enricher_options(project, comments)
    types: dict[str, str] = {}
    for name, enricher in enrichers:
        try:
            themes = _themes_of(enricher, options)
        except Exception:
            themes = []  # bad options or taxonomy: check_enrichment reports them
        prefix = tag_prefix(comments.field, name, len(enrichers) > 1)
        types.update(tag_columns(prefix, themes))
    return types


def check_enrichment(project: ProjectConfig, registry: Registry) -> list[Problem]:
    """Check every `comments:` block: fields exist, enrichers exist, their options are valid."""
    problems: list[Problem] = []
    for name, ds in project.model.datasets.items():
        comments = ds.comments
        if comments is None:
            continue
        where = ("datasets", name, "comments")
        declared = ds.fields
        learn_field = comments.learn_from.field if comments.learn_from else None
        for key, value in (("field", comments.field), ("key", comments.key),
                           ("learn_from", learn_field)):  # fmt: skip
            if value and declared and value not in declared:
                problems.append(
                    project.positions.problem(
                        (*where, key),
                        f"{value!r} is not a field of dataset {name!r}"
                        f"{did_you_mean(value, list(declared))}. Fields: {known_list(declared)}",
                    )
                )
        if declared and comments.field in declared:
            collisions = sorted(set(_field_tag_types(project, registry, comments)) & set(declared))
            for column in collisions:
                problems.append(
                    project.positions.problem(
                        (*where, "field"),
                        f"tag column {column!r} would hide the field of the same name; "
                        "rename that field",
                    )
                )
        enrichers, missing = chosen_enrichers(comments, registry)
        for n in missing:
            problems.append(
                Problem(
                    *_at(project, (*where, "enrichers")),
                    f"enricher {n!r} is not installed{did_you_mean(n, list(registry.enrichers))}; "
                    f"these comments will not be tagged by it. "
                    f"Installed: {known_list(registry.enrichers) or 'none'}",
                    "warning",
                )
            )
        options = enricher_options(project, comments)
        for enricher_name, enricher in enrichers:
            check = getattr(enricher, "validate", None)
            if check is None:
                continue
            try:
                found = list(check(options))
            except Exception as exc:
                raise PluginError(
                    registry.owner("enricher", enricher_name) or enricher_name,
                    f"enricher {enricher_name!r} failed to validate its options: {exc}",
                ) from exc
            for p in found:
                # A problem without a file of its own belongs to the comments block.
                problems.append(p if p.file else Problem(*_at(project, where), p.message))
    return problems


def _at(project: ProjectConfig, path: tuple[str | int, ...]) -> tuple[str, int, str]:
    p = project.positions.problem(path, "")
    return p.file, p.line, p.path


# ---------------------------------------------------------------------- the step


def enrich_datasets(
    con: duckdb.DuckDBPyConnection,
    project: ProjectConfig,
    registry: Registry,
    datasets: Mapping[str, LoadedDataset],
    *,
    database: Path | None,
    write: bool,
    progress: Progress | None = None,
) -> EnrichmentReport:
    """Tag the comment fields of the loaded datasets and expose the tags as columns.

    `database` is read for cached tags (when it exists) and, with `write`, receives
    the new ones in one transaction per field and enricher. Each enriched dataset's
    `table`, `fields` and `fingerprint` are updated in place, so the rest of the run
    sees the tag columns and a run id that changes when the enricher version does.
    """
    report = EnrichmentReport()
    for name in sorted(datasets):
        comments = project.model.datasets[name].comments
        if comments is None:
            continue
        enrichers, missing = chosen_enrichers(comments, registry)
        for n in missing:
            report.notices.append(
                f"{name}.{comments.field}: enricher {n!r} is not installed; not tagged by it"
            )
        if not enrichers:
            if not missing:
                report.notices.append(NOTICE_NO_ENRICHER.format(dataset=name, field=comments.field))
            continue
        _enrich_dataset(
            con, project, registry, datasets[name], comments, enrichers,
            database=database, write=write, progress=progress, report=report,
        )  # fmt: skip
    return report


def _enrich_dataset(
    con: duckdb.DuckDBPyConnection,
    project: ProjectConfig,
    registry: Registry,
    ds: LoadedDataset,
    comments: CommentsConfig,
    enrichers: list[tuple[str, Enricher]],
    *,
    database: Path | None,
    write: bool,
    progress: Progress | None,
    report: EnrichmentReport,
) -> None:
    from cxengine.dataset.sql import ident, run

    where = ("datasets", ds.name, "comments")
    key_field = comments.key or project.model.datasets[ds.name].key
    score_field = comments.learn_from.field if comments.learn_from else None
    for key, value in (("field", comments.field), ("key", key_field), ("learn_from", score_field)):
        if value is not None and value not in ds.fields:
            raise SpecError(
                [
                    project.positions.problem(
                        (*where, key) if key != "key" or comments.key else ("datasets", ds.name),
                        f"{value!r} is not a field of dataset {ds.name!r}"
                        f"{did_you_mean(value, list(ds.fields))}. Fields: {known_list(ds.fields)}",
                    )
                ]
            )
    staged = stage_comments(con, ds.table, ds.name, comments.field, key_field)
    if staged.duplicates:
        report.notices.append(
            f"{ds.name}.{comments.field}: {staged.duplicates} comments share a key with an "
            f"earlier row ({key_field or 'row number'}); they are stored as key#2, key#3, …"
        )
    options = enricher_options(project, comments)
    several = len(enrichers) > 1
    if score_field is not None and not any(hasattr(e, "learn") for _, e in enrichers):
        report.notices.append(
            f"{ds.name}.{comments.field}: learn_from is set, but no enricher here learns "
            "from scores; the comments are tagged without it"
        )
    select = ["d.*"]
    tag_sets: list[str] = []
    fingerprint = hashlib.sha256(ds.fingerprint.encode())
    for index, (enricher_name, enricher) in enumerate(enrichers):
        owner = registry.owner("enricher", enricher_name) or enricher_name
        version = str(call(owner, enricher_name, "version", partial(enricher.version, options)))
        learning = None
        if score_field is not None and hasattr(enricher, "learn"):
            learning = _learn(con, staged, ds.name, score_field, enricher_name, enricher,
                              owner, options)  # fmt: skip
            # Tags are cached per text and version: what was learned is part of the key.
            version = f"{version}+learned.{learning['version']}"
        enrich_options = (
            {**options, "learned": learning["version"]} if learning is not None else options
        )
        themes = call(owner, enricher_name, "themes", partial(_themes_of, enricher, options))
        prefix = tag_prefix(comments.field, enricher_name, several)
        columns = tag_columns(prefix, themes)
        clash = sorted(set(columns) & set(ds.fields))
        if clash:
            raise SpecError(
                [
                    project.positions.problem(
                        (*where, "field"),
                        f"tag column {clash[0]!r} would hide the field of the same name; "
                        "rename that field",
                    )
                ]
            )
        fingerprint.update(f"{enricher_name}:{version}".encode())
        outcome = tag_field(
            con, staged, dataset=ds.name, comment_field=comments.field,
            enricher_name=enricher_name, enricher=enricher, owner=owner, version=version,
            options=enrich_options, table=f"_cx_tags_{ds.name}_{index}", database=database,
            write=write, themes=themes, progress=progress,
        )  # fmt: skip
        report.stats.append(
            EnrichmentStats(
                ds.name, comments.field, enricher_name, version, staged.count,
                outcome.analysed, outcome.cached, outcome.written, tuple(columns), learning,
            )
        )  # fmt: skip
        select.extend(tag_select(f"t{index}", prefix, themes))
        tag_sets.append(f"_cx_tagset_{ds.name}_{index}")
        refs = text_tags(con, outcome, tag_sets[-1])
        run(con, f"CREATE OR REPLACE TEMP TABLE {ident(tag_sets[-1] + '_rows')} AS {refs}")
        outcome.cleanup()
        ds.fields.update(columns)
    # The staged comments (key and hash per comment) are no longer needed.
    run(con, f"DROP TABLE IF EXISTS {ident(staged.table)}")
    ds.table = tag_view(con, ds.table, f"_cx_enriched_{ds.name}", select, tag_sets)
    ds.fingerprint = fingerprint.hexdigest()[: len(ds.fingerprint) or 16]


def tag_view(
    con: duckdb.DuckDBPyConnection, table: str, view: str, select: list[str], tag_sets: list[str]
) -> str:
    """Create the view kinds read: the dataset's rows with the tag columns beside them.

    Not a copy: the dataset with a copy of every field plus ~30 tag columns was the
    largest thing a tagged run held (+0.3 GiB at 1M responses). Per row, the view
    holds one 4-byte reference per enricher (`_cx_tagrefs_<dataset>`, in the table's
    row order), read beside the dataset with a positional join, which costs nothing
    when a query reads no tag column; the tags themselves are one row per distinct
    value. Should the row order not line up (it always has), a join on `_cx_row`
    takes its place.
    """
    from cxengine.dataset.sql import ident, run

    refs = f"_cx_tagrefs_{table}"
    ids = ", ".join(f"r{i}._cx_tag AS t{i}" for i in range(len(tag_sets)))
    joins = "".join(
        f" LEFT JOIN {ident(t + '_rows')} AS r{i} USING (_cx_row)" for i, t in enumerate(tag_sets)
    )
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {ident(refs)} AS SELECT d._cx_row, {ids} "
        f"FROM {ident(table)} AS d{joins} ORDER BY d._cx_row",
    )
    for t in tag_sets:
        run(con, f"DROP TABLE {ident(t + '_rows')}")
    misaligned = con.execute(
        f"SELECT count(*) FROM {ident(table)} AS d POSITIONAL JOIN {ident(refs)} AS r "
        f"WHERE d._cx_row IS DISTINCT FROM r._cx_row"
    ).fetchall()[0][0]
    rows = (
        f" POSITIONAL JOIN {ident(refs)} AS r"
        if not misaligned
        else f" LEFT JOIN {ident(refs)} AS r ON r._cx_row = d._cx_row"
    )
    tags = "".join(
        f" LEFT JOIN {ident(t)} AS t{i} ON t{i}._cx_tag = r.t{i}" for i, t in enumerate(tag_sets)
    )
    run(
        con,
        f"CREATE OR REPLACE TEMP VIEW {ident(view)} AS "
        f"SELECT {', '.join(select)} FROM {ident(table)} AS d{rows}{tags}",
    )
    return view


def _learn(
    con: duckdb.DuckDBPyConnection,
    staged: Staged,
    dataset: str,
    score_field: str,
    enricher_name: str,
    enricher: Enricher,
    owner: str,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """Hand every non-empty comment and its score to the enricher's `learn`; check the answer."""
    from cxengine.dataset.sql import ident

    rows = con.execute(
        f"SELECT s.comment_key, {staged.text_sql}, d.{ident(score_field)} "
        f"FROM {ident(staged.table)} AS s JOIN {ident(staged.source)} AS d USING (_cx_row) "
        f"ORDER BY s._cx_row"
    ).fetchall()
    request = EnrichRequest(
        dataset=dataset,
        keys=[r[0] for r in rows],
        texts=[r[1] for r in rows],
        options=options,
        scores=[r[2] for r in rows],
    )
    learn = enricher.learn  # type: ignore[attr-defined]
    answer = call(owner, enricher_name, "learn", partial(learn, request))
    if not isinstance(answer, Mapping) or not isinstance(answer.get("version"), str):
        raise PluginError(
            owner,
            f"enricher {enricher_name!r}: learn() must return a mapping with a 'version' "
            f"string, got {answer!r:.200}",
        )
    summary = answer.get("summary")
    if summary is not None and not isinstance(summary, str):
        raise PluginError(owner, f"enricher {enricher_name!r}: learn() summary must be text")
    return {"version": answer["version"], "summary": summary, "details": answer.get("details")}
