"""Enrichment: comment fields tagged by enricher plugins, cached, exposed as columns.

A fake enricher stands in for the NLP plugin, so these tests pin the host's side of
the contract without spaCy: what is sent, what is cached, what kinds can read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import cxengine
from cxengine.cli import cli
from cxengine.cli.app import CliState
from cxengine.config import load_config
from cxengine.errors import PluginError
from cxengine.interfaces import EnrichRequest
from cxengine.plugins import Registry, get_plugin_manager, get_registry
from cxengine.runner import run_project, validate_project
from cxengine.store.migrations import MIGRATIONS

DATA = """\
id,score,channel,comment
r1,1,web,the parcel was late and broken
r2,5,web,great service
r3,4,phone,
r4,2,phone,   \t
r5,5,web,great service
r6,1,phone,late again
"""

DATASET = """
responses:
  source: csv
  path: data.csv
  key: id
  fields: {id: string, score: integer, channel: string, comment: string}
  comments: {field: comment, key: id, options: {flavour: plain}}
"""

COUNT_NEGATIVE = """\
name: negative_comments
kind: count
dataset: responses
where: "comment_label = 'negative'"
"""

MEAN_SENTIMENT = """\
name: sentiment
kind: mean
dataset: responses
field: comment_sentiment
by: [channel]
"""


class WordEnricher:
    """Tags 'late' and 'broken' as themes; sentiment -0.5 per theme, +0.8 for 'great'."""

    name = "words"
    description = "test enricher"

    def __init__(self, version: str = "1") -> None:
        self._version = version
        self.texts: list[str] = []
        self.options: list[Mapping[str, Any]] = []

    def version(self, options: Mapping[str, Any]) -> str:
        return self._version

    def themes(self, options: Mapping[str, Any]) -> list[str]:
        return ["late", "broken"]

    def enrich(self, request: EnrichRequest) -> list[dict[str, Any]]:
        self.texts.extend(request.texts)
        self.options.append(request.options)
        out = []
        for text in request.texts:
            themes = [t for t in ("late", "broken") if t in text]
            score = 0.8 if "great" in text else -0.5 * len(themes)
            out.append(
                {
                    "language": "en",
                    "themes": themes,
                    "sentiment": score,
                    "label": "positive" if score > 0 else "negative" if score < 0 else "neutral",
                    "theme_sentiment": {t: -0.5 for t in themes},
                    "model": "words-v1",  # a non-standard tag: kept in `extra`
                }
            )
        return out


class EnricherPlugin:
    def __init__(self, enricher: object) -> None:
        self.enricher = enricher

    @cxengine.hookimpl
    def register_enrichers(self, register: Callable[..., None]) -> None:
        register(self.enricher)


def registry_with(*enrichers: object) -> Registry:
    plugins = [EnricherPlugin(e) for e in enrichers]
    return Registry(get_plugin_manager(load_entry_points=False, extra=plugins))


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project(
        DATASET,
        {"negative.yaml": COUNT_NEGATIVE, "sentiment.yaml": MEAN_SENTIMENT},
        {"data.csv": DATA},
    )


def tags_in(db: Path) -> dict[str, tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT comment_key, themes, sentiment, label, theme_sentiment, extra, enricher "
        "FROM comment_tags ORDER BY comment_key"
    ).fetchall()
    conn.close()
    return {r[0]: r[1:] for r in rows}


def test_run_tags_non_empty_comments_and_stores_them(project: Path) -> None:
    enricher = WordEnricher()
    result = run_project(load_config(project), registry_with(enricher))
    # Empty and whitespace-only comments are not sent; the duplicate text is sent once.
    assert enricher.texts == ["the parcel was late and broken", "great service", "late again"]
    assert enricher.options[0]["flavour"] == "plain"
    assert enricher.options[0]["project_dir"] == str(project.parent)
    tags = tags_in(project.parent / "cx.db")
    assert sorted(tags) == ["r1", "r2", "r5", "r6"]
    assert tags["r1"] == (
        '["late","broken"]', -1.0, "negative", '{"broken":-0.5,"late":-0.5}',
        '{"model":"words-v1"}', "words",
    )  # fmt: skip
    stats = result.extra["enrichment"].stats[0]
    assert (stats.comments, stats.analysed, stats.cached, stats.written) == (4, 3, 0, 4)


def test_tags_are_columns_that_specs_filter_and_aggregate(project: Path) -> None:
    result = run_project(load_config(project), registry_with(WordEnricher()))
    values = {(v.metric, tuple(v.slice.items())): v for v in result.values}
    assert values[("negative_comments", ())].value == 2  # r1 and r6
    web = values[("sentiment", (("channel", "web"),))]
    assert (web.value, web.n) == (pytest.approx((-1.0 + 0.8 + 0.8) / 3), 3)
    # Rows without a comment have no tags: they are not counted as neutral.
    assert values[("sentiment", (("channel", "phone"),))].n == 1


def test_rerun_over_unchanged_comments_does_no_enrichment_work(project: Path) -> None:
    config = load_config(project)
    run_project(config, registry_with(WordEnricher()))
    again = WordEnricher()
    # Computed again (not reused from the rerun cache): the tag cache is under test.
    result = run_project(config, registry_with(again), reuse=False)
    assert again.texts == []
    stats = result.extra["enrichment"].stats[0]
    assert (stats.analysed, stats.cached, stats.written) == (0, 4, 0)
    assert tags_in(project.parent / "cx.db")["r1"][2] == "negative"


def test_only_changed_comments_are_analysed_and_removed_ones_forgotten(project: Path) -> None:
    config = load_config(project)
    run_project(config, registry_with(WordEnricher()))
    data = project.parent / "data.csv"
    text = (
        data.read_text()
        .replace("late again", "broken again")
        .replace("r5,5,web,great service\n", "")
    )
    data.write_text(text)
    again = WordEnricher()
    run_project(config, registry_with(again))
    assert again.texts == ["broken again"]
    tags = tags_in(project.parent / "cx.db")
    assert sorted(tags) == ["r1", "r2", "r6"]
    assert tags["r6"][0] == '["broken"]'


def test_a_comment_changed_to_a_cached_text_reuses_its_tags(project: Path) -> None:
    config = load_config(project)
    run_project(config, registry_with(WordEnricher()))
    data = project.parent / "data.csv"
    data.write_text(data.read_text().replace("late again", "great service"))
    again = WordEnricher()
    result = run_project(config, registry_with(again))
    assert again.texts == []
    assert result.extra["enrichment"].stats[0].written == 1
    tags = tags_in(project.parent / "cx.db")
    assert tags["r6"] == tags["r2"]


def test_a_stale_snapshot_is_ignored_and_the_rows_are_read(project: Path) -> None:
    config = load_config(project)
    run_project(config, registry_with(WordEnricher()))
    db = project.parent / "cx.db"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT rows FROM comment_tag_snapshots").fetchall() == [(4,)]
    # Someone deletes a tag row by hand: the snapshot no longer mirrors the rows.
    with conn:
        conn.execute("DELETE FROM comment_tags WHERE comment_key = 'r6'")
    again = WordEnricher()
    result = run_project(config, registry_with(again), reuse=False)
    # Read from the rows, r6 has no tags stored and is written again; read from the
    # stale snapshot, it would have counted as cached and stayed missing. Its text's
    # tags are still stored once (the row, not the tag set, was deleted): no analysis.
    assert (again.texts, result.extra["enrichment"].stats[0].written) == ([], 1)
    assert tags_in(db)["r6"][2] == "negative"
    assert conn.execute("SELECT rows FROM comment_tag_snapshots").fetchall() == [(4,)]
    conn.close()


def test_a_snapshot_that_is_not_ours_is_ignored(project: Path) -> None:
    config = load_config(project)
    run_project(config, registry_with(WordEnricher()))
    conn = sqlite3.connect(project.parent / "cx.db")
    with conn:
        conn.execute("UPDATE comment_tag_snapshots SET arrow = x'00ff'")
    again = WordEnricher()
    result = run_project(config, registry_with(again), reuse=False)
    assert again.texts == []
    assert result.values[0].value == 2  # negative comments, read from the rows
    assert conn.execute("SELECT length(arrow) > 2 FROM comment_tag_snapshots").fetchall() == [(1,)]
    conn.close()


def test_a_new_enricher_version_retags_everything(project: Path) -> None:
    config = load_config(project)
    first = run_project(config, registry_with(WordEnricher("1")))
    newer = WordEnricher("2")
    second = run_project(config, registry_with(newer))
    assert len(newer.texts) == 3
    # The version is part of what the run depends on, so the run id changes with it.
    assert first.run_id != second.run_id
    conn = sqlite3.connect(project.parent / "cx.db")
    assert conn.execute("SELECT DISTINCT version FROM comment_tags").fetchall() == [("2",)]


def test_no_store_run_reads_the_cache_but_writes_nothing(project: Path) -> None:
    config = load_config(project)
    fresh = WordEnricher()
    run_project(config, registry_with(fresh), store=False)
    assert not (project.parent / "cx.db").exists()
    run_project(config, registry_with(WordEnricher()))
    cached = WordEnricher()
    run_project(config, registry_with(cached), store=False)
    assert cached.texts == []


def test_without_an_enricher_comments_are_not_tagged_and_a_notice_says_so(
    make_project: Callable[..., Path],
) -> None:
    only_count = make_project(
        DATASET, {"n.yaml": "name: n\nkind: count\ndataset: responses\n"}, {"data.csv": DATA}
    )
    result = run_project(load_config(only_count), registry_with())
    assert result.values[0].value == 6
    assert result.extra["enrichment"].stats == []
    assert "no enricher is installed" in result.extra["enrichment"].notices[0]


def test_the_host_works_with_no_plugin_installed(
    fake_entry_points: Callable[..., None], make_project: Callable[..., Path]
) -> None:
    # No entry point at all (the NLP plugin absent): run and CLI still work.
    config = make_project(
        DATASET, {"n.yaml": "name: n\nkind: count\ndataset: responses\n"}, {"data.csv": DATA}
    )
    assert get_registry().enrichers == {}
    result = CliRunner().invoke(cli, ["--config", str(config), "run"])
    assert result.exit_code == 0, result.output
    assert "notice: responses.comment: no enricher is installed" in result.stderr


def test_a_spec_reading_tags_is_a_located_error_without_an_enricher(project: Path) -> None:
    _, problems = validate_project(load_config(project), registry_with())
    messages = [str(p) for p in problems]
    assert any(
        "sentiment.yaml:4: field: 'comment_sentiment' is not a field of dataset" in m
        for m in messages
    ), messages


def test_a_failing_enricher_is_a_plugin_error_and_nothing_is_written(project: Path) -> None:
    class Broken(WordEnricher):
        def enrich(self, request: EnrichRequest) -> list[dict[str, Any]]:
            raise RuntimeError("model exploded")

    with pytest.raises(PluginError, match="model exploded"):
        run_project(load_config(project), registry_with(Broken()))
    db = project.parent / "cx.db"
    assert not db.exists() or tags_in(db) == {}


@pytest.mark.parametrize(
    "bad, message",
    [
        ([{"sentiment": "high"}] * 3, "sentiment must be a finite number"),
        ([{"themes": "late"}] * 3, "themes must be a list"),
        ([{}], "returned 1 results for 3 texts"),
        (["positive"] * 3, "expected a dict of tags"),
    ],
)
def test_malformed_enricher_output_is_refused_naming_the_comment(
    project: Path, bad: list[Any], message: str
) -> None:
    class Wrong(WordEnricher):
        def enrich(self, request: EnrichRequest) -> list[dict[str, Any]]:
            return list(bad)

    with pytest.raises(PluginError, match=message):
        run_project(load_config(project), registry_with(Wrong()))


def test_two_enrichers_get_their_own_column_prefix(make_project: Callable[..., Path]) -> None:
    class Other(WordEnricher):
        name = "other"

    spec = "name: s\nkind: mean\ndataset: responses\nfield: comment_other_sentiment\n"
    config = make_project(DATASET, {"s.yaml": spec}, {"data.csv": DATA})
    result = run_project(load_config(config), registry_with(WordEnricher(), Other()))
    assert result.values[0].n == 4
    assert {"comment_words_sentiment", "comment_other_theme_late"} <= set(
        result.extra["enrichment"].stats[0].columns + result.extra["enrichment"].stats[1].columns
    )
    conn = sqlite3.connect(config.parent / "cx.db")
    rows = conn.execute("SELECT enricher, count(*) FROM comment_tags GROUP BY 1 ORDER BY 1")
    assert rows.fetchall() == [("other", 4), ("words", 4)]


def test_validate_reports_config_problems_of_the_comments_block(
    make_project: Callable[..., Path],
) -> None:
    config = make_project(
        DATASET.replace("field: comment, key: id", "field: coment, key: id, enrichers: [nlpp]"),
        {},
        {"data.csv": DATA},
    )
    _, problems = validate_project(load_config(config), registry_with(WordEnricher()))
    text = [str(p) for p in problems]
    assert any("comments.field: 'coment' is not a field" in t and "'comment'" in t for t in text)
    assert any("enricher 'nlpp' is not installed" in t for t in text)
    assert {p.severity for p in problems} == {"error", "warning"}


def test_comment_tags_migration_is_self_contained() -> None:
    # Whichever position it lands at, running it on a database that has it is harmless.
    fn = dict(MIGRATIONS)["m_comment_tags"]
    conn = sqlite3.connect(":memory:", isolation_level=None)
    fn(conn)
    fn(conn)
    columns = {r[1] for r in conn.execute("PRAGMA table_info(comment_tags)")}
    assert {"comment_key", "text_hash", "version", "themes", "sentiment", "label"} <= columns


def test_run_summary_counts_tagged_and_cached_comments(project: Path) -> None:
    state = CliState(
        get_plugin_manager(load_entry_points=False, extra=[EnricherPlugin(WordEnricher())])
    )
    runner = CliRunner()
    first = runner.invoke(cli, ["--config", str(project), "run"], obj=state)
    assert (
        "responses.comment: 4 comments tagged by words (3 analysed, 0 from cache)" in first.stderr
    )
    state = CliState(
        get_plugin_manager(load_entry_points=False, extra=[EnricherPlugin(WordEnricher())])
    )
    second = runner.invoke(cli, ["--config", str(project), "run", "--force"], obj=state)
    assert "(0 analysed, 4 from cache)" in second.stderr
