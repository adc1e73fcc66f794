"""Commands that compute nothing import none of the heavy modules (issue 12, item 3).

Each command runs in a fresh interpreter, as a user runs it, and the test reads
`sys.modules` afterwards: what was imported, not how long it took (no test asserts
a duration; bench/bench_startup.py prints the times). DuckDB, pyarrow, sqlglot,
scipy and pandas cost 0.2–0.9 s each to import; the kinds and sources that use them
import them on first use (cxengine/lazy.py), so listing kinds, sources and plugins
and validating specs do not pay for them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.project_files import ProjectFactory

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN = ("duckdb", "pyarrow", "sqlglot", "scipy", "pandas")

DATASET = """
responses:
  source: csv
  path: data/responses.csv
  fields:
    submitted_at: datetime
    channel: string
    recommend: integer
    satisfaction: integer
"""
DATA = {
    "data/responses.csv": (
        "submitted_at,channel,recommend,satisfaction\n"
        "2025-01-03T10:00:00,web,9,5\n"
        "2025-01-04T11:00:00,email,3,2\n"
        "2025-02-05T12:00:00,web,10,4\n"
    )
}
SPECS = {
    "nps.yaml": """
        name: nps
        kind: nps
        dataset: responses
        field: recommend
        time: submitted_at
        period: month
        by: [channel]
        where: "channel <> 'test' AND recommend BETWEEN 0 AND 10"
    """,
    "web.yaml": """
        name: web_share
        kind: share
        dataset: responses
        field: satisfaction
        condition: "lower(channel) IN ('web', 'app') AND satisfaction >= 4"
        time: submitted_at
        period: month
    """,
    "csat.yaml": """
        name: csat
        kind: share
        dataset: responses
        field: satisfaction
        scale: [1, 5]
        time: submitted_at
        period: month
    """,
    "effort.yaml": """
        name: satisfaction_mean
        kind: mean
        dataset: responses
        field: satisfaction
        time: submitted_at
        period: month
    """,
}


def imported_modules(*args: str, cwd: Path = REPO) -> tuple[set[str], str]:
    """Run `cxengine ARGS` in a fresh interpreter; return every module it imported, and stdout."""
    code = (
        "import sys\n"
        "from cxengine.cli import main\n"
        "try:\n"
        f"    main({list(args)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\n' + ' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    env = dict(os.environ)
    # This checkout and its plugins first, whatever is installed.
    paths = [REPO, REPO / "plugins" / "cxengine-nlp", REPO / "plugins" / "cxengine-exports"]
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, check=True
    )
    return set(proc.stderr.strip().splitlines()[-1].split()), proc.stdout


def loaded_modules(*args: str, cwd: Path = REPO) -> tuple[set[str], str]:
    """Run `cxengine ARGS` in a fresh interpreter; return its top-level modules and stdout."""
    modules, out = imported_modules(*args, cwd=cwd)
    return {m.split(".")[0] for m in modules}, out


def builtin_modules(modules: set[str]) -> set[str]:
    """Return the built-in kinds, sources, reporters and engines among `modules`, by name."""
    from cxengine.plugins import DEFAULT_PLUGINS

    return {m.rsplit(".", 1)[-1] for m in modules & set(DEFAULT_PLUGINS)}


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("--version",),
        ("metrics",),
        ("metrics", "--json"),
        ("sources",),
        ("sources", "--json"),
        ("plugins",),
        ("plugins", "--json"),
    ],
    ids=" ".join,
)
def test_listing_commands_import_nothing_heavy(
    make_project: ProjectFactory, args: tuple[str, ...]
) -> None:
    config = make_project(DATASET, SPECS, DATA)
    loaded, out = loaded_modules(*args, cwd=config.parent)
    assert out.strip(), "the command printed nothing: it did not run"
    assert sorted(loaded & set(FORBIDDEN)) == []


def test_the_listings_checked_above_are_complete(make_project: ProjectFactory) -> None:
    # The checks above are only worth something if the commands did their whole job.
    config = make_project(DATASET, SPECS, DATA)
    _, out = loaded_modules("metrics", "--json", cwd=config.parent)
    assert {m["name"] for m in json.loads(out)} == {"nps", "csat", "satisfaction_mean", "web_share"}
    loaded, out = loaded_modules("plugins", "--all", "--json", cwd=config.parent)
    kinds = {k for p in json.loads(out) for k in p["provides"].get("aggregation kind", [])}
    assert {"share", "nps", "mean", "duration", "backlog", "retention", "formula"} <= kinds
    assert "theme_share" in kinds or "cxengine_nlp" not in loaded  # the NLP plugin's kinds
    assert sorted(loaded & set(FORBIDDEN)) == []


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_validate_imports_nothing_heavy(make_project: ProjectFactory, as_json: bool) -> None:
    config = make_project(DATASET, SPECS, DATA)
    args = ["--config", str(config), "validate", *(["--json"] if as_json else [])]
    loaded, out = loaded_modules(*args, cwd=config.parent)
    assert ("ok: 4 metric specs valid" in out) or json.loads(out)["valid"] is True
    assert sorted(loaded & set(FORBIDDEN)) == []


def test_validate_finds_errors_without_heavy_imports(make_project: ProjectFactory) -> None:
    specs = {**SPECS, "bad.yaml": "name: bad\nkind: nps\ndataset: responses\nfield: nowhere\n"}
    config = make_project(DATASET, specs, DATA)
    loaded, out = loaded_modules("--config", str(config), "validate", "--json")
    problems = json.loads(out)["problems"]
    assert any("nowhere" in p["message"] for p in problems)
    assert sorted(loaded & set(FORBIDDEN)) == []


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_reused_run_imports_no_duckdb_pyarrow_or_sqlglot(
    make_project: ProjectFactory, as_json: bool
) -> None:
    config = make_project(DATASET, SPECS, DATA)
    args = ["--config", str(config), "run", *(["--json"] if as_json else [])]
    first, out1 = loaded_modules(*args, cwd=config.parent)
    assert "duckdb" in first  # the first run computes
    again, out2 = loaded_modules(*args, cwd=config.parent)
    assert out2 == out1
    assert sorted(again & {"duckdb", "pyarrow", "sqlglot", "pandas"}) == []


# ------------------------------------------------ the registry imports what is used (item 3)


@pytest.mark.parametrize(
    "args", [("plugins", "--all", "--json"), ("sources", "--json")], ids=" ".join
)
def test_listing_plugins_and_sources_imports_no_kind_source_reporter_or_engine(
    make_project: ProjectFactory, args: tuple[str, ...]
) -> None:
    # Every built-in is registered by name (cxengine/default_plugins/catalog.py), with
    # what these listings print, so listing them imports none of their modules.
    config = make_project(DATASET, SPECS, DATA)
    modules, out = imported_modules(*args, cwd=config.parent)
    assert "csv" in out and "parquet" in out
    assert builtin_modules(modules) == set()
    assert "cxengine.engines.api" not in modules
    # The installed plugins here (cxengine-nlp, cxengine-exports) register lazily too:
    # no kind, source or spec model is built at all.
    assert "cxengine.spec.models" not in modules
    plugin_modules = {m for m in modules if m.startswith(("cxengine_nlp.", "cxengine_exports."))}
    # The entry points, and the two modules the NLP plugin's command and report-section
    # hooks import when loading probes them.
    entry_points = {"cxengine_nlp.plugin", "cxengine_exports.plugin"}
    assert plugin_modules <= {*entry_points, "cxengine_nlp.commands", "cxengine_nlp.report_section"}


@pytest.mark.parametrize("command", ["metrics", "validate"])
def test_checking_specs_imports_the_kinds_they_use_and_no_other(
    make_project: ProjectFactory, command: str
) -> None:
    config = make_project(DATASET, SPECS, DATA)
    modules, out = imported_modules("--config", str(config), command, "--json", cwd=config.parent)
    assert out.strip()
    kinds = builtin_modules(modules) - {"csv"}  # validate checks the csv source's options
    assert kinds == {"nps", "share", "mean"}


def test_validate_with_a_broken_config_imports_only_the_kinds_its_specs_name(
    make_project: ProjectFactory,
) -> None:
    # The specs are checked on their own while the config cannot be read.
    config = make_project(DATASET, SPECS, DATA)
    config.write_text(config.read_text() + "\nno_such_key: 1\n")
    modules, out = imported_modules("--config", str(config), "validate", "--json")
    assert "no_such_key" in out
    assert builtin_modules(modules) == {"nps", "share", "mean"}


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_reused_run_imports_only_the_kinds_source_and_reporter_it_uses(
    make_project: ProjectFactory, as_json: bool
) -> None:
    config = make_project(DATASET, SPECS, DATA)
    args = ["--config", str(config), "run", *(["--json"] if as_json else [])]
    first, _ = imported_modules(*args, cwd=config.parent)
    again, out = imported_modules(*args, cwd=config.parent)
    # The csv source says which files the run reads (their fingerprint is the key);
    # without --json the run prints its summary, no reporter.
    used = {"nps", "share", "mean", "csv", *(["json"] if as_json else [])}
    assert builtin_modules(again) == used
    assert used <= builtin_modules(first)
    assert out.strip()


def test_help_imports_no_contract_catalog_or_model() -> None:
    # --help loads the installed plugins' entry points for their commands, nothing of
    # the registry: not the built-ins' catalog, not the contracts, not pydantic.
    modules, out = imported_modules("--help")
    assert "Usage" in out
    assert not {"cxengine.interfaces", "cxengine.default_plugins.catalog"} & modules
    assert not {m for m in modules if m.split(".")[0] == "pydantic"}


# ------------------------------------------- the example project, filters and weights (item 3)


@pytest.mark.parametrize("command", ["metrics", "validate"])
def test_checking_the_example_project_imports_nothing_heavy(tmp_path: Path, command: str) -> None:
    # The project `cxengine init` writes has every kind of spec the bench measures:
    # filters (`where:`, `condition:`), joins, bands and a weighted NPS.
    subprocess.run(
        [sys.executable, "-m", "cxengine", "init", str(tmp_path / "p")],
        capture_output=True,
        check=True,
        cwd=REPO,
    )
    project = tmp_path / "p"
    specs = "".join(p.read_text("utf-8") for p in (project / "metric_specs").glob("*.yaml"))
    assert "where:" in specs and "condition:" in specs and "weights:" in specs
    loaded, out = loaded_modules(command, cwd=project)
    assert "nps_invited" in out or "metric specs valid" in out
    assert sorted(loaded & set(FORBIDDEN)) == []


WEIGHTABLE_SPECS = [
    {"kind": "nps", "field": "recommend"},
    {"kind": "nps", "field": "recommend", "promoters": {"min": 8}, "detractors": {"max": 5}},
    {"kind": "share", "field": "csat", "scale": [1, 5]},
    {"kind": "share", "field": "csat", "positive": [4, 5], "valid": {"min": 1}},
    {"kind": "share", "field": "csat", "condition": "csat >= 4 AND channel <> 'test'"},
    {"kind": "mean", "field": "csat"},
    {"kind": "mean", "field": "csat", "scale": [1, 5]},
]


@pytest.mark.parametrize("shape", WEIGHTABLE_SPECS, ids=lambda s: " ".join(map(str, s.values())))
def test_kinds_weightable_by_construction_are_weightable_when_compiled(
    shape: dict[str, object],
) -> None:
    # `validate` takes the built-in share, nps and mean as weightable without compiling
    # their counts (sqlglot); compiling them must agree, on every shape of spec.
    from cxengine.plugins import get_registry
    from cxengine.weighting.apply import weightable, weightable_by_compiling

    registry = get_registry()
    kind = registry.aggregations[str(shape["kind"])]
    spec = kind.spec_model.model_validate({"name": "m", "dataset": "r", **shape})
    assert weightable_by_compiling(kind, spec) is None
    assert weightable(kind, spec) is None


def test_a_plugin_kind_is_compiled_even_when_it_looks_like_a_built_in() -> None:
    # The shortcut names classes, not kind names: a look-alike is still checked.
    from sqlglot import exp

    from cxengine.default_plugins.aggregations.share import Share, ShareSpec
    from cxengine.weighting.apply import weightable

    class MaxShare(Share):
        def counts(self, spec: object, ctx: object) -> dict[str, exp.Expression]:
            return {"n": exp.Max(this=exp.column("csat")), "positive": exp.Count(this=exp.Star())}

    spec = ShareSpec.model_validate(
        {"name": "m", "kind": "share", "dataset": "r", "field": "csat", "positive": [5]}
    )
    assert "cannot be weighted" in (weightable(MaxShare(), spec) or "")
