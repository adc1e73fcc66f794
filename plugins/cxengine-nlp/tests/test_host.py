"""The plugin inside cxengine: `cxengine run` tags comments, kinds and commands use the tags."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cxengine.cli import cli
from cxengine.cli.app import CliState
from cxengine.config import load_config
from cxengine.plugins import get_plugin_manager, get_registry
from cxengine.runner import run_project

import cxengine_nlp.api

COMMENTS = """\
id,submitted_at,touchpoint,recommend,satisfaction,comment
1,2025-01-03,delivery,2,1,Курьер опоздал на два часа и нагрубил
2,2025-01-04,delivery,9,5,"Fast delivery, the courier was polite"
3,2025-01-05,delivery,5,2,The parcel arrived late and the box was damaged
4,2025-01-06,support,10,5,Оператор быстро решил мою проблему
5,2025-01-07,support,3,1,Support was not helpful at all
6,2025-01-08,support,8,4,
7,2025-01-09,website,9,5,   \t
8,2025-01-10,website,6,3,🙂🙂
9,2025-01-11,website,0,1,Сайт постоянно зависает при оплате
10,2025-01-12,website,10,5,"{long}"
"""

CONFIG = """\
database: cx.db
metrics: [metric_specs]
datasets:
  responses:
    source: csv
    path: responses.csv
    key: id
    fields:
      id: string
      submitted_at: datetime
      touchpoint: string
      recommend: integer
      satisfaction: integer
      comment: string
    comments:
      field: comment
      key: id
{options}"""

SPECS = {
    "nps.yaml": "name: nps\nkind: nps\ndataset: responses\nfield: recommend\n",
    "csat.yaml": (
        "name: csat\nkind: share\ndataset: responses\nfield: satisfaction\nscale: [1, 5]\n"
    ),
    "themes.yaml": (
        "name: themes\nkind: theme_share\ndataset: responses\nfield: comment\nby: [touchpoint]\n"
    ),
    "mood.yaml": "name: mood\nkind: comment_sentiment\ndataset: responses\nfield: comment\n",
    "drivers.yaml": (
        "name: drivers\nkind: theme_drivers\ndataset: responses\nfield: comment\nscore: recommend\n"
    ),
    "cost.yaml": (
        "name: cost\nkind: theme_nps_cost\ndataset: responses\nfield: comment\nscore: recommend\n"
    ),
    "unhappy_delivery.yaml": (
        "name: unhappy_delivery\nkind: count\ndataset: responses\n"
        "where: \"comment_theme_delivery AND comment_label = 'negative'\"\n"
    ),
}


def make_project(tmp_path: Path, options: str = "", specs: dict[str, str] | None = None) -> Path:
    long_comment = "Great service, thank you. " * 4000  # ~100 kB
    (tmp_path / "responses.csv").write_text(
        COMMENTS.replace("{long}", long_comment), encoding="utf-8"
    )
    (tmp_path / "cxengine.yaml").write_text(CONFIG.format(options=options), encoding="utf-8")
    (tmp_path / "metric_specs").mkdir()
    for name, text in (SPECS if specs is None else specs).items():
        (tmp_path / "metric_specs" / name).write_text(text, encoding="utf-8")
    return tmp_path / "cxengine.yaml"


def stored_tags(db: Path) -> dict[str, dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT * FROM comment_tags ORDER BY CAST(comment_key AS INTEGER)")
    out = {r["comment_key"]: dict(r) for r in rows}
    conn.close()
    return out


@pytest.fixture(scope="module", autouse=True)
def plugin_commands() -> None:
    """Add the plugin's commands to the click group, as `cxengine.cli.main` does."""
    get_plugin_manager().hook.register_commands(cli=cli)


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    config = make_project(tmp_path)
    run_project(load_config(config), get_registry())
    return config


def test_run_tags_english_and_russian_comments(project: Path) -> None:
    tags = stored_tags(project.parent / "cx.db")
    # Empty and whitespace-only comments (6, 7) are not tagged.
    assert sorted(tags, key=int) == ["1", "2", "3", "4", "5", "8", "9", "10"]
    assert {tags[k]["language"] for k in ("1", "4", "9")} == {"ru"}
    assert {tags[k]["language"] for k in ("2", "3", "5", "10")} == {"en"}
    # Inflected Russian forms match: "Курьер опоздал" -> delivery, wait_time.
    assert "delivery" in json.loads(tags["1"]["themes"])
    assert tags["1"]["label"] == "negative"
    assert tags["5"]["label"] == "negative"  # "not helpful": negation flips
    assert tags["8"]["language"] == "xx" and tags["8"]["label"] == "positive"  # emoji only
    assert tags["10"]["label"] == "positive"  # a 100 kB comment is tagged, not fatal
    version = tags["1"]["version"]
    assert tags["1"]["taxonomy_version"] in version
    assert tags["1"]["lexicon_version"] and tags["2"]["lexicon_version"]


