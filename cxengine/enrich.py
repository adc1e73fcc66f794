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
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxengine.config import CommentsConfig, ProjectConfig
from cxengine.errors import CxError, PluginError, Problem, SpecError, did_you_mean, known_list
from cxengine.interfaces import Enricher, EnrichRequest
from cxengine.store.comment_tags import StoredTag, read_tags, write_tags

if TYPE_CHECKING:
    import duckdb

    from cxengine.dataset.load import LoadedDataset
    from cxengine.plugins import Registry

Progress = Callable[[str, int, int], None]

#: Texts handed to an enricher per call: bounded memory, and progress while it works.
BATCH_SIZE = 5_000
#: Where an enricher's tags appear when it is the only one tagging the field.
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
    """Return the options an enricher gets: the config's, plus `language` and `project_dir`."""
    return {
        **comments.options,
        "language": comments.language,
        "project_dir": str(project.base_dir),
    }


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
        types = {f: c.type for f, c in ds.fields.items()}
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
        except CxError:
            themes = []  # reported by check_enrichment
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
        for key in ("field", "key"):
            value = getattr(comments, key)
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
    from cxengine.dataset.sql import ident

    where = ("datasets", ds.name, "comments")
    key_field = comments.key or project.model.datasets[ds.name].key
    for key, value in (("field", comments.field), ("key", key_field)):
        if value is not None and value not in ds.fields:
            raise SpecError(
                [
                    project.positions.problem(
                        (*where, key) if key == "field" or comments.key else ("datasets", ds.name),
                        f"{value!r} is not a field of dataset {ds.name!r}"
                        f"{did_you_mean(value, list(ds.fields))}. Fields: {known_list(ds.fields)}",
                    )
                ]
            )
    key_sql = f"CAST({ident(key_field)} AS VARCHAR)" if key_field else "NULL"
    rows = con.execute(
        f"SELECT _cx_row, {key_sql}, CAST({ident(comments.field)} AS VARCHAR) "
        f"FROM {ident(ds.table)} ORDER BY _cx_row"
    ).fetchall()
    present: list[tuple[int, str, str, str]] = []  # row, key, text, hash
    seen: dict[str, int] = {}
    duplicates = 0
    for row, key, text in rows:
        if text is None or not text.strip():
            continue  # nothing to tag: the tag columns stay NULL
        base = key if key is not None else f"row {row + 1}"
        count = seen.get(base, 0) + 1
        seen[base] = count
        if count > 1:
            duplicates += 1
        present.append((row, base if count == 1 else f"{base}#{count}", text, _text_hash(text)))
    if duplicates:
        report.notices.append(
            f"{ds.name}.{comments.field}: {duplicates} comments share a key with an earlier row "
            f"({key_field or 'row number'}); they are stored as key#2, key#3, …"
        )

    options = enricher_options(project, comments)
    several = len(enrichers) > 1
    joins: list[str] = []
    select = ["d.*"]
    fingerprint = hashlib.sha256(ds.fingerprint.encode())
    for index, (enricher_name, enricher) in enumerate(enrichers):
        owner = registry.owner("enricher", enricher_name) or enricher_name
        version = _call(owner, enricher_name, "version", lambda e=enricher: e.version(options))
        themes = _call(owner, enricher_name, "themes", lambda e=enricher: _themes_of(e, options))
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
        tags, stats = _tags_for(
            ds.name, comments.field, enricher_name, enricher, owner, version, options,
            present, database=database, write=write, progress=progress,
        )  # fmt: skip
        report.stats.append(
            EnrichmentStats(
                ds.name, comments.field, enricher_name, version, len(present),
                stats[0], stats[1], stats[2], tuple(columns),
            )
        )  # fmt: skip
        table = f"_cx_tags_{ds.name}_{index}"
        _register_tags(con, table, present, tags)
        select.extend(_tag_select(f"t{index}", prefix, themes))
        joins.append(f" LEFT JOIN {ident(table)} AS t{index} USING (_cx_row)")
        ds.fields.update(columns)
    enriched = f"_cx_enriched_{ds.name}"
    con.execute(
        f"CREATE OR REPLACE TABLE {ident(enriched)} AS "
        f"SELECT {', '.join(select)} FROM {ident(ds.table)} AS d{''.join(joins)}"
    )
    ds.table = enriched
    ds.fingerprint = fingerprint.hexdigest()[: len(ds.fingerprint) or 16]


