"""All specs of a dataset in one grouped query: the same results as a query per spec.

The DuckDB engine answers specs that read the same rows with the same grouping by
one scan (cxengine/compute/merged.py). The Plan stays the contract: every value,
count, interval and excluded row must be exactly what the spec's own query gives.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
from sqlglot import exp

from cxengine.compute import merged
from cxengine.compute.engine import plan_spec, run_plan, run_plans
from cxengine.compute.plan import Plan
from cxengine.config import load_config
from cxengine.interfaces import DerivedKind
from cxengine.linkage import spec_table
from cxengine.plugins import get_registry
from cxengine.runner import load_project_specs
from cxengine.scaffold import init_project
from cxengine.session import Session


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("merged")
    init_project(root, rows=1500)
    project = load_config(root / "cxengine.yaml")
    registry = get_registry()
    specs = [s.spec for s in load_project_specs(project, registry)[0]]
    session = Session(project, registry)
    session.load({s.dataset for s in specs if s.dataset in project.model.datasets})
    session.lock_down()
    yield session, specs
    session.close()


def _plans(session: Session, specs: list[Any]) -> list[Plan]:
    plans = []
    for spec in specs:
        kind = session.registry.aggregation(spec.kind)
        if isinstance(kind, DerivedKind):
            continue
        ds = session.datasets[spec.dataset]
        table, types = spec_table(session.con, spec, ds.table, ds.fields)
        plan = plan_spec(spec, kind, table, types, session.field_zones(spec.dataset))
        if plan.prepare is None:  # a prepared kind's first plan builds its table first
            plans.append(plan)
    return plans


def test_every_demo_spec_gets_from_the_shared_query_what_its_own_query_gives(demo: Any) -> None:
    session, specs = demo
    plans = _plans(session, specs)
    groups = merged.group_plans(plans)
    assert any(len(g) >= 3 for g in groups), "the survey specs share their rows and grouping"
    together = run_plans(session.con, plans)
    assert len(together) == len(plans)
    for plan, result in zip(plans, together, strict=True):
        alone = run_plan(session.con, plan)
        assert result.spec is plan.spec
        assert result.values == alone.values, plan.spec.name
        assert result.excluded == alone.excluded, plan.spec.name


def test_specs_with_other_rows_or_groups_do_not_share_a_query(demo: Any) -> None:
    session, specs = demo
    plans = _plans(session, specs)
    groups = merged.group_plans(plans)
    for group in groups:
        members = [plans[i] for i in group]
        assert len({merged.merge_key(p) for p in members}) == 1
        if len(members) > 1:
            assert all(merged.mergeable(p) for p in members)
    by_key = {merged.merge_key(p) for p in plans if merged.mergeable(p)}
    assert len(by_key) == len([g for g in groups if merged.mergeable(plans[g[0]])])


def test_a_filtered_copy_of_a_spec_is_computed_apart_and_right(demo: Any) -> None:
    session, specs = demo
    csat = next(s for s in specs if s.name == "csat")
    filtered = csat.model_copy(update={"name": "csat_web", "where": "channel = 'web'"})
    plans = _plans(session, [csat, filtered])
    assert len(merged.group_plans(plans)) == 2  # other rows: no shared query
    together = run_plans(session.con, plans)
    assert [r.values for r in together] == [run_plan(session.con, p).values for p in plans]


def test_session_computes_shared_specs_once_and_hands_each_its_own(demo: Any) -> None:
    session, specs = demo
    own = [session.compute(s) for s in specs if s.name in {"csat", "nps", "ces"}]
    chosen = [s for s in specs if s.name in {"csat", "nps", "ces"}]
    session.compute_together(chosen)
    assert set(session._ready) == {"csat", "nps", "ces"}
    shared = [session.compute(s) for s in chosen]
    assert not session._ready  # each handed out once
    assert [r.values for r in shared] == [r.values for r in own]
    assert [r.excluded for r in shared] == [r.excluded for r in own]


def test_a_shared_query_that_fails_leaves_each_spec_to_its_own(
    demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    session, specs = demo
    chosen = [s for s in specs if s.name in {"csat", "nps"}]

    def broken(*args: object) -> None:
        raise duckdb.Error("boom")

    monkeypatch.setattr("cxengine.compute.engine.run_plans", broken)
    session.compute_together(chosen)
    assert session._ready == {}
    assert session.compute(chosen[0]).values  # computed on its own


def test_the_excluded_rows_of_all_specs_come_from_one_scan(
    demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    session, specs = demo
    plans = [p for p in _plans(session, specs) if p.table == "ds_responses"]
    plans = [p for p in plans if merged.mergeable(p)]
    statements: list[str] = []
    real = duckdb.DuckDBPyConnection.execute

    class Counting:
        def __init__(self, con: duckdb.DuckDBPyConnection):
            self.con = con

        def execute(self, sql: str, *args: Any) -> Any:
            statements.append(sql)
            return real(self.con, sql, *args)

    group = max(merged.group_plans(plans), key=len)
    members = [plans[i] for i in group]
    results = run_plans(Counting(session.con), members)  # type: ignore[arg-type]
    assert len(statements) == 2  # the grouped query and the excluded rows, for all of them
    assert sum(len(r.excluded) for r in results) == sum(
        len(run_plan(session.con, p).excluded) for p in members
    )


def test_a_count_with_a_subquery_is_not_merged(demo: Any) -> None:
    session, specs = demo
    plan = next(p for p in _plans(session, specs) if p.spec.name == "csat")
    assert merged.mergeable(plan)

    class WithSubquery:
        def __getattr__(self, name: str) -> Any:
            return getattr(plan.kind, name)

        def counts(self, spec: Any, ctx: Any) -> dict[str, Any]:
            from sqlglot import exp

            inner = exp.select(exp.Max(this=exp.column("satisfaction"))).from_("ds_responses")
            return {"n": exp.Subquery(this=inner)}

    odd = Plan(**{**plan.__dict__, "kind": WithSubquery()})
    assert not merged.mergeable(odd)


def test_specs_that_exclude_alike_share_their_nulled_columns(demo: Any) -> None:
    """CSAT and its mean exclude the same out-of-scale answers: computed once in the base."""
    session, specs = demo
    plans = [p for p in _plans(session, specs) if p.spec.name in ("csat", "csat_mean")]
    assert len(plans) == 2 and merged.merge_key(plans[0]) == merged.merge_key(plans[1])
    query = merged.build_merged_query(plans)
    base = query.find(exp.Subquery)
    assert base is not None
    defined = [e.alias for e in base.this.expressions if e.alias.startswith("_cx_m")]
    # One nulled copy of the field and one excluded flag, read by both specs.
    assert sorted(defined) == ["_cx_m0_excluded", "_cx_m0_f0"]
    assert "_cx_m1_" not in base.sql(dialect="duckdb")
    for plan, result in zip(plans, run_plans(session.con, plans), strict=True):
        alone = run_plan(session.con, plan)
        assert (result.values, result.excluded) == (alone.values, alone.excluded)
