"""`comments: {learn_from: <score field>}`: `cxengine run` learns sentiment from the scores.

The data are built so that what matters is learnable only from the scores: every
negative comment holds the made-up word "zorbix", every neutral one "plonk", every
positive one "quibble" — words no lexicon knows, so the lexicon calls them all
neutral, while a model trained on the scores gets them right, also on comments that
have no score.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cxengine.cli import cli
from cxengine.config import load_config
from cxengine.errors import SpecError
from cxengine.plugins import get_plugin_manager, get_registry
from cxengine.runner import run_project, validate_project

import cxengine_nlp.learn
import cxengine_nlp.scored

FILLERS = ("the order", "my account", "this week", "the delivery", "again", "today", "the app")
WORDS = {"negative": ("zorbix", (0, 3, 6)), "neutral": ("plonk", (7, 8)),
         "positive": ("quibble", (9, 10))}  # fmt: skip
UNSCORED = {"u1": "zorbix this week", "u2": "quibble my account", "u3": "the delivery zorbix"}


def comments(per_class: int) -> list[tuple[str, Any, str]]:
    rows: list[tuple[str, Any, str]] = []
    for label, (word, scores) in WORDS.items():
        for i in range(per_class):
            text = f"{FILLERS[i % len(FILLERS)]} {word} {FILLERS[(i * 3 + 1) % len(FILLERS)]}"
            rows.append((f"{label[:3]}{i}", scores[i % len(scores)], text))
    rows.extend((key, "", text) for key, text in UNSCORED.items())
    return rows


def make_project(folder: Path, per_class: int = 32, learn_from: str = "recommend") -> Path:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "recommend", "comment"])
    writer.writerows(comments(per_class))
    (folder / "responses.csv").write_text(out.getvalue(), encoding="utf-8")
    (folder / "metric_specs").mkdir(exist_ok=True)
    (folder / "metric_specs" / "mood.yaml").write_text(
        "name: mood\nkind: comment_sentiment\ndataset: responses\nfield: comment\n",
        encoding="utf-8",
    )
    config = folder / "cxengine.yaml"
    config.write_text(
        "database: cx.db\nmetrics: [metric_specs]\ndatasets:\n  responses:\n"
        "    source: csv\n    path: responses.csv\n    key: id\n"
        "    fields: {id: string, recommend: integer, comment: string}\n"
        f"    comments: {{field: comment, learn_from: {learn_from}}}\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture(autouse=True)
def fresh_process() -> Iterator[None]:
    """Each test starts as a new process would: no model in memory."""
    cxengine_nlp.scored._SESSIONS.clear()
    cxengine_nlp.learn._MODELS.clear()
    yield
    cxengine_nlp.scored._SESSIONS.clear()
    cxengine_nlp.learn._MODELS.clear()


@pytest.fixture(scope="module", autouse=True)
def plugin_commands() -> None:
    get_plugin_manager().hook.register_commands(cli=cli)


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def tags(config: Path) -> dict[str, dict[str, Any]]:
    conn = sqlite3.connect(config.parent / "cx.db")
    conn.row_factory = sqlite3.Row
    out = {r["comment_key"]: dict(r) for r in conn.execute("SELECT * FROM comment_tags")}
    conn.close()
    return out


def test_run_learns_from_scores_and_tags_unscored_comments_too(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    result = invoke(config, "run")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stderr.splitlines() if "learned from scores" in x)
    assert "negative 32, neutral 32, positive 32" in line
    # Every word is unknown to the lexicon: it calls every comment neutral (macro-F1 1/6).
    assert "vs lexicon 0.167" in line
    stored = tags(config)
    assert stored["u1"]["label"] == "negative" and stored["u2"]["label"] == "positive"
    assert stored["u1"]["sentiment"] < 0 < stored["u2"]["sentiment"]
    # The lexicon's own verdict is kept beside the learned one.
    assert json.loads(stored["u1"]["extra"])["lexicon_sentiment"] == 0.0
    # A comment about one theme: what it says about the theme is the learned verdict.
    u3 = stored["u3"]
    assert json.loads(u3["themes"]) == ["delivery"]
    assert json.loads(u3["theme_sentiment"])["delivery"] == u3["sentiment"] < 0


def test_a_rerun_reads_the_saved_model_and_trains_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_project(tmp_path)
    first = run_project(load_config(config), get_registry())
    cxengine_nlp.scored._SESSIONS.clear()
    cxengine_nlp.learn._MODELS.clear()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("trained again")

    monkeypatch.setattr(cxengine_nlp.learn, "train", refuse)
    with (tmp_path / "responses.csv").open("a", encoding="utf-8") as f:
        f.write("u4,,plonk again\n")  # no score: the training set is unchanged
    again = run_project(load_config(config), get_registry())
    (before,), (after,) = first.extra["enrichment"].stats, again.extra["enrichment"].stats
    assert after.version == before.version and after.analysed == 1
    assert after.learning["summary"] == before.learning["summary"]
    assert tags(config)["u4"]["label"] == "neutral"


def test_training_is_deterministic(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    run_project(load_config(make_project(one)), get_registry())
    cxengine_nlp.scored._SESSIONS.clear()
    cxengine_nlp.learn._MODELS.clear()
    run_project(load_config(make_project(two)), get_registry())
    first, second = tags(one / "cxengine.yaml"), tags(two / "cxengine.yaml")
    assert {k: v["sentiment"] for k, v in first.items()} == {
        k: v["sentiment"] for k, v in second.items()
    }
    assert {v["version"] for v in first.values()} == {v["version"] for v in second.values()}


def test_a_changed_score_is_a_new_model_and_retags_every_comment(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    run_project(load_config(config), get_registry())
    data = tmp_path / "responses.csv"
    # 9 -> 10: still a promoter, but the model learns from the raw score's place on the
    # scale, so it is another training set: every comment tagged anew.
    data.write_text(data.read_text(encoding="utf-8").replace("pos0,9,", "pos0,10,"), "utf-8")
    (stats,) = run_project(load_config(config), get_registry()).extra["enrichment"].stats
    assert stats.cached == 0 and stats.analysed == len({text for *_, text in comments(32)})
    # 10 -> 5: a detractor now; another training set, every comment tagged anew.
    data.write_text(data.read_text(encoding="utf-8").replace("pos0,10,", "pos0,5,"), "utf-8")
    (stats,) = run_project(load_config(config), get_registry()).extra["enrichment"].stats
    assert stats.cached == 0 and stats.analysed == len({text for *_, text in comments(32)})


def test_too_few_labelled_comments_fall_back_to_the_lexicon_and_say_so(tmp_path: Path) -> None:
    config = make_project(tmp_path, per_class=10)
    result = invoke(config, "run")
    assert result.exit_code == 0, result.output
    assert (
        "sentiment: lexicon only (fewer than 30 labelled comments for negative, neutral, "
        "positive; the lexicon is used" in result.stderr
    )
    stored = tags(config)
    assert all(
        t["sentiment"] == json.loads(t["extra"])["lexicon_sentiment"] for t in stored.values()
    )


def test_themes_and_the_report_say_what_was_learned(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    assert invoke(config, "run").exit_code == 0
    text = invoke(config, "themes")
    assert text.exit_code == 0, text.output
    assert "sentiment: learned from scores (negative 32" in text.stdout
    data = json.loads(invoke(config, "themes", "--json").stdout)
    assert data["learning"]["details"]["counts"] == {"negative": 32, "neutral": 32, "positive": 32}
    assert data["learning"]["details"]["scale"] == "nps"
    report = invoke(config, "report", "-o", str(tmp_path / "r.html"))
    assert report.exit_code == 0, report.output
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Sentiment learned from scores" in html
    assert "negative 0-6" in html and "the lexicon alone" in html


def test_scale_and_cut_points_are_checked(tmp_path: Path) -> None:
    config = make_project(tmp_path, learn_from="{field: recommend, scale: ces}")
    _, problems = validate_project(load_config(config), get_registry())
    assert any("learn_from.scale: unknown scale 'ces'. Known: csat, nps" in str(p)
               for p in problems)  # fmt: skip
    config = make_project(tmp_path, learn_from="{field: recommend, negative_max: 9}")
    _, problems = validate_project(load_config(config), get_registry())
    assert any("low <= negative_max < positive_min <= high" in str(p) for p in problems)
    with pytest.raises(SpecError):
        run_project(load_config(config), get_registry())


def test_custom_cut_points_relabel_the_scores(tmp_path: Path) -> None:
    # 7-8 counted as positive: no neutral class left, so nothing is learned.
    config = make_project(tmp_path, learn_from="{field: recommend, positive_min: 7}")
    result = run_project(load_config(config), get_registry())
    (stats,) = result.extra["enrichment"].stats
    assert stats.learning["details"]["counts"] == {"negative": 32, "neutral": 0, "positive": 64}
    assert stats.learning["details"]["used"] is False


def test_themes_drivers_of_low_scores_read_the_learned_theme_sentiment(tmp_path: Path) -> None:
    """The complaints about a theme are the learned model's: the lexicon sees none here."""
    learned_dir, lexicon_dir = tmp_path / "learned", tmp_path / "lexicon"
    learned_dir.mkdir()
    lexicon_dir.mkdir()
    learned = make_project(learned_dir)
    lexicon = make_project(lexicon_dir)
    lexicon.write_text(
        lexicon.read_text(encoding="utf-8").replace(", learn_from: recommend", ""),
        encoding="utf-8",
    )
    (learned_dir / "metric_specs" / "nps.yaml").write_text(
        "name: nps\nkind: nps\ndataset: responses\nfield: recommend\n", encoding="utf-8"
    )
    for config in (learned, lexicon):
        assert invoke(config, "run").exit_code == 0
    data = json.loads(invoke(learned, "themes", "--json", "--score", "recommend").stdout)
    assert data["sentiment_source"] == "learned"
    stored = tags(learned)
    scored = {key for key, score, _ in comments(32) if score != ""}
    complaints = {
        key
        for key, t in stored.items()
        if key in scored and json.loads(t["theme_sentiment"]).get("delivery", 0) <= -0.15
    }
    assert complaints and all(key.startswith("neg") for key in complaints)
    (delivery,) = [d for d in data["negative_drivers"] if d["theme"] == "delivery"]
    assert delivery["n_with"] == len(complaints)
    assert delivery["with_value"] == -100.0  # every complaint comes from a detractor
    text = invoke(learned, "themes", "--score", "recommend").stdout
    assert "Drivers of low scores" in text and "learned from scores" in text
    report = invoke(learned, "report", "-o", str(tmp_path / "r.html"))
    assert report.exit_code == 0, report.output
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    low = html[html.index("<h3>Drivers of low scores</h3>") :]
    assert "learned from scores" in low[:600] and '<th class="num">NPS with</th>' in low
    assert "<tr><td>delivery</td>" in low[: low.index("</table>")]

    plain = json.loads(invoke(lexicon, "themes", "--json", "--score", "recommend").stdout)
    assert plain["sentiment_source"] == "lexicon"
    assert not [d for d in plain["negative_drivers"] if d["theme"] == "delivery"]
