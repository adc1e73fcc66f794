"""The `join:` block of a dataset in cxengine.yaml, apart from the code that joins.

The project config validates it; cxengine/dataset/join.py builds the joined table.
Keeping the model here lets the config import it without importing the loader (which
imports the config): no import loop.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class JoinConfig(BaseModel):
    """The `join:` block of a dataset in cxengine.yaml."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", description="dataset whose rows the join keeps")
    to: str = Field(description="dataset linked to each `from` row")
    on: dict[str, str] = Field(
        description="key fields, `from` field: `to` field (several for a composite key)"
    )
    how: Literal["left", "inner"] = Field(
        "left", description="left keeps unmatched `from` rows; inner rejects them"
    )
    expect: Literal["one", "many"] = Field(
        "one", description="one: refuse when a `from` row would match several `to` rows"
    )

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 reads a bare `on:` key as the boolean true.
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data

    @field_validator("on", mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        # `on: ticket_id` or `on: [customer_id, month]`: the same name on both sides.
        if isinstance(value, str):
            return {value: value}
        if isinstance(value, list):
            return {str(v): str(v) for v in value}
        return value

    @field_validator("on")
    @classmethod
    def _not_empty(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("give at least one key field")
        return value
