"""Learning from scores: the host hands an enricher's `learn` every comment with its score.

`comments.learn_from` names the score field. The host calls the optional `learn`
capability once per run with every non-empty comment and its score, folds the version
it returns into the tag cache key, and passes it on to `enrich` as
`options["learned"]`. Enrichers without `learn` are unaffected: their requests carry
no scores (`EnrichRequest.scores` defaults to None).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cxengine.cli import cli
from cxengine.cli.app import CliState
from cxengine.config import load_config
from cxengine.errors import PluginError, SpecError
from cxengine.interfaces import EnrichRequest
from cxengine.plugins import get_plugin_manager
from cxengine.runner import run_project, validate_project
from tests.test_enrich import (
    COUNT_NEGATIVE,
    DATA,
    DATASET,
    EnricherPlugin,
    WordEnricher,
    registry_with,
)

LEARNING = DATASET.replace(
    "comments: {field: comment, key: id, options: {flavour: plain}}",
    "comments: {field: comment, key: id, learn_from: {field: score, scale: csat}}",
)

SPECS = {"negative.yaml": COUNT_NEGATIVE}


class LearningEnricher(WordEnricher):
    """Learns 'the label of the majority score'; records what the host sent it."""

    def __init__(self, answer: Any = None) -> None:
        super().__init__()
        self.learned: list[EnrichRequest] = []
        self.answer = answer

    def learn(self, request: EnrichRequest) -> Any:
        self.learned.append(request)
        if self.answer is not None:
            return self.answer
        trained_on = ",".join(
            f"{t}={s}" for t, s in zip(request.texts, request.scores or [], strict=True)
        )
        return {"version": f"h{len(trained_on)}", "summary": "learned from 4 scores",
                "details": {"rows": len(request.texts)}}  # fmt: skip


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project(LEARNING, SPECS, {"data.csv": DATA})


def enricher_texts(data: str) -> list[str]:
    return [line.split(",", 3)[3] for line in data.splitlines()[1:]]


def versions_in(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    found = {r[0] for r in conn.execute("SELECT DISTINCT version FROM comment_tags")}
    conn.close()
    return found


def test_learn_gets_every_non_empty_comment_with_its_score(project: Path) -> None:
    enricher = LearningEnricher()
    run_project(load_config(project), registry_with(enricher))
    (request,) = enricher.learned
    # Duplicated texts are kept (each row is one training example); empty ones are not.
    assert list(request.keys) == ["r1", "r2", "r5", "r6"]
    assert list(request.texts) == [
        "the parcel was late and broken", "great service", "great service", "late again",
    ]  # fmt: skip
    assert list(request.scores or []) == [1, 5, 5, 1]
    assert request.options["learn_from"] == {"field": "score", "scale": "csat"}


def test_the_learned_version_is_part_of_the_cache_key_and_reaches_enrich(project: Path) -> None:
    enricher = LearningEnricher()
    result = run_project(load_config(project), registry_with(enricher))
    (stats,) = result.extra["enrichment"].stats
    assert stats.version.endswith("+learned.h" + str(len(
        "the parcel was late and broken=1,great service=5,great service=5,late again=1"
    )))  # fmt: skip
    assert stats.learning == {
        "version": stats.version.rsplit(".", 1)[1], "summary": "learned from 4 scores",
        "details": {"rows": 4},
    }  # fmt: skip
    assert versions_in(project.parent / "cx.db") == {stats.version}
    assert all(o["learned"] == stats.learning["version"] for o in enricher.options)
    # Scores never reach enrich: tags are cached per text, not per row.
    assert stats.as_dict()["learning"]["summary"] == "learned from 4 scores"


def test_new_labels_retag_everything_unchanged_ones_nothing(project: Path) -> None:
    run_project(load_config(project), registry_with(LearningEnricher()))
    again = LearningEnricher()
    run_project(load_config(project), registry_with(again))
    assert again.texts == []  # same training set, same key: every tag from the cache
    data = project.parent / "data.csv"
    data.write_text(data.read_text().replace("r6,1,", "r6,4,"))
    changed = LearningEnricher(answer={"version": "other"})
    run_project(load_config(project), registry_with(changed))
    assert sorted(changed.texts) == sorted(set(t for t in enricher_texts(DATA) if t.strip()))


def test_an_enricher_without_learn_gets_no_scores_and_a_notice_says_so(project: Path) -> None:
    plain = WordEnricher()
    result = run_project(load_config(project), registry_with(plain))
    assert plain.texts  # tagged as before
    assert any("learn_from is set, but no enricher here learns" in n
               for n in result.extra["enrichment"].notices)  # fmt: skip
    assert EnrichRequest("d", ["k"], ["t"]).scores is None  # old call sites keep working


def test_a_learn_answer_without_a_version_is_a_plugin_error(project: Path) -> None:
    with pytest.raises(PluginError, match=r"learn\(\) must return a mapping with a 'version'"):
        run_project(load_config(project), registry_with(LearningEnricher(answer={"v": 1})))


def test_an_unknown_score_field_is_a_located_error(make_project: Callable[..., Path]) -> None:
    config = make_project(
        LEARNING.replace("field: score,", "field: scor,"), SPECS, {"data.csv": DATA}
    )
    _, problems = validate_project(load_config(config), registry_with(LearningEnricher()))
    assert any("comments.learn_from: 'scor' is not a field" in str(p) and "'score'" in str(p)
               for p in problems)  # fmt: skip
    with pytest.raises(SpecError, match="'scor' is not a field"):
        run_project(load_config(config), registry_with(LearningEnricher()))


def test_learn_from_short_form_names_the_field(make_project: Callable[..., Path]) -> None:
    config = make_project(
        LEARNING.replace("learn_from: {field: score, scale: csat}", "learn_from: score"),
        SPECS, {"data.csv": DATA},
    )  # fmt: skip
    comments = load_config(config).model.datasets["responses"].comments
    assert comments is not None and comments.learn_from is not None
    assert comments.learn_from.as_options() == {"field": "score"}


def test_run_prints_what_was_learned(project: Path) -> None:
    state = CliState(
        get_plugin_manager(load_entry_points=False, extra=[EnricherPlugin(LearningEnricher())])
    )
    out = CliRunner().invoke(cli, ["--config", str(project), "run"], obj=state)
    assert "responses.comment: learned from 4 scores" in out.stderr


def test_run_json_carries_what_was_learned(project: Path) -> None:
    import json

    state = CliState(
        get_plugin_manager(load_entry_points=False, extra=[EnricherPlugin(LearningEnricher())])
    )
    out = CliRunner().invoke(cli, ["--config", str(project), "run", "--json"], obj=state)
    (stats,) = json.loads(out.stdout)["enrichment"]["stats"]
    assert stats["learning"]["summary"] == "learned from 4 scores"
    assert stats["learning"]["details"] == {"rows": 4}
