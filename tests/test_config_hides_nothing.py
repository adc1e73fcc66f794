"""An invalid cxengine.yaml does not hide the mistakes in the metric specs.

Every spec problem that does not depend on the config (a missing kind, a misspelt
key, a bad scale) is reported in the same pass as the config's own problems, by
every command that loads the project, and `validate --json` stays a JSON document.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cxengine.cli import cli
from tests.project_files import write

GOOD_SPEC = """
name: nps
title: NPS
kind: nps
dataset: responses
field: recommend
"""

SPEC_WITHOUT_KIND = """
name: csat
title: CSAT
dataset: responses
field: satisfaction
"""

SPEC_WITH_TYPO = """
name: effort
title: Effort
kind: mean
dataset: responses
field: effort
scael: {min: 1, max: 7}
"""

DATASETS = """
datasets:
  responses:
    source: csv
    path: data.csv
    fields: {recommend: integer, satisfaction: integer, effort: integer}
"""


def _project(root: Path, config_head: str, metrics_line: str = "metrics: [metric_specs]") -> Path:
    write(root / "metric_specs" / "nps.yaml", GOOD_SPEC)
    write(root / "metric_specs" / "csat.yaml", SPEC_WITHOUT_KIND)
    write(root / "metric_specs" / "effort.yaml", SPEC_WITH_TYPO)
    write(root / "data.csv", "recommend,satisfaction,effort\n9,5,6\n")
    return write(root / "cxengine.yaml", f"{config_head}\n{metrics_line}\n{DATASETS}")


def _invoke(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "config_head",
    [
        "database: cx.db\nbogus_key: 1",  # an unknown key
        "database: [not, a, path]",  # a wrong type
        "database: cx.db\nconfidence: 2.5",  # a value out of range
    ],
)
@pytest.mark.parametrize("command", [("validate",), ("run",), ("metrics",)])
def test_config_and_spec_problems_come_out_together(
    tmp_path: Path, config_head: str, command: tuple[str, ...]
) -> None:
    config = _project(tmp_path, config_head)
    code, _, err = _invoke(config, *command)
    assert code == 1
    assert "cxengine.yaml:" in err
    assert "csat.yaml:" in err and "'kind' is missing" in err
    assert "effort.yaml:" in err and "scael" in err
    assert "checked once this file is valid" in err
    assert "nps.yaml" not in err  # a good spec is not blamed


def test_validate_json_stays_a_document_when_the_config_is_invalid(tmp_path: Path) -> None:
    config = _project(tmp_path, "database: cx.db\nbogus_key: 1")
    code, out, _ = _invoke(config, "validate", "--json")
    assert code == 1
    document = json.loads(out)
    assert document["valid"] is False
    files = {(p["file"].rsplit("/", 1)[-1], p["severity"]) for p in document["problems"]}
    assert ("cxengine.yaml", "error") in files
    assert ("csat.yaml", "error") in files
    assert ("effort.yaml", "error") in files


def test_specs_listed_elsewhere_are_found_from_the_raw_config(tmp_path: Path) -> None:
    root = tmp_path / "project"
    _project(root, "database: cx.db\nbogus_key: 1")
    (root / "metric_specs").rename(root / "team_specs")
    config = write(
        root / "cxengine.yaml",
        f"database: cx.db\nbogus_key: 1\nmetrics: [team_specs]\n{DATASETS}",
    )
    _, _, err = _invoke(config, "validate")
    assert "team_specs/csat.yaml" in err


def test_an_unreadable_metrics_key_reports_only_the_config(tmp_path: Path) -> None:
    config = _project(tmp_path, "database: cx.db", metrics_line="metrics: 5")
    code, _, err = _invoke(config, "validate")
    assert code == 1
    assert "metrics: must be a list" in err
    # The specs are not guessed at from a folder the config does not name.
    assert "csat.yaml" not in err and "checked once" not in err


def test_a_valid_config_reports_the_same_spec_problems(tmp_path: Path) -> None:
    config = _project(tmp_path, "database: cx.db")
    code, _, err = _invoke(config, "validate")
    assert code == 1
    assert "'kind' is missing" in err and "scael" in err
    assert "checked once this file is valid" not in err
