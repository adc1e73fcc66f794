"""The kind reference pages cannot drift: every example spec in them validates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from cxengine.plugins import get_registry

KINDS = Path(__file__).resolve().parent.parent / "docs" / "kinds"
PAGES = ("duration.md", "distribution.md", "backlog.md", "share.md")
BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def example_specs(page: str) -> list[dict[str, object]]:
    text = (KINDS / page).read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b) for b in BLOCK.findall(text)]
    return [b for b in blocks if isinstance(b, dict) and "kind" in b]


@pytest.mark.parametrize("page", PAGES)
def test_every_example_spec_on_a_kind_page_validates(page: str) -> None:
    registry = get_registry(load_entry_points=False)
    specs = example_specs(page)
    assert specs, f"docs/kinds/{page} shows no example spec"
    for raw in specs:
        model = registry.aggregation(str(raw["kind"])).spec_model
        model.model_validate({"dataset": "tickets", "name": "example", **raw})


@pytest.mark.parametrize("page", PAGES)
def test_a_kind_page_documents_every_key_of_its_kind(page: str) -> None:
    from cxengine.spec.models import MetricSpec

    registry = get_registry(load_entry_points=False)
    kind = page.removesuffix(".md")
    model = registry.aggregation(kind).spec_model
    own = set(model.model_fields) - set(MetricSpec.model_fields)
    text = (KINDS / page).read_text(encoding="utf-8")
    missing = [key for key in sorted(own) if f"`{key}`" not in text]
    assert missing == [], f"docs/kinds/{page} does not describe {missing}"
