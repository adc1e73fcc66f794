"""Fields no spec reads are checked but not kept: same rejects, less memory.

`fields_to_keep` decides per dataset (cxengine/dataset/needed.py); `load_dataset(...,
keep=...)` stores only those fields when it types the file in one pass.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cxengine import runner
from cxengine.config import DatasetConfig, load_config
from cxengine.dataset.load import load_dataset
from cxengine.dataset.needed import fields_to_keep
from cxengine.default_plugins.sources.csv import CsvSource
from cxengine.plugins import get_registry
from cxengine.runner import load_project_specs, run_project
from cxengine.scaffold import init_project

FIELDS = {"id": "string", "score": "integer", "when": "datetime", "note": "string"}


def _load(tmp_path: Path, data: bytes, keep: set[str] | None) -> tuple[object, list[str]]:
    (tmp_path / "d.csv").write_bytes(data)
    options = {"source": "csv", "path": "d.csv", "encoding": "utf-8", "fields": FIELDS}
    cfg = DatasetConfig.model_validate(options)
    con = duckdb.connect()
    ds = load_dataset(con, "d", cfg, CsvSource(), base_dir=tmp_path, keep=keep)
    columns = [d[0] for d in con.execute(f'SELECT * FROM "{ds.table}"').description]
    return ds, columns


def test_unread_fields_are_not_stored_but_still_checked(tmp_path: Path) -> None:
    data = (
        b"id,score,when,note\n"
        b"a,5,2025-01-01 10:00:00,fine\n"
        b"b,five,2025-01-02 10:00:00,ok\n"
        b"c,3,someday,bad \xff text\n"  # undecodable text in an unread column
        b"d,4,2025-01-03 10:00:00,\n"
    )
    every, every_columns = _load(tmp_path, data, None)
    narrow, columns = _load(tmp_path, data, {"when"})
    assert every_columns == ["_cx_row", "id", "score", "when", "note"]
    assert columns == ["_cx_row", "when"]
    assert narrow.fields == {"when": "datetime"}  # type: ignore[attr-defined]
    assert [(r.locator, r.field, r.value, r.reason) for r in narrow.rejects] == [  # type: ignore[attr-defined]
        (r.locator, r.field, r.value, r.reason)
        for r in every.rejects  # type: ignore[attr-defined]
    ]
    reasons = [r.reason for r in narrow.rejects]  # type: ignore[attr-defined]
    assert any("'five' is not an integer" in r for r in reasons)
    assert any("not valid UTF-8" in r for r in reasons)  # the unread column was read
    assert narrow.cells_rejected == every.cells_rejected  # type: ignore[attr-defined]


def _drop_comment_tagging(text: str) -> str:
    """Remove every `comments:` block (the demo tags its survey comments)."""
    out, below = [], None
    for line in text.splitlines(keepends=True):
        indent = len(line) - len(line.lstrip(" "))
        if below is not None and (not line.strip() or indent > below):
            continue
        below = None
        if line.strip() == "comments:":
            below = indent
            continue
        out.append(line)
    return "".join(out)


def _demo(tmp_path: Path, *, tagging: bool = True, joined_specs: bool = True) -> Path:
    init_project(tmp_path, rows=300)
    config = tmp_path / "cxengine.yaml"
    if not tagging:
        config.write_text(_drop_comment_tagging(config.read_text(encoding="utf-8")))
    if not joined_specs:
        for spec in (tmp_path / "metric_specs").glob("*.yaml"):
            if "dataset: answered_" in spec.read_text(encoding="utf-8"):
                spec.unlink()
    return config


def _keep(config: Path) -> dict[str, set[str] | None]:
    project = load_config(config)
    registry = get_registry()
    specs = [s.spec for s in load_project_specs(project, registry)[0]]
    return fields_to_keep(project, registry, specs, {s.dataset for s in specs})


def test_tagging_keeps_the_comment_and_its_key_beside_what_specs_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _demo(tmp_path, joined_specs=False)
    kept = _keep(config)["responses"]
    assert kept is not None  # the tags are read beside the rows: no copy of every field
    assert {"comment", "response_id", "satisfaction", "touchpoint"} <= kept
    assert not kept & {"customer_id", "ticket_id"}  # no spec of the dataset names them
    # Tags and values are those of a run keeping every field.
    narrow = run_project(load_config(config), store=False)
    monkeypatch.setattr(runner, "fields_to_keep", lambda *args: {})
    full = run_project(load_config(config), store=False)
    assert narrow.values == full.values
    assert narrow.rejects == full.rejects
    assert narrow.extra["enrichment"].as_dict() == full.extra["enrichment"].as_dict()


def test_without_tagging_only_the_fields_specs_name_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _demo(tmp_path, tagging=False, joined_specs=False)
    kept = _keep(config)["responses"]
    assert kept is not None and "comment" not in kept
    assert {"satisfaction", "recommend", "effort", "touchpoint", "submitted_at"} <= kept
    # The run over the narrowed tables gives what a run keeping everything gives.
    narrow = run_project(load_config(config), store=False)
    monkeypatch.setattr(runner, "fields_to_keep", lambda *args: {})
    full = run_project(load_config(config), store=False)
    assert narrow.values == full.values
    assert narrow.rejects == full.rejects
    assert narrow.datasets == full.datasets


def test_the_sides_of_a_join_keep_every_field(tmp_path: Path) -> None:
    keep = _keep(_demo(tmp_path, tagging=False))
    assert keep["responses"] is None  # answered_tickets joins it with tickets
    assert keep["tickets"] is None
