"""The `jsonl` source: JSON Lines files, one object per line (locator `file:line`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cxengine import hookimpl
from cxengine.dataset.files import input_file
from cxengine.default_plugins.sources._json import open_json
from cxengine.interfaces import SourceContext, SourceData


class JsonlOptions(BaseModel):
    """Options of the jsonl source."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="the JSON Lines file, relative to cxengine.yaml")


class JsonlSource:
    """JSON Lines: one JSON object per line; lines that do not parse are rejected."""

    name = "jsonl"
    description = "JSON Lines files (one object per line); bad lines rejected with line numbers"
    options_model = JsonlOptions

    def input_files(self, context: SourceContext) -> list[Path]:
        """Return the file the rows are read from (for the rerun cache)."""
        opts = JsonlOptions.model_validate(context.options)
        return [input_file(context, opts.path)]

    def open(self, context: SourceContext) -> SourceData:
        """Describe how DuckDB reads the file."""
        opts = JsonlOptions.model_validate(context.options)
        return open_json(context, opts.path, lines=True)


@hookimpl
def register_sources(register: Callable[..., None]) -> None:
    """Register the jsonl source."""
    register(JsonlSource())
