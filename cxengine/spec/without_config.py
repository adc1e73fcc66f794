"""Check the metric specs when the project config itself is invalid.

A mistake in cxengine.yaml used to hide every mistake in the specs: the user fixed
the config, ran again, and only then met the spec problems. The specs' own rules
(keys, types, kinds, scales) do not need the config, so they are checked anyway and
reported in the same pass; the rules that do need it (datasets, fields, sources) wait
until the config is valid, and a note says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cxengine.errors import Problem
from cxengine.yamlsafe import YamlProblems, load_file

if TYPE_CHECKING:
    from cxengine.plugins import Registry

DEFAULT_SPEC_PATHS = ("metric_specs",)


def spec_paths_of_raw_config(config_path: Path) -> list[Path] | None:
    """Return the spec locations `metrics:` names, read leniently; None when unreadable.

    The config failed validation, so nothing but `metrics:` is trusted: a list of
    strings (relative to the config's folder), or the default when the key is absent.
    """
    try:
        data, _ = load_file(config_path, str(config_path))
    except (YamlProblems, OSError):
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return None
    listed = data.get("metrics", list(DEFAULT_SPEC_PATHS))
    if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
        return None
    base = config_path.resolve().parent
    return [p if p.is_absolute() else base / p for p in (Path(s).expanduser() for s in listed)]


def spec_problems_without_config(
    config_path: Path, config_display: str, registry: Registry
) -> list[Problem]:
    """Return the specs' own problems, plus a note that the config-bound checks wait.

    Returns nothing when `metrics:` itself cannot be read: the config problems
    already say what to fix, and guessing other folders would report on files the
    user never listed.
    """
    from cxengine.spec.loader import load_specs

    paths = spec_paths_of_raw_config(config_path)
    if paths is None:
        return []
    models = registry.spec_models()  # imports only the kinds the specs name
    _, problems = load_specs(paths, models, project=None)
    note = Problem(
        config_display,
        1,
        "",
        "the metric specs were checked on their own; their datasets and fields are "
        "checked once this file is valid",
        "warning",
    )
    return [*problems, note]
