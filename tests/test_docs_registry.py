"""Everything a plugin can register has its documentation, found from the registry.

Not hand-written lists: the test iterates what the built-in plugins register (kinds,
sources, reporters) and the hook specifications, so a new kind without a page, a
source missing from docs/sources.md or a hook missing from docs/plugins.md fails here.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from cxengine import hookspecs
from cxengine.plugins import Registry, get_registry
from cxengine.spec.models import MetricSpec

DOCS = Path(__file__).resolve().parent.parent / "docs"
REGISTRY: Registry = get_registry(load_entry_points=False)
BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)
COMMON = set(MetricSpec.model_fields) | {"unit"}
#: Keys a kind shares with another kind and documents on that kind's page.
DOCUMENTED_WITH = {"churn": "retention"}


def own_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """The keys a kind adds to every spec, with the keys of its list items (`items[].field`)."""
    keys = set()
    for name, info in model.model_fields.items():
        if not prefix and (name in COMMON or name == "kind"):
            continue
        keys.add(f"{prefix}{name}")
        args = getattr(info.annotation, "__args__", ())
        for arg in args:
            if isinstance(arg, type) and issubclass(arg, BaseModel) and name == "items":
                keys |= own_keys(arg, f"{prefix}{name}[].")
    return keys


def page_text(kind: str) -> str:
    text = (DOCS / "kinds" / f"{kind}.md").read_text(encoding="utf-8")
    if kind in DOCUMENTED_WITH:
        text += (DOCS / "kinds" / f"{DOCUMENTED_WITH[kind]}.md").read_text(encoding="utf-8")
    return text


@pytest.mark.parametrize("kind", sorted(REGISTRY.aggregations))
def test_every_kind_has_a_page_naming_every_key(kind: str) -> None:
    page = DOCS / "kinds" / f"{kind}.md"
    assert page.is_file(), f"kind {kind!r} has no page docs/kinds/{kind}.md"
    text = page_text(kind)
    model = REGISTRY.aggregation(kind).spec_model
    missing = sorted(k for k in own_keys(model) if f"`{k}`" not in text)
    assert missing == [], f"docs/kinds/{kind}.md does not describe {missing}"


@pytest.mark.parametrize("kind", sorted(REGISTRY.aggregations))
def test_every_kind_page_shows_an_example_that_validates(kind: str) -> None:
    text = (DOCS / "kinds" / f"{kind}.md").read_text(encoding="utf-8")
    examples = [b for b in map(yaml.safe_load, BLOCK.findall(text)) if isinstance(b, dict)]
    mine = [b for b in examples if b.get("kind") == kind]
    assert mine, f"docs/kinds/{kind}.md shows no example spec of kind {kind!r}"
    for raw in examples:
        if "kind" in raw:
            model = REGISTRY.aggregation(str(raw["kind"])).spec_model
            defaults = {} if raw["kind"] == "formula" else {"dataset": "tickets"}
            model.model_validate({**defaults, "name": "example", **raw})


def test_every_page_is_a_registered_kind() -> None:
    pages = {p.stem for p in (DOCS / "kinds").glob("*.md")}
    assert pages - set(REGISTRY.aggregations) == set()


@pytest.mark.parametrize("source", sorted(REGISTRY.sources))
def test_every_source_has_a_section_naming_its_options(source: str) -> None:
    text = (DOCS / "sources.md").read_text(encoding="utf-8")
    assert f"## `{source}`" in text, f"docs/sources.md has no section for {source!r}"
    section = text.split(f"## `{source}`", 1)[1].split("\n## ", 1)[0]
    options = REGISTRY.source(source).options_model.model_fields
    missing = sorted(o for o in options if f"`{o}`" not in section)
    assert missing == [], f"docs/sources.md, {source}: options {missing} are not described"


@pytest.mark.parametrize("reporter", sorted(REGISTRY.reporters))
def test_every_reporter_is_described(reporter: str) -> None:
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    assert f"`{reporter}` (" in text, f"docs/plugins.md does not describe reporter {reporter!r}"


@pytest.mark.parametrize(
    "hook",
    [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("register_")],
)
def test_every_hook_is_documented(hook: str) -> None:
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    assert f"### `{hook}(" in text, f"docs/plugins.md does not document the hook {hook}"