def test_rerun_over_unchanged_comments_calls_the_analyzer_zero_times(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = cxengine_nlp.api.analyze

    def counting(texts: Any, **kwargs: Any) -> Any:
        calls.append(len(texts))
        return real(texts, **kwargs)

    monkeypatch.setattr(cxengine_nlp.api, "analyze", counting)
    # Computed again (not reused from the rerun cache): the tag cache is under test.
    result = run_project(load_config(project), get_registry(), reuse=False)
    assert calls == []
    assert result.extra["enrichment"].stats[0].cached == 8
    # One edited comment: exactly one text goes to the analyzer.
    data = project.parent / "responses.csv"
    data.write_text(data.read_text().replace("нагрубил", "был вежлив"), encoding="utf-8")
    run_project(load_config(project), get_registry())
    assert calls == [1]


def test_kinds_compute_from_the_tags(project: Path) -> None:
    result = run_project(load_config(project), get_registry())
    tags = stored_tags(project.parent / "cx.db")
    themes = {k: set(json.loads(t["themes"])) for k, t in tags.items()}
    values = {(v.metric, json.dumps(v.slice, sort_keys=True)): v for v in result.values}

    delivery = values[("themes", '{"theme": "delivery"}')]
    expected = sum("delivery" in t for t in themes.values())
    assert (delivery.value, delivery.n) == (pytest.approx(100 * expected / 8), 8)
    assert delivery.ci_low < delivery.value < delivery.ci_high  # Wilson interval
    by_tp = values[("themes", '{"theme": "delivery", "touchpoint": "delivery"}')]
    assert by_tp.n == 3

    mood = values[("mood", "{}")]
    scores = [t["sentiment"] for t in tags.values()]
    assert (mood.value, mood.n) == (pytest.approx(sum(scores) / len(scores)), 8)

    # NPS cost: detractors (0-6) mentioning delivery, over every scored response (10).
    recommend = {str(i + 1): r for i, r in enumerate([2, 9, 5, 10, 3, 8, 9, 6, 0, 10])}
    det = sum(1 for k, t in themes.items() if "delivery" in t and recommend[k] <= 6)
    cost = values[("cost", '{"theme": "delivery"}')]
    assert (cost.value, cost.n) == (pytest.approx(100 * det / 10), 10)

    # Drivers: NPS of tagged responses mentioning delivery minus the others'.
    def nps(keys: list[str]) -> float:
        s = [recommend[k] for k in keys]
        return 100 * (sum(x >= 9 for x in s) - sum(x <= 6 for x in s)) / len(s)

    with_d = [k for k, t in themes.items() if "delivery" in t]
    without = [k for k in themes if k not in with_d]
    gap = values[("drivers", '{"theme": "delivery"}')]
    assert gap.value == pytest.approx(nps(with_d) - nps(without))
    assert gap.ci_low < gap.value < gap.ci_high

    unhappy = values[("unhappy_delivery", "{}")]
    assert unhappy.value == sum(
        1 for k, t in themes.items() if "delivery" in t and tags[k]["label"] == "negative"
    )


def test_a_team_taxonomy_extends_the_default_from_the_project_config(tmp_path: Path) -> None:
    (tmp_path / "themes.yaml").write_text(
        textwrap.dedent(
            """\
            themes:
              - id: rudeness
                title: Rudeness
                terms: {en: [rude], ru: [нагрубить, хамить]}
            """
        ),
        encoding="utf-8",
    )
    options = "      options: {taxonomy: [themes.yaml]}\n"
    spec = {"r.yaml": SPECS["themes.yaml"].replace("by: [touchpoint]", "themes: [rudeness]")}
    config = make_project(tmp_path, options, spec)
    result = run_project(load_config(config), get_registry())
    tags = stored_tags(tmp_path / "cx.db")
    assert "rudeness" in json.loads(tags["1"]["themes"])  # "нагрубил" -> нагрубить
    assert "delivery" in json.loads(tags["1"]["themes"])  # the default is still there
    (rudeness,) = [v for v in result.values if not v.slice.get("touchpoint")]
    assert (rudeness.slice, rudeness.value) == ({"theme": "rudeness"}, pytest.approx(12.5))


def test_a_broken_taxonomy_file_is_reported_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "themes.yaml").write_text(
        "themes:\n  - id: rudeness\n    titel: Rudeness\n    terms: {en: [rude]}\n",
        encoding="utf-8",
    )
    config = make_project(tmp_path, "      options: {taxonomy: [themes.yaml]}\n", {})
    result = invoke(config, "validate")
    assert result.exit_code == 1
    assert "themes.yaml:3: themes[0].titel: unknown key 'titel'" in result.stderr
    assert invoke(config, "run").exit_code == 1


