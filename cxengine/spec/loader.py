"""Reading metric spec files: safe YAML, one model per kind, every problem located.

Validation comes in layers (after MetricFlow): the schema of each file, with file and
line; then the semantic rules that need the project config (datasets, fields,
filters, duplicate names); checks against real data live in `cxengine.validate`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cxengine.config import ProjectConfig, problems_from_validation
from cxengine.errors import Problem, did_you_mean, known_list
from cxengine.spec.models import MetricSpec
from cxengine.yamlsafe import KeyPath, Positions, YamlProblems, format_path, load_file

SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass
class LoadedSpec:
    """A validated spec with where it came from."""

    spec: MetricSpec
    file: str
    positions: Positions
    prefix: KeyPath  # () for one spec per file, ("metrics", i) for a list
    text_hash: str

    @property
    def name(self) -> str:
        return self.spec.name

    def problem(self, path: KeyPath, message: str, severity: str = "error") -> Problem:
        """Make a problem located at a key path inside this spec."""
        return self.positions.problem((*self.prefix, *path), message, severity)


def discover_spec_files(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    """Expand files and folders (recursively) into spec files, sorted for stable order."""
    files: list[Path] = []
    problems: list[Problem] = []
    for p in paths:
        if p.is_dir():
            files.extend(
                sorted(f for f in p.rglob("*") if f.suffix in SPEC_SUFFIXES and f.is_file())
            )
        elif p.is_file():
            files.append(p)
        else:
            problems.append(Problem(display_path(p), 0, "", "spec file or folder not found"))
    return files, problems


def load_specs(
    paths: Sequence[Path],
    spec_models: Mapping[str, type[MetricSpec]],
    project: ProjectConfig | None = None,
    partial: list[LoadedSpec] | None = None,
) -> tuple[list[LoadedSpec], list[Problem]]:
    """Load every spec under `paths`; return the valid specs and all problems found.

    `partial` receives, for each invalid spec, what of it is valid (its bad keys left
    out), so the semantic checks can report the rest of its mistakes in the same pass.
    """
    files, problems = discover_spec_files(paths)
    specs: list[LoadedSpec] = []
    for file in files:
        loaded, found = load_spec_file(file, spec_models, project, partial)
        specs.extend(loaded)
        problems.extend(found)
    problems.extend(_duplicate_names(specs))
    return specs, problems


def load_spec_file(
    file: Path,
    spec_models: Mapping[str, type[MetricSpec]],
    project: ProjectConfig | None = None,
    partial: list[LoadedSpec] | None = None,
) -> tuple[list[LoadedSpec], list[Problem]]:
    """Load one file holding one spec, or `metrics:` with a list of specs."""
    display = display_path(file)
    try:
        data, positions = load_file(file, display)
    except YamlProblems as exc:
        return [], exc.problems
    text_hash = hashlib.sha256(file.read_bytes()).hexdigest()
    if data is None:
        return [], [Problem(display, 1, "", "the file is empty")]
    entries: list[tuple[KeyPath, Any]]
    if isinstance(data, dict) and "metrics" in data and "name" not in data:
        items = data["metrics"]
        if not isinstance(items, list):
            return [], [positions.problem(("metrics",), "`metrics` must be a list of specs")]
        entries = [(("metrics", i), item) for i, item in enumerate(items)]
        extra = sorted(set(data) - {"metrics"})
        bad = [positions.problem((k,), f"unknown key {k!r} beside `metrics`") for k in extra]
        if not items:
            # Not an error (a placeholder file is harmless), but never silent.
            bad.append(positions.problem(("metrics",), "the file defines no metric", "warning"))
    else:
        entries, bad = [((), data)], []
    specs, problems = [], list(bad)
    for prefix, raw in entries:
        spec, found = _validate_one(raw, prefix, positions, spec_models, project)
        problems.extend(found)
        if spec is not None:
            specs.append(LoadedSpec(spec, display, positions, prefix, text_hash))
        elif partial is not None and found:
            valid_part = _valid_part(raw, prefix, spec_models, project, found, positions)
            if valid_part is not None:
                partial.append(LoadedSpec(valid_part, display, positions, prefix, text_hash))
    return specs, problems


def _valid_part(
    raw: Any,
    prefix: KeyPath,
    spec_models: Mapping[str, type[MetricSpec]],
    project: ProjectConfig | None,
    problems: list[Problem],
    positions: Positions,
) -> MetricSpec | None:
    """Return the spec without the top-level keys that have problems (None: not valid)."""
    if not isinstance(raw, dict) or raw.get("kind") not in spec_models:
        return None
    shown = format_path(prefix)
    bad = {p.path.removeprefix(shown).lstrip(".").split(".")[0].split("[")[0] for p in problems}
    if "" in bad:
        return None  # a problem with the spec as a whole
    rest = {k: v for k, v in raw.items() if k not in bad}
    spec, found = _validate_one(rest, prefix, positions, spec_models, project)
    return spec if not found else None


def _validate_one(
    raw: Any,
    prefix: KeyPath,
    positions: Positions,
    spec_models: Mapping[str, type[MetricSpec]],
    project: ProjectConfig | None,
) -> tuple[MetricSpec | None, list[Problem]]:
    if not isinstance(raw, dict):
        return None, [
            positions.problem(prefix, "a metric spec must be a mapping of keys to values")
        ]
    kind = raw.get("kind")
    if kind is None:
        return None, [
            positions.problem(
                prefix, f"required key 'kind' is missing; known kinds: {known_list(spec_models)}"
            )
        ]
    if not isinstance(kind, str) or kind not in spec_models:
        return None, [
            positions.problem(
                (*prefix, "kind"),
                f"{kind!r} is not a known metric kind{did_you_mean(str(kind), list(spec_models))}. "
                f"Known kinds: {known_list(spec_models)}",
            )
        ]
    model = spec_models[kind]
    values = dict(raw)
    if project is not None:
        # Project-wide defaults fill what the spec leaves out.
        values.setdefault("min_n", project.model.min_n)
        values.setdefault("confidence", project.model.confidence)
    try:
        return model.model_validate(values), []
    except ValidationError as exc:
        return None, problems_from_validation(exc, positions, prefix, model=model)


def _duplicate_names(specs: list[LoadedSpec]) -> list[Problem]:
    seen: dict[str, LoadedSpec] = {}
    problems = []
    for s in specs:
        if s.name in seen:
            first = seen[s.name]
            problems.append(
                s.problem(
                    ("name",),
                    f"metric {s.name!r} is already defined in "
                    f"{first.file}:{first.positions.line((*first.prefix, 'name'))}",
                )
            )
        else:
            seen[s.name] = s
    return problems


def display_path(path: Path) -> str:
    """Show a path relative to the working folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
