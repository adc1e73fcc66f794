"""A helpdesk export source, a "share within a limit" kind and an urgency tagger.

Small on purpose: it exists so that the test module shown in docs/plugins.md
("Testing with cxengine.testing") runs for real in cxengine's test suite.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlglot import exp

from cxengine.api import (
    Alternative,
    CompileContext,
    EnrichRequest,
    Estimate,
    Exclusion,
    MetricSpec,
    NoTest,
    SourceContext,
    SourceData,
    TestResult,
    compare_shares,
    hookimpl,
)

COLUMNS = {
    "id": "ticket_id",
    "created": "created_at",
    "first_reply": "first_response_at",
    "channel": "channel",
    "rating": "satisfaction",
}


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str


class HelpdeskSource:
    name = "my_helpdesk"
    description = "semicolon-separated helpdesk export"
    options_model = Options

    def open(self, context: SourceContext) -> SourceData:
        path = context.resolve(context.options["path"])
        label = str(context.options["path"])
        lines: list[int] = []

        def rows() -> Iterator[dict[str, Any]]:
            with path.open(encoding="utf-8", newline="") as fh:
                reader = csv.reader(fh, delimiter=";")
                header = [COLUMNS.get(h, h) for h in next(reader)]
                start = reader.line_num + 1
                for record in reader:
                    lines.append(start)
                    start = reader.line_num + 1
                    yield {k: v or None for k, v in zip(header, record, strict=False)}

        def locate(indexes: Sequence[int]) -> Mapping[int, str]:
            return {i: f"{label}:{lines[i]}" for i in indexes}

        return SourceData(rows=rows(), origin=label, locate=locate)


class SlaSpec(MetricSpec):
    kind: Literal["sla_share"]
    field: str
    limit: float = Field(description="values at or below it are within the SLA")


class SlaShare:
    name = "sla_share"
    description = "share of values within a limit, in %"
    spec_model = SlaSpec
    higher_is_better = True

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, SlaSpec)
        return {spec.field: ("integer", "number")}

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        return []

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert isinstance(spec, SlaSpec)
        x = ctx.column(spec.field)
        within = exp.LTE(this=x.copy(), expression=exp.Literal.number(spec.limit))
        one = exp.Case(ifs=[exp.If(this=within, true=exp.Literal.number(1))],
                       default=exp.Literal.number(0))  # fmt: skip
        return {"n": exp.Count(this=x.copy()), "positive": exp.Sum(this=one)}

    def estimate(self, spec: MetricSpec, counts: Mapping[str, float | None]) -> Estimate:
        n = int(counts.get("n") or 0)
        if not n:
            return Estimate(None, 0)
        return Estimate(100 * float(counts.get("positive") or 0) / n, n)

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | int | None],
        current: Mapping[str, float | int | None],
        alternative: Alternative,
    ) -> TestResult | NoTest:
        return compare_shares(baseline, current, alternative)


class UrgencyTagger:
    name = "urgency"
    description = "tags comments that say they are urgent"

    def version(self, options: Mapping[str, Any]) -> str:
        return "1"

    def themes(self, options: Mapping[str, Any]) -> Sequence[str]:
        return ["urgent"]

    def enrich(self, request: EnrichRequest) -> list[dict[str, Any]]:
        return [{"themes": ["urgent"] if "urgent" in t.lower() else []} for t in request.texts]


@hookimpl
def register_sources(register: Callable[..., None]) -> None:
    register(HelpdeskSource())


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(SlaShare())


@hookimpl
def register_enrichers(register: Callable[..., None]) -> None:
    register(UrgencyTagger())