def test_an_unknown_enricher_option_is_a_located_error(tmp_path: Path) -> None:
    config = make_project(tmp_path, "      options: {taxonomies: [themes.yaml]}\n", {})
    result = invoke(config, "validate")
    assert result.exit_code == 1
    assert "cxengine.yaml:15: datasets.responses.comments:" in result.stderr
    assert "options.taxonomies: unknown option" in result.stderr


def test_themes_command_shows_themes_per_touchpoint_and_drivers(project: Path) -> None:
    result = invoke(project, "themes", "--examples", "1")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("responses.comment: 8 tagged comments\n")
    assert "touchpoint = delivery (3 comments)" in out
    assert "delivery: -0." in out  # an example comment with its sentiment
    assert "Drivers of NPS (recommend)" in out and "NPS cost" in out
    data = json.loads(invoke(project, "themes", "--json").stdout)
    assert data["by"] == "touchpoint" and data["score"] == "recommend"
    assert {d["theme"] for d in data["drivers"]} >= {"delivery"}
    assert data["slices"]["delivery"][0]["theme"] == "delivery"


def test_themes_suggest_lists_unmatched_terms(project: Path) -> None:
    result = invoke(project, "themes", "suggest", "--json")
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.stdout), list)


def test_followups_lists_unhappy_customers_with_negative_comments(project: Path) -> None:
    result = invoke(project, "followups", "--csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows, result.stdout
    for row in rows:
        assert int(row["recommend"]) <= 6 or int(row["satisfaction"]) <= 2
        assert row["label"] == "negative"
    assert {"1", "5"} <= {r["id"] for r in rows}
    sentiments = [float(r["sentiment"]) for r in rows]
    assert sentiments == sorted(sentiments)  # most negative first
    assert "unhappy respondents to follow up" in result.stderr
    as_json = json.loads(invoke(project, "followups", "--json").stdout)
    assert [str(r["id"]) for r in as_json] == [r["id"] for r in rows]


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["followups", "--csv", "--json"], 2, "choose one of --csv and --json"),
        (["followups", "--dataset", "tickets"], 2, "has no `comments:` block"),
        (["themes", "--by", "chanel"], 2, "'chanel' is not a field"),
    ],
)
def test_usage_errors_exit_2(project: Path, args: list[str], code: int, message: str) -> None:
    result = invoke(project, *args)
    assert result.exit_code == code
    assert message in result.output


@pytest.mark.parametrize("command", [["themes"], ["themes", "suggest"], ["followups"]])
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and "cxengine " in result.output


def test_the_plugin_appears_in_cxengine_plugins() -> None:
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    (nlp,) = [p for p in json.loads(result.stdout) if p["name"] == "nlp"]
    assert nlp["distribution"] == "cxengine-nlp" and nlp["error"] is None
    assert nlp["provides"]["enricher"] == ["nlp"]
    assert set(nlp["provides"]["aggregation kind"]) == {
        "comment_sentiment", "theme_drivers", "theme_nps_cost", "theme_share",
    }  # fmt: skip


def test_without_the_plugin_the_commands_are_absent_and_run_still_works(tmp_path: Path) -> None:
    config = make_project(tmp_path, specs={"nps.yaml": SPECS["nps.yaml"]})
    state = CliState(get_plugin_manager(load_entry_points=False))
    result = CliRunner().invoke(cli, ["--config", str(config), "run"], obj=state)
    assert result.exit_code == 0, result.output
    assert "no enricher is installed" in result.stderr
    assert stored_tags(tmp_path / "cx.db") == {}


