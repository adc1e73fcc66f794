"""Docs that cannot drift: each kind page names every key its spec model accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from cxengine.default_plugins.aggregations.churn import Churn
from cxengine.default_plugins.aggregations.formula import Formula
from cxengine.default_plugins.aggregations.repeat_purchase import RepeatPurchase
from cxengine.default_plugins.aggregations.retention import Retention
from cxengine.default_plugins.aggregations.weighted_index import IndexItem, WeightedIndex
from cxengine.spec.models import MetricSpec

DOCS = Path(__file__).resolve().parent.parent / "docs"
KINDS = [Retention(), Churn(), RepeatPurchase(), WeightedIndex(), Formula()]
COMMON = set(MetricSpec.model_fields) | {"unit"}


def own_keys(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields) - COMMON - {"kind"}


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_kind_page_documents_every_key(kind: object) -> None:
    page = DOCS / "kinds" / f"{kind.name}.md"  # type: ignore[attr-defined]
    assert page.is_file(), f"{page} is missing"
    text = page.read_text(encoding="utf-8")
    keys = own_keys(kind.spec_model)  # type: ignore[attr-defined]
    if kind.name == "churn":  # type: ignore[attr-defined]
        keys |= own_keys(Retention.spec_model) - {"method"}  # documented on retention.md
        text += (DOCS / "kinds" / "retention.md").read_text(encoding="utf-8")
    if kind.name == "weighted_index":  # type: ignore[attr-defined]
        keys |= {f"items[].{k}" for k in IndexItem.model_fields}
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, f"{page.name} does not document {missing}"
    for section in ("## Parameters", "## Example"):
        assert section in text


def test_every_kind_page_is_listed_in_the_spec_language_page() -> None:
    specs = (DOCS / "specs.md").read_text(encoding="utf-8")
    for kind in KINDS:
        assert f"(kinds/{kind.name}.md)" in specs  # type: ignore[attr-defined]


def yaml_blocks(page: Path) -> list[str]:
    parts = page.read_text(encoding="utf-8").split("```yaml\n")[1:]
    return [p.split("```", 1)[0] for p in parts]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_example_specs_on_the_kind_pages_are_valid(kind: object) -> None:
    import yaml

    from cxengine.plugins import get_registry

    models = {
        n: a.spec_model for n, a in get_registry(load_entry_points=False).aggregations.items()
    }
    blocks = yaml_blocks(DOCS / "kinds" / f"{kind.name}.md")  # type: ignore[attr-defined]
    specs = [yaml.safe_load(b) for b in blocks]
    specs = [s for s in specs if isinstance(s, dict) and "kind" in s]
    assert specs, "the page has no example spec"
    for spec in specs:
        models[spec["kind"]].model_validate(spec)
