"""The rerun cache's fast path: a reused run's output is printed again, nothing loaded.

Issue 12, item 4. Once `cxengine run` has reused a run, the same command prints what
that reuse printed without loading the project (cxengine/replay.py): it must print
exactly the same, still mark the run as the latest, and never be taken when anything
the output depends on changed or the command does more than print.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cxengine import replay
from cxengine.cli import cli
from tests.project_files import ProjectFactory, write
from tests.test_run_cache import DATASET, SPECS, responses

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(make_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The files were written just now: trust their times at once (the 2 s rule is
    # for edits within one timestamp tick; tested below).
    monkeypatch.setattr(replay, "RACY_S", 0.0)
    return make_project(DATASET, SPECS, {"data/responses.csv": responses(5)})


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the runs that went through the runner (not replayed)."""
    from cxengine import runner

    calls: list[int] = []
    real = runner.run_project

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "run_project", counted)
    return calls


def cx(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def replays(config: Path) -> int:
    with sqlite3.connect(config.parent / "cx.db") as conn:
        return int(conn.execute("SELECT count(*) FROM replays").fetchone()[0])


@pytest.mark.parametrize("args", [(), ("--json",), ("--detail",)])
def test_the_third_run_prints_what_the_reuse_printed_without_running(
    project: Path, computed: list[int], args: tuple[str, ...]
) -> None:
    cx(project, "run", *args)
    second = cx(project, "run", *args)
    assert "reused run" in second[2] and len(computed) == 2
    third = cx(project, "run", *args)
    assert third == second
    assert len(computed) == 2  # printed from the database


def test_a_replayed_run_becomes_the_latest_run(project: Path) -> None:
    cx(project, "run")
    cx(project, "run")
    cx(project, "run", "--metric", "nps")  # another run, now the latest
    code, _, err = cx(project, "run")
    assert code == 0 and "reused run" in err
    _, out, _ = cx(project, "show", "--json")
    assert {r["metric"] for r in json.loads(out)} == {"nps", "csat"}


def edit_spec(root: Path) -> None:
    spec = root / "metric_specs" / "csat.yaml"
    spec.write_text(spec.read_text().replace("[1, 5]", "[1, 6]"))


def new_spec(root: Path) -> None:
    write(root / "metric_specs" / "sub" / "count.yaml", "name: answers\nkind: count\n"
          "dataset: responses\ntime: submitted_at\n")  # fmt: skip


def same_size_data(root: Path) -> None:
    data = root / "data" / "responses.csv"
    before = data.stat()
    write(data, data.read_text().replace("web", "wEb", 1))
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.mark.parametrize(
    "edit",
    [
        edit_spec,
        new_spec,
        same_size_data,
        lambda root: (root / "cxengine.yaml").write_text(
            (root / "cxengine.yaml").read_text() + "# another config\n"
        ),
    ],
    ids=["spec", "new spec in a subfolder", "data of the same size and mtime", "config"],
)
def test_anything_changed_goes_the_ordinary_way(
    project: Path, computed: list[int], edit: object
) -> None:
    cx(project, "run", "--json")
    cx(project, "run", "--json")
    edit(project.parent)  # type: ignore[operator]
    cx(project, "run", "--json")
    assert len(computed) == 3


@pytest.mark.parametrize(
    "args",
    [("--force",), ("--tag", "t1"), ("--format", "markdown"), ("--baseline-run", "last")],
)
def test_commands_that_do_more_than_print_are_never_replayed(
    project: Path, computed: list[int], args: tuple[str, ...]
) -> None:
    cx(project, "run")  # a run to compare with
    for _ in range(3):
        assert cx(project, "run", *args)[0] == 0
    assert len(computed) == 4


def test_other_options_are_another_replay(project: Path, computed: list[int]) -> None:
    cx(project, "run", "--json")
    cx(project, "run", "--json")
    _, out, _ = cx(project, "run", "--json", "--metric", "nps")
    assert len(computed) == 3
    assert {v["metric"] for v in json.loads(out)["values"]} == {"nps"}


def test_a_config_found_nearer_is_seen(
    make_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(replay, "RACY_S", 0.0)
    config = make_project(DATASET, SPECS, {"data/responses.csv": responses(5)})
    inner = tmp_path / "inner"
    inner.mkdir()
    monkeypatch.chdir(inner)
    monkeypatch.delenv("CXENGINE_CONFIG", raising=False)
    runner = CliRunner()
    runner.invoke(cli, ["run", "--json"])
    runner.invoke(cli, ["run", "--json"])
    assert replays(config) == 1
    assert replay.find_config(None) == config
    write(inner / "cxengine.yaml", "database: other.db\nmetrics: []\ndatasets: {}\n")
    assert replay.find_config(None) == inner / "cxengine.yaml"
    watch = json.loads(sqlite3.connect(config.parent / "cx.db").execute(
        "SELECT watch FROM replays").fetchone()[0])  # fmt: skip
    assert not replay.unchanged(watch)


def test_files_changed_within_two_seconds_record_no_replay(
    make_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_project(DATASET, SPECS, {"data/responses.csv": responses(5)})
    monkeypatch.setattr(replay, "RACY_S", 3600.0)  # every file is "just written"
    cx(config, "run")
    cx(config, "run")
    assert replays(config) == 0


def test_the_database_is_found_as_the_config_names_it(tmp_path: Path) -> None:
    config = tmp_path / "cxengine.yaml"
    assert replay.database_of(config, "metrics: [a]\n") == tmp_path / "cx.db"
    assert replay.database_of(config, "database: r/x.db  # here\n") == tmp_path / "r" / "x.db"
    assert replay.database_of(config, "{database: x.db}\n") is None
    assert replay.database_of(config, "database: 'x.db'\n") is None
    assert replay.database_of(config, "database: a.db\ndatabase: b.db\n") is None


def test_its_copies_of_the_config_and_spec_names_agree() -> None:
    from cxengine import config
    from cxengine.spec import loader

    assert replay.CONFIG_NAMES == config.CONFIG_NAMES
    assert replay.ENV_CONFIG == config.ENV_CONFIG
    assert replay.SPEC_SUFFIXES == loader.SPEC_SUFFIXES


def test_a_replay_imports_no_model_kind_or_plugin(project: Path) -> None:
    env = dict(os.environ)
    paths = [REPO, REPO / "plugins" / "cxengine-nlp", REPO / "plugins" / "cxengine-exports"]
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), env.get("PYTHONPATH", "")])
    env.pop("CXENGINE_CONFIG", None)
    record = (
        "import sys\nfrom cxengine import replay\nreplay.RACY_S = 0.0\n"
        "from cxengine.cli import main\nsys.argv = ['cxengine', 'run', '--json']\nmain()\n"
    )
    probe = (
        "import sys\nfrom cxengine.cli import main\nsys.argv = ['cxengine', 'run', '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('pydantic', 'duckdb', 'yaml', 'pyarrow', 'cxengine.config', 'cxengine.runner')\n"
        "print('LOADED:' + ','.join(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    outs = []
    for code in (record, record, probe):
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=project.parent, env=env,
            capture_output=True, text=True,
        )  # fmt: skip
        outs.append(proc)
    assert outs[1].stdout == outs[2].stdout
    assert "reused run" in outs[2].stderr
    assert outs[2].stderr.strip().splitlines()[-1] == "LOADED:"