def test_init_and_run_tag_the_example_comments_in_both_languages(tmp_path: Path) -> None:
    from cxengine.scaffold import init_project

    init_project(tmp_path / "demo", rows=300, seed=3)
    config = tmp_path / "demo" / "cxengine.yaml"
    result = invoke(config, "run")
    assert result.exit_code == 0, result.output
    assert "comments tagged by nlp" in result.stderr
    conn = sqlite3.connect(tmp_path / "demo" / "cx.db")
    languages = dict(conn.execute("SELECT language, count(*) FROM comment_tags GROUP BY 1"))
    assert languages.get("en", 0) > 20 and languages.get("ru", 0) > 20


def test_docs_name_every_key_of_every_kind() -> None:
    from cxengine.spec.models import MetricSpec

    from cxengine_nlp.kinds import KINDS

    doc = (Path(__file__).resolve().parents[3] / "docs" / "nlp.md").read_text(encoding="utf-8")
    common = set(MetricSpec.model_fields) | {"unit"}
    for kind in KINDS:
        assert f"`{kind.name}`" in doc
        missing = sorted(
            k for k in set(kind.spec_model.model_fields) - common if f"`{k}`" not in doc
        )
        assert not missing, f"docs/nlp.md does not document {kind.name}: {missing}"


NEGATIVE_DRIVERS = """\
id,recommend,comment
1,9,The delivery was fast and the courier was lovely
2,10,Great delivery as always
3,9,Delivery on time and the price was fair
4,2,The delivery was late and the courier was rude
5,3,Terrible delivery: the parcel arrived broken
6,10,Good price and quick checkout
7,4,The price is too high
8,8,The checkout page kept crashing
"""


def test_drivers_of_negative_mentions_count_only_complaints_about_the_theme(
    tmp_path: Path,
) -> None:
    """`mentions: negative`: praise of the delivery is not blamed for low scores."""
    (tmp_path / "responses.csv").write_text(NEGATIVE_DRIVERS, encoding="utf-8")
    (tmp_path / "cxengine.yaml").write_text(
        "database: cx.db\nmetrics: [metric_specs]\ndatasets:\n  responses:\n"
        "    source: csv\n    path: responses.csv\n    key: id\n"
        "    fields: {id: string, recommend: integer, comment: string}\n"
        "    comments: {field: comment}\n",
        encoding="utf-8",
    )
    (tmp_path / "metric_specs").mkdir()
    base = "kind: theme_drivers\ndataset: responses\nfield: comment\nscore: recommend\n"
    (tmp_path / "metric_specs" / "any.yaml").write_text(
        f"name: any_mention\n{base}themes: [delivery]\n", encoding="utf-8"
    )
    (tmp_path / "metric_specs" / "neg.yaml").write_text(
        f"name: negative_mention\n{base}themes: [delivery]\nmentions: negative\n", encoding="utf-8"
    )
    result = run_project(load_config(tmp_path / "cxengine.yaml"), get_registry())
    tags = stored_tags(tmp_path / "cx.db")
    recommend = {row.split(",")[0]: int(row.split(",")[1]) for row in NEGATIVE_DRIVERS.split()[1:]
                 if row[0].isdigit()}  # fmt: skip
    delivery = {k: json.loads(t["theme_sentiment"]).get("delivery") for k, t in tags.items()}
    complaints = [k for k, v in delivery.items() if v is not None and v <= -0.15]
    praise = [k for k, v in delivery.items() if v is not None and v > -0.15]
    assert sorted(complaints) == ["4", "5"] and sorted(praise) == ["1", "2", "3"]

    def nps(keys: list[str]) -> float:
        s = [recommend[k] for k in keys]
        return 100 * (sum(x >= 9 for x in s) - sum(x <= 6 for x in s)) / len(s)

    values = {v.metric: v for v in result.values}
    rest = [k for k in tags if k not in complaints]
    assert values["negative_mention"].n == 2
    assert values["negative_mention"].value == pytest.approx(nps(complaints) - nps(rest))
    # Mentioned at all, delivery looks far less harmful: the praise dilutes it.
    mentioned = complaints + praise
    any_gap = nps(mentioned) - nps([k for k in tags if k not in mentioned])
    assert values["any_mention"].value == pytest.approx(any_gap)
    assert values["negative_mention"].value < values["any_mention"].value - 50


def test_negative_mentions_need_the_list_of_themes(tmp_path: Path) -> None:
    spec = (
        "name: neg\nkind: theme_drivers\ndataset: responses\nfield: comment\n"
        "score: recommend\nmentions: negative\n"
    )
    config = make_project(tmp_path, specs={"neg.yaml": spec})
    result = invoke(config, "validate")
    assert result.exit_code == 1
    assert "neg.yaml" in result.stderr and "mentions: negative needs the list of themes" in (
        result.stderr
    )
