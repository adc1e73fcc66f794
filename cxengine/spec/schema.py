"""JSON Schema of the spec format and of cxengine.yaml, generated from the models.

Editors (VS Code's YAML extension, JetBrains) use it to autocomplete and check specs
as they are typed. It is built from the same pydantic models that validate specs, so
the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from cxengine.config import ProjectModel
from cxengine.spec.models import MetricSpec

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def spec_schema(spec_models: Mapping[str, type[MetricSpec]]) -> dict[str, Any]:
    """Return the JSON Schema of one metric spec (a union over every registered kind)."""
    models = tuple(spec_models[k] for k in sorted(spec_models))
    if len(models) == 1:
        adapter: TypeAdapter[Any] = TypeAdapter(models[0])
    else:
        # A union built at run time from the registered kinds: no static type to check.
        union = Annotated[Union[models], Field(discriminator="kind")]  # type: ignore[valid-type]  # noqa: UP007
        adapter = TypeAdapter(union)
    schema = adapter.json_schema()
    return {"$schema": SCHEMA_DIALECT, "title": "cxengine metric spec", **schema}


def config_schema() -> dict[str, Any]:
    """Return the JSON Schema of cxengine.yaml."""
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "cxengine project config",
        **ProjectModel.model_json_schema(),
    }
