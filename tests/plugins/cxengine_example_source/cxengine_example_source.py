"""A third-party source: survey answers from a 'helpdesk export' given as Python rows.

It yields plain dicts, the simplest shape a source can return; cxengine batches
them into DuckDB, types the fields and counts rejects exactly as for a CSV file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cxengine.api import SourceContext, SourceData, hookimpl


class HelpdeskOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tickets: int = Field(100, description="how many tickets the fake export holds")


class HelpdeskSource:
    name = "example_helpdesk"
    description = "Example third-party source: a fake helpdesk export of CSAT answers."
    options_model = HelpdeskOptions

    def open(self, context: SourceContext) -> SourceData:
        count = int(context.options.get("tickets", 100))

        def rows() -> Iterator[dict[str, Any]]:
            for i in range(count):
                # Every fifth answer is a 5, the rest 3: CSAT (4–5) is exactly 20 %.
                yield {
                    "ticket": f"T{i}",
                    "score": 5 if i % 5 == 0 else 3,
                    "team": "a" if i % 2 else "b",
                }

        return SourceData(rows=rows(), origin=f"helpdesk export ({count} tickets)")


@hookimpl
def register_sources(register: Callable[..., None]) -> None:
    register(HelpdeskSource())
