"""Taxonomy files are read from the same places as data files, and nowhere else.

A team's taxonomy is a file the enricher opens and whose terms `themes` echoes, so a
config from elsewhere must not make it read any file the user can read: the project
folder, the folders under `allow_paths:` (or `--allow-path`) and the shipped packs.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from cxengine.config import load_config
from cxengine.plugins import get_registry
from cxengine.runner import run_project
from test_host import SPECS, invoke, make_project, stored_tags

THEMES = textwrap.dedent(
    """\
    themes:
      - id: rudeness
        title: Rudeness
        terms: {en: [rude], ru: [нагрубить, хамить]}
    """
)
RUDENESS_SPEC = {"r.yaml": SPECS["themes.yaml"].replace("by: [touchpoint]", "themes: [rudeness]")}


def project_reading(
    tmp_path: Path, taxonomy: str, allow: str = "", specs: dict[str, str] = RUDENESS_SPEC
) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    config = make_project(project, f"      options: {{taxonomy: [{taxonomy}]}}\n", specs)
    if allow:
        config.write_text(f"allow_paths: [{allow}]\n" + config.read_text("utf-8"), "utf-8")
    return config


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "themes.yaml").write_text(THEMES, encoding="utf-8")
    return folder / "themes.yaml"


def test_a_taxonomy_outside_the_project_is_refused_with_the_way_to_allow_it(
    tmp_path: Path, outside: Path
) -> None:
    config = project_reading(tmp_path, str(outside))
    result = invoke(config, "validate")
    assert result.exit_code == 1
    assert f"options.taxonomy[0]: {outside} is outside the project folder" in result.stderr
    assert "allow_paths:" in result.stderr
    assert invoke(config, "run").exit_code == 1


def test_a_symlink_inside_the_project_is_judged_by_where_it_leads(
    tmp_path: Path, outside: Path
) -> None:
    config = project_reading(tmp_path, "themes.yaml")
    (config.parent / "themes.yaml").symlink_to(outside)
    result = invoke(config, "validate")
    assert result.exit_code == 1
    assert f"(it leads to {outside})" in result.stderr


def test_a_folder_listed_under_allow_paths_may_hold_the_taxonomy(
    tmp_path: Path, outside: Path
) -> None:
    config = project_reading(tmp_path, str(outside), allow=str(outside.parent))
    assert invoke(config, "validate").exit_code == 0
    run_project(load_config(config), get_registry())
    tags = stored_tags(config.parent / "cx.db")
    assert "rudeness" in json.loads(tags["1"]["themes"])  # "нагрубил" -> нагрубить


def test_a_relative_path_climbing_out_of_the_project_is_refused(
    tmp_path: Path, outside: Path
) -> None:
    config = project_reading(tmp_path, "../shared/themes.yaml")
    result = invoke(config, "validate")
    assert result.exit_code == 1
    assert "options.taxonomy[0]: ../shared/themes.yaml (it leads to" in result.stderr


def test_the_shipped_packs_are_always_allowed(tmp_path: Path) -> None:
    config = project_reading(tmp_path, "builtin:banking", specs={})
    assert invoke(config, "validate").exit_code == 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    config = project_reading(tmp_path, "themes.yaml")
    os.mkfifo(config.parent / "themes.yaml")  # opening it would block the run forever
    result = invoke(config, "validate")
    assert result.exit_code == 1
    assert (
        "options.taxonomy[0]: themes.yaml is a named pipe (FIFO), not a regular file"
        in result.stderr
    )
