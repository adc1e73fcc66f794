"""The rerun cache: a run whose inputs did not change is printed from the database.

Issue 12, item 4. Reuse must be invisible except for one line on stderr: the same
stdout, the same --json, the same exit code, and the gate judged anew (a baseline may
have changed since). Anything a run's values depend on — data, specs, config, the
metrics asked for, code — gives a new computation; a run that did not finish is never
reused; --force always recomputes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cxengine import run_cache
from cxengine.cli import cli
from cxengine.config import load_config
from cxengine.plugins import get_registry
from cxengine.runner import run_project, value_json
from tests.project_files import ProjectFactory, write

DATASET = """
responses:
  source: csv
  path: data/responses.csv
  key: id
  fields:
    id: string
    submitted_at: datetime
    channel: string
    recommend: integer
    satisfaction: integer
"""
SPECS = {
    "nps.yaml": """
        name: nps
        kind: nps
        dataset: responses
        field: recommend
        time: submitted_at
        period: month
        by: [channel]
    """,
    "csat.yaml": """
        name: csat
        kind: share
        dataset: responses
        field: satisfaction
        scale: [1, 5]
        time: submitted_at
        period: month
        by: [channel]
    """,
}


def responses(satisfaction: int, rows: int = 240, bad: bool = True) -> str:
    lines = ["id,submitted_at,channel,recommend,satisfaction"]
    for i in range(rows):
        month = 1 + i % 3
        channel = ("web", "email", "phone")[i % 3]
        score = satisfaction if i % 7 else max(1, satisfaction - 1)
        lines.append(f"r{i},2025-0{month}-{1 + i % 27:02d}T10:00:00,{channel},{i % 11},{score}")
    if bad:
        lines.append("r-bad,2025-01-05T10:00:00,web,ten,9")  # a reject and an exclusion
    return "\n".join(lines) + "\n"


@pytest.fixture
def project(make_project: ProjectFactory) -> Path:
    return make_project(DATASET, SPECS, {"data/responses.csv": responses(5)})


def cx(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def reused(stderr: str) -> bool:
    return "reused run" in stderr


def runs_in(config: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(config.parent / "cx.db") as conn:
        return conn.execute("SELECT id, status FROM runs ORDER BY rowid").fetchall()


# --------------------------------------------------------------------- reuse itself


@pytest.mark.parametrize("args", [(), ("--json",), ("--detail",), ("--format", "markdown")])
def test_a_rerun_prints_exactly_what_the_first_run_printed(
    project: Path, args: tuple[str, ...]
) -> None:
    code1, out1, err1 = cx(project, "run", *args)
    code2, out2, err2 = cx(project, "run", *args)
    assert (code1, out1) == (code2, out2)
    assert not reused(err1) and reused(err2)
    # The same dataset counts and reject lines on stderr, bar the line saying so.
    assert [ln for ln in err1.splitlines() if "stored in" not in ln] == [
        ln for ln in err2.splitlines() if "reused run" not in ln
    ]


def test_the_library_returns_the_same_result(project: Path) -> None:
    config = load_config(project)
    registry = get_registry()
    first = run_project(config, registry)
    again = run_project(config, registry)
    assert again.extra.get("reused") and not first.extra.get("reused")
    assert again.run_id == first.run_id
    assert again.to_json() == first.to_json()
    assert [v.counts for v in again.values] == [v.counts for v in first.values]
    assert [value_json(v) for v in again.values] == [value_json(v) for v in first.values]
    assert again.rejects == first.rejects
    assert again.datasets == first.datasets


def test_force_recomputes_and_no_store_never_reuses(project: Path) -> None:
    _, out_forced, err = cx(project, "run", "--force")
    assert not reused(err) and "stored in" in err
    _, out_forced, err = cx(project, "run", "--force")
    assert not reused(err) and "stored in" in err
    _, _, err = cx(project, "run", "--no-store")
    assert not reused(err)
    _, out_reused, err = cx(project, "run")
    assert reused(err) and out_reused == out_forced  # a forced run is recorded for reuse


def test_a_reused_run_becomes_the_latest_run(project: Path) -> None:
    cx(project, "run")
    cx(project, "run", "--metric", "nps")  # another run, now the latest
    _, _, err = cx(project, "run")
    assert reused(err)
    code, out, _ = cx(project, "show", "--json")
    assert code == 0
    assert {r["metric"] for r in json.loads(out)} == {"nps", "csat"}


def test_metrics_asked_for_are_part_of_what_is_reused(project: Path) -> None:
    _, all_out, _ = cx(project, "run", "--json")
    _, nps_out, err = cx(project, "run", "--json", "--metric", "nps")
    assert not reused(err)
    assert {v["metric"] for v in json.loads(nps_out)["values"]} == {"nps"}
    _, again, err = cx(project, "run", "--json", "--metric", "nps")
    assert reused(err) and again == nps_out
    _, again, err = cx(project, "run", "--json")
    assert reused(err) and again == all_out


# ------------------------------------------------------------ what makes it recompute


def test_changed_data_is_recomputed(project: Path) -> None:
    _, out1, _ = cx(project, "run", "--json")
    write(project.parent / "data" / "responses.csv", responses(2))
    _, out2, err = cx(project, "run", "--json")
    assert not reused(err) and out2 != out1


def test_same_size_new_content_is_recomputed(project: Path) -> None:
    data = project.parent / "data" / "responses.csv"
    cx(project, "run")
    before = data.stat()
    text = data.read_text()
    write(data, text.replace("web", "wEb", 1))  # same length, other content
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))  # even the same mtime
    assert data.stat().st_size == before.st_size
    _, _, err = cx(project, "run")
    assert not reused(err)


def test_a_touched_file_with_the_same_content_is_still_reused(project: Path) -> None:
    data = project.parent / "data" / "responses.csv"
    cx(project, "run")
    os.utime(data, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    _, _, err = cx(project, "run")
    assert reused(err)


@pytest.mark.parametrize(
    "edit",
    [
        lambda root: (root / "metric_specs" / "csat.yaml").write_text(
            (root / "metric_specs" / "csat.yaml").read_text().replace("[1, 5]", "[1, 6]")
        ),
        lambda root: (root / "cxengine.yaml").write_text(
            (root / "cxengine.yaml").read_text() + "# a comment changes the config's hash\n"
        ),
        lambda root: write(
            root / "metric_specs" / "count.yaml",
            "name: answers\nkind: count\ndataset: responses\ntime: submitted_at\n",
        ),
    ],
    ids=["spec", "config", "new spec"],
)
def test_changed_specs_or_config_are_recomputed(project: Path, edit: object) -> None:
    cx(project, "run")
    edit(project.parent)  # type: ignore[operator]
    _, _, err = cx(project, "run")
    assert not reused(err)


def test_changed_plugin_code_changes_the_key(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plugin edited in place (an editable install) keeps its version string; its
    # file's size or time changes, and with it the key. (A plugin of our own, so no
    # file of cxengine is touched while other tests run.)
    plugin_file = write(tmp_path / "plugin_src" / "cx_edited_plugin.py", "VERSION = 1\n")
    monkeypatch.syspath_prepend(str(plugin_file.parent))
    import importlib

    from cxengine.plugins import Registry, get_plugin_manager

    module = importlib.import_module("cx_edited_plugin")
    registry = Registry(get_plugin_manager(load_entry_points=False, extra=[module]))
    config = load_config(project)
    specs = run_project(config, registry).specs
    before = run_cache.fingerprint(config, registry, specs, None)
    write(plugin_file, "VERSION = 20\n")
    after = run_cache.fingerprint(config, registry, specs, None)
    assert before is not None and after is not None
    assert after.parts["code"] != before.parts["code"]
    assert after.parts["specs"] == before.parts["specs"]
    assert before.key() != after.key()


def test_a_lazily_registered_kind_s_code_is_in_the_key_before_it_is_imported(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The plugin registers a kind that lives in another package, by name only: the
    # run being checked for reuse never imports it, yet editing it must change the key.
    write(tmp_path / "src" / "cx_lazy_impl" / "__init__.py", "")
    impl = write(tmp_path / "src" / "cx_lazy_impl" / "kinds.py", "VERSION = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    import cxengine
    from cxengine.plugins import Registry, get_plugin_manager
    from cxengine.registration import lazy

    class LazyPlugin:
        @cxengine.hookimpl
        def register_aggregations(self, register: object) -> None:
            register(lazy("unused_kind", "cx_lazy_impl.kinds:Kind"))  # type: ignore[operator]

    registry = Registry(get_plugin_manager(load_entry_points=False, extra=[LazyPlugin()]))
    config = load_config(project)
    specs = run_project(config, registry).specs
    before = run_cache.fingerprint(config, registry, specs, None)
    write(impl, "VERSION = 20\n")
    after = run_cache.fingerprint(config, registry, specs, None)
    assert before is not None and after is not None
    assert "cx_lazy_impl" not in sys.modules
    assert str(impl.parent) in {root for root, _ in after.parts["code"]}
    assert after.parts["code"] != before.parts["code"] and before.key() != after.key()


def test_a_new_version_of_an_installed_plugin_changes_the_key(project: Path) -> None:
    # An upgrade that leaves file sizes and times alone (a reinstall of a wheel with
    # the files' original times) still changes the distribution's version.
    registry = get_registry(load_entry_points=False)
    config = load_config(project)
    specs = run_project(config, registry).specs
    registry.pm.entry_points["helpdesk"] = ("cxengine-helpdesk", "1.0")
    before = run_cache.fingerprint(config, registry, specs, None)
    registry.pm.entry_points["helpdesk"] = ("cxengine-helpdesk", "1.1")
    after = run_cache.fingerprint(config, registry, specs, None)
    assert before is not None and after is not None
    assert after.parts["code"] == before.parts["code"]
    assert before.key() != after.key()


def test_a_source_that_is_not_files_is_never_reused(
    make_project: ProjectFactory, fake_entry_points: object
) -> None:
    fake_entry_points("example_source", "cxengine_example_source")  # type: ignore[operator]
    config = make_project(
        """
        helpdesk:
          source: example_helpdesk
          tickets: 40
          fields: {ticket: string, score: integer, team: string}
        """,
        {"s.yaml": "name: s\nkind: share\ndataset: helpdesk\nfield: score\npositive: [5]\n"},
    )
    _, out1, err1 = cx(config, "run", "--json")
    _, out2, err2 = cx(config, "run", "--json")
    assert "reused" not in err1 + err2 and out1 == out2


# ---------------------------------------------------------- only finished runs count


def test_a_run_that_did_not_finish_ok_is_not_reused(project: Path) -> None:
    cx(project, "run")
    with sqlite3.connect(project.parent / "cx.db") as conn:
        conn.execute("UPDATE runs SET status = 'failed'")
    _, _, err = cx(project, "run")
    assert not reused(err)
    assert [status for _, status in runs_in(project)] == ["ok"]


def test_a_failed_run_records_nothing_to_reuse(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cxengine.runner as runner

    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(runner, "_compute", crash)
    with pytest.raises(RuntimeError):
        cx(project, "run")
    monkeypatch.undo()
    with sqlite3.connect(project.parent / "cx.db") as conn:
        assert conn.execute("SELECT count(*) FROM reusable_runs").fetchone() == (0,)
    _, _, err = cx(project, "run")
    assert not reused(err)


# ------------------------------------------------------------- the gate still judges


def test_the_gate_judges_a_reused_run_against_the_baseline_given_now(
    make_project: ProjectFactory,
) -> None:
    config = make_project(DATASET, SPECS, {"data/responses.csv": responses(5, bad=False)})
    root = config.parent
    assert cx(config, "run")[0] == 0
    assert cx(config, "baseline", "save", str(root / "good.json"))[0] == 0
    write(root / "data" / "responses.csv", responses(1, bad=False))  # CSAT collapses
    code, out, err = cx(config, "run", "--baseline", str(root / "good.json"))
    assert code == 1 and not reused(err)
    code_again, out_again, err = cx(config, "run", "--baseline", str(root / "good.json"))
    assert (code_again, out_again) == (code, out) and reused(err)
    # The baseline moves to the current state: the same stored run now passes.
    assert cx(config, "baseline", "save", str(root / "now.json"))[0] == 0
    code, _, err = cx(config, "run", "--baseline", str(root / "now.json"))
    assert code == 0 and reused(err)
    with sqlite3.connect(root / "cx.db") as conn:
        verdicts = {v for (v,) in conn.execute("SELECT DISTINCT verdict FROM checks")}
    assert "fail" not in verdicts  # the stored verdicts are those just printed


def test_a_run_stored_with_an_error_is_not_reused(project: Path) -> None:
    # A run whose spec failed while the others were stored carries its error.
    cx(project, "run")
    with sqlite3.connect(project.parent / "cx.db") as conn:
        conn.execute("UPDATE runs SET error = 'spec csat failed: boom'")
    _, _, err = cx(project, "run")
    assert not reused(err)


def test_a_rerun_prints_the_same_bytes_with_several_datasets_and_a_join(
    make_project: ProjectFactory,
) -> None:
    # The reused output is rebuilt from what the database kept: objects must come back
    # in the run's own key order (datasets as declared, a join's counts as computed),
    # not re-sorted, or two identical runs' JSON differ in a diff.
    datasets = (
        DATASET.replace("responses:", "web_answers:", 1)
        + DATASET
        + """
answered:
  join: {from: web_answers, to: responses, on: id, how: left}
"""
    )
    specs = {
        **SPECS,
        "web_nps.yaml": SPECS["nps.yaml"]
        .replace("name: nps", "name: web_nps")
        .replace("dataset: responses", "dataset: web_answers"),
        "joined_nps.yaml": SPECS["nps.yaml"]
        .replace("name: nps", "name: joined_nps")
        .replace("dataset: responses", "dataset: answered"),
    }
    config = make_project(datasets, specs, {"data/responses.csv": responses(5)})
    code1, out1, err1 = cx(config, "run", "--json")
    code2, out2, err2 = cx(config, "run", "--json")
    assert code1 == code2 == 0, err1 + err2
    assert not reused(err1) and reused(err2)
    assert list(json.loads(out1)["datasets"]) != sorted(json.loads(out1)["datasets"])
    assert out1 == out2
