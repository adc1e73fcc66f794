"""The `json` source: a file holding one top-level array of objects (locator `file[index]`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cxengine import hookimpl
from cxengine.dataset.files import input_file
from cxengine.default_plugins.sources._json import open_json
from cxengine.interfaces import SourceContext, SourceData


class JsonOptions(BaseModel):
    """Options of the json source."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        description="the JSON file (a top-level array of objects), relative to cxengine.yaml"
    )


class JsonSource:
    """A JSON array of objects; elements that are not objects are rejected."""

    name = "json"
    description = "a JSON file holding an array of objects; non-object elements rejected by index"
    options_model = JsonOptions

    def input_files(self, context: SourceContext) -> list[Path]:
        """Return the file the rows are read from (for the rerun cache)."""
        opts = JsonOptions.model_validate(context.options)
        return [input_file(context, opts.path)]

    def open(self, context: SourceContext) -> SourceData:
        """Describe how DuckDB reads the file."""
        opts = JsonOptions.model_validate(context.options)
        return open_json(context, opts.path, lines=False)


@hookimpl
def register_sources(register: Callable[..., None]) -> None:
    """Register the json source."""
    register(JsonSource())
