"""`cxengine plugin new`: write a ready plugin package from the bundled template.

The template (`cxengine/plugin_template/`) is rendered with copier rather than
cookiecutter: copier records the answers in the generated package
(`.copier-answers.yml`), so `copier update` later merges template fixes into a plugin
that has since been edited — cookiecutter can only generate once. Copier also takes
the answers as data from Python (no prompts, no hooks run: template tasks stay off),
validates choices, and is a pure-Python package from PyPI.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from cxengine.errors import ConfigError

TEMPLATE = Path(__file__).resolve().parent / "plugin_template"
TYPES = ("source", "kind", "reporter", "enricher", "engine")
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


@dataclass
class NewPlugin:
    """What `new_plugin` wrote."""

    name: str
    plugin_type: str
    path: Path
    distribution: str
    module: str
    entry_name: str
    files: list[str] = field(default_factory=list)  # relative to path, sorted

    def as_dict(self) -> dict[str, object]:
        """The JSON form (`--json`)."""
        return {
            "name": self.name,
            "type": self.plugin_type,
            "path": str(self.path),
            "distribution": self.distribution,
            "module": self.module,
            "entry_point": self.entry_name,
            "files": self.files,
        }


def check_name(name: str) -> str:
    """Return the name if it can name a package and an entry point; ConfigError if not."""
    if not _NAME.match(name):
        raise ConfigError(
            f"plugin name {name!r}: use lower-case letters, digits and single dashes, "
            "starting with a letter (e.g. my-helpdesk)"
        )
    if name.startswith("cxengine-"):
        raise ConfigError(
            f"plugin name {name!r}: leave out the 'cxengine-' prefix; the package is "
            f"called cxengine-{name.removeprefix('cxengine-')} anyway"
        )
    return name


def _not_yet(plugin_type: str) -> str:
    from cxengine import hookspecs

    if plugin_type == "engine" and not hasattr(hookspecs, "register_engines"):
        return (
            "plugin type 'engine': this cxengine has no engine hook (register_engines) "
            "yet, so an engine plugin could not register; the engine template comes with it"
        )
    return f"plugin type {plugin_type!r}: no template for it in this cxengine"


def new_plugin(
    name: str,
    plugin_type: str,
    parent: Path,
    *,
    description: str | None = None,
    cxengine_requirement: str | None = None,
) -> NewPlugin:
    """Render the template for ``name`` into ``parent/cxengine-<name>``.

    Raises ConfigError for a bad name or type, or a target folder that is not empty.
    """
    check_name(name)
    if plugin_type not in TYPES:
        raise ConfigError(f"plugin type {plugin_type!r}: choose one of {', '.join(TYPES)}")
    if not (TEMPLATE / "template" / "_types" / plugin_type).is_dir():
        raise ConfigError(_not_yet(plugin_type))
    target = parent / f"cxengine-{name}"
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError(f"{target} already exists and is not empty; choose another name")
    try:
        from copier import run_copy
    except ImportError:  # an optional dependency: only this command needs it
        raise ConfigError(
            "`cxengine plugin new` needs copier: pip install 'cxengine[kit]'"
        ) from None
    data: dict[str, str] = {"plugin_name": name, "plugin_type": plugin_type}
    if description:
        data["description"] = description
    if cxengine_requirement:
        data["cxengine_requirement"] = cxengine_requirement
    existed = target.exists()
    try:
        run_copy(
            str(TEMPLATE),
            str(target),
            data=data,
            defaults=True,
            unsafe=False,  # never run template tasks or migrations
            quiet=True,
            overwrite=False,
        )
    except BaseException:
        # A half-written package is worse than none: remove what this call created.
        if not existed:
            shutil.rmtree(target, ignore_errors=True)
        raise
    entry = name.replace("-", "_")
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    return NewPlugin(
        name=name,
        plugin_type=plugin_type,
        path=target,
        distribution=f"cxengine-{name}",
        module=f"cxengine_{entry}",
        entry_name=entry,
        files=files,
    )