def _tags_for(
    dataset: str,
    comment_field: str,
    enricher_name: str,
    enricher: Enricher,
    owner: str,
    version: str,
    options: Mapping[str, Any],
    present: Sequence[tuple[int, str, str, str]],
    *,
    database: Path | None,
    write: bool,
    progress: Progress | None,
) -> tuple[list[StoredTag], tuple[int, int, int]]:
    """Return the tags of every present comment, in order, and (analysed, cached, written)."""
    cached = read_tags(database, dataset, comment_field, enricher_name, version) if database else {}
    by_hash = {tag.text_hash: tag for tag in cached.values()}
    # Distinct texts not in the cache: an enricher sees each text once per run.
    todo: dict[str, tuple[str, str]] = {}  # hash -> (key, text)
    for _row, key, text, digest in present:
        if digest not in by_hash and digest not in todo:
            todo[digest] = (key, text)
    fresh: dict[str, StoredTag] = {}
    items = list(todo.items())
    for start in range(0, len(items), BATCH_SIZE):
        batch = items[start : start + BATCH_SIZE]
        request = EnrichRequest(
            dataset=dataset,
            keys=[key for _, (key, _t) in batch],
            texts=[text for _, (_k, text) in batch],
            options=options,
        )
        results = _call(owner, enricher_name, "enrich", lambda r=request: enricher.enrich(r))
        if not isinstance(results, list) or len(results) != len(batch):
            got = len(results) if isinstance(results, list) else type(results).__name__
            raise PluginError(
                owner, f"enricher {enricher_name!r} returned {got} results for {len(batch)} texts"
            )
        for (digest, (key, _text)), tags in zip(batch, results, strict=True):
            fresh[digest] = StoredTag.from_tags(digest, _checked(tags, owner, enricher_name, key))
        if progress:
            progress(f"tagged {dataset}.{comment_field}", start + len(batch), len(items))
    by_hash.update(fresh)
    out = [by_hash[digest] for _row, _key, _text, digest in present]
    changed = [
        (key, tag)
        for (_row, key, _text, _digest), tag in zip(present, out, strict=True)
        if cached.get(key) != tag
    ]
    keys = [key for _row, key, _text, _digest in present]
    gone = set(cached) - set(keys)
    written = 0
    if write and database is not None and (changed or gone or not cached):
        from cxengine.store.results import ResultsStore, now_iso

        with ResultsStore(database) as store, store.write() as conn:
            written = write_tags(
                conn, dataset=dataset, field=comment_field, enricher=enricher_name,
                version=version, changed=changed, keys=keys, tagged_at=now_iso(),
            )  # fmt: skip
    reused = sum(1 for _row, _key, _text, digest in present if digest not in fresh)
    return out, (len(fresh), reused, written)


def _register_tags(
    con: duckdb.DuckDBPyConnection,
    table: str,
    present: Sequence[tuple[int, str, str, str]],
    tags: Sequence[StoredTag],
) -> None:
    """Load the tags into a DuckDB table keyed by _cx_row (JSON parsed by DuckDB, not Python)."""
    import pyarrow as pa

    from cxengine.dataset.sql import ident

    arrow = pa.table(
        {
            "_cx_row": pa.array([p[0] for p in present], pa.int64()),
            "language": pa.array([t.language for t in tags], pa.string()),
            "themes": pa.array([t.themes for t in tags], pa.string()),
            "sentiment": pa.array([t.sentiment for t in tags], pa.float64()),
            "label": pa.array([t.label for t in tags], pa.string()),
            "theme_sentiment": pa.array([t.theme_sentiment for t in tags], pa.string()),
        }
    )
    view = f"{table}_arrow"
    con.register(view, arrow)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {ident(table)} AS SELECT * FROM {ident(view)}")
    finally:
        con.unregister(view)


def _tag_select(alias: str, prefix: str, themes: Sequence[str]) -> list[str]:
    from cxengine.dataset.sql import ident, lit

    def col(name: str) -> str:
        return f"{ident(alias)}.{ident(name)}"

    themes_list = f"from_json({col('themes')}, '[\"VARCHAR\"]')"
    out = [
        f"{col('language')} AS {ident(prefix + 'language')}",
        f"{themes_list} AS {ident(prefix + 'themes')}",
        f"{col('sentiment')} AS {ident(prefix + 'sentiment')}",
        f"{col('label')} AS {ident(prefix + 'label')}",
    ]
    for theme in themes:
        path = "$." + json.dumps(theme)  # a quoted JSON path key: any id is safe
        out.append(
            f"list_contains({themes_list}, {lit(theme)}) AS {ident(prefix + 'theme_' + theme)}"
        )
        out.append(
            f"TRY_CAST(json_extract({col('theme_sentiment')}, {lit(path)}) AS DOUBLE) "
            f"AS {ident(prefix + 'theme_' + theme + '_sentiment')}"
        )
    return out


def _text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def _call(owner: str, enricher: str, what: str, action: Callable[[], Any]) -> Any:
    try:
        return action()
    except CxError:
        raise  # the enricher's own, located error (a bad taxonomy file: exit 1)
    except Exception as exc:
        raise PluginError(owner, f"enricher {enricher!r} failed in {what}(): {exc}") from exc


def _checked(tags: Any, owner: str, enricher: str, key: str) -> dict[str, Any]:
    """Check one result against the standard tag vocabulary; raise naming the comment."""

    def bad(message: str) -> PluginError:
        return PluginError(owner, f"enricher {enricher!r}, comment {key!r}: {message}")

    if not isinstance(tags, dict):
        raise bad(f"expected a dict of tags, got {type(tags).__name__}")
    for name in ("language", "label", "lexicon_version", "taxonomy_version"):
        if tags.get(name) is not None and not isinstance(tags[name], str):
            raise bad(f"{name} must be text, got {tags[name]!r}")
    sentiment = tags.get("sentiment")
    if sentiment is not None and (
        isinstance(sentiment, bool)
        or not isinstance(sentiment, int | float)
        or not math.isfinite(sentiment)
    ):
        raise bad(f"sentiment must be a finite number, got {sentiment!r}")
    themes = tags.get("themes")
    if themes is not None and (
        not isinstance(themes, list | tuple) or not all(isinstance(t, str) for t in themes)
    ):
        raise bad(f"themes must be a list of theme ids, got {themes!r}")
    per_theme = tags.get("theme_sentiment")
    if per_theme is not None and not isinstance(per_theme, dict):
        raise bad(f"theme_sentiment must map theme ids to scores, got {per_theme!r}")
    try:
        json.dumps(tags)
    except (TypeError, ValueError) as exc:
        raise bad(f"tags must be JSON-serialisable: {exc}") from None
    return tags