XML_DATASET = """
reviews:
  source: xml
  path: data/reviews_*.xml
  record: review
  columns: {id: "@id", food: food}
  fields:
    id: string
    food: integer
"""
XML_SPECS = {
    "food.yaml": "name: food\nkind: mean\ndataset: reviews\nfield: food\nscale: [1, 10]\n",
}


def reviews(*scores: int) -> str:
    body = "".join(f'<review id="{i}"><food>{s}</food></review>' for i, s in enumerate(scores))
    return f"<reviews>{body}</reviews>\n"


def test_a_file_that_joins_an_input_glob_is_seen(
    make_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch, computed: list[int]
) -> None:
    # The xml source reads every file its glob matches: a new one changes the input
    # list (and the values) without changing any file the replay recorded.
    monkeypatch.setattr(replay, "RACY_S", 0.0)
    config = make_project(XML_DATASET, XML_SPECS, {"data/reviews_1.xml": reviews(2, 4)})
    cx(config, "run", "--json")
    cx(config, "run", "--json")
    assert replays(config) == 1
    write(config.parent / "data" / "reviews_2.xml", reviews(10, 10))
    _, out, _ = cx(config, "run", "--json")
    assert len(computed) == 3
    assert {v["value"] for v in json.loads(out)["values"] if not v["period"]} == {6.5}


def test_an_input_reached_through_a_link_is_seen_when_the_link_moves(
    make_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch, computed: list[int]
) -> None:
    monkeypatch.setattr(replay, "RACY_S", 0.0)
    data = {"data/v1.csv": responses(5), "data/v2.csv": responses(9)}
    config = make_project(DATASET, SPECS, data)
    link = config.parent / "data" / "responses.csv"
    link.symlink_to("v1.csv")
    cx(config, "run", "--json")
    cx(config, "run", "--json")
    assert replays(config) == 1
    # The data folder holds the same names: only where the link leads changed.
    link.unlink()
    link.symlink_to("v2.csv")
    cx(config, "run", "--json")
    assert len(computed) == 3


def test_a_file_changed_while_the_reuse_ran_records_no_replay(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The edit lands after the reuse made its key and before it records the replay;
    # the file keeps its size and modification time, only its change time moves.
    from cxengine import runner

    cx(project, "run", "--json")
    real = runner.run_project

    def edited_meanwhile(*args: object, **kwargs: object) -> object:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        same_size_data(project.parent)
        return result

    monkeypatch.setattr(runner, "run_project", edited_meanwhile)
    cx(project, "run", "--json")
    assert replays(project) == 0
