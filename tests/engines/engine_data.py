"""Putting a project's datasets into an engine, and comparing runs across engines.

The rows go in as the source gave them, every column as text, so the engine types
them itself and must reject exactly what the embedded DuckDB rejects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import yaml

from cxengine.config import load_config
from cxengine.dataset.rows import materialize
from cxengine.interfaces import SourceContext
from cxengine.plugins import get_registry
from cxengine.runner import RunResult

Table = tuple[list[str], list[tuple[str | None, ...]]]


def raw_tables(config_path: Path) -> dict[str, Table]:
    """Every dataset of a project as its source reads it: column names and text rows."""
    project = load_config(config_path)
    registry = get_registry()
    out: dict[str, Table] = {}
    con = duckdb.connect()
    for name, cfg in project.model.datasets.items():
        if cfg.source is None:
            continue  # a join of two others
        source = registry.source(cfg.source)
        options = source.options_model.model_validate(cfg.source_options()).model_dump()
        data = source.open(SourceContext(name, options, project.base_dir))
        every = lambda cols: ", ".join('"' + c.replace('"', '""') + '"' for c in cols)  # noqa: E731
        materialize(con, data, f"raw_{name}", 50_000, every)
        cols = [d[0] for d in con.execute(f'SELECT * FROM "raw_{name}" LIMIT 0').description]
        text = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in cols)
        rows = con.execute(f'SELECT {text} FROM "raw_{name}" ORDER BY rowid').fetchall()
        out[name] = (cols, rows)
    con.close()
    return out


def to_postgres(dsn: str, tables: Mapping[str, Table], schema: str) -> None:
    """Create `schema` with one all-text table per dataset and copy the rows in."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        con.execute(f'CREATE SCHEMA "{schema}"')
        for name, (cols, rows) in tables.items():
            col_sql = ", ".join(f'"{c}" TEXT' for c in cols)
            con.execute(f'CREATE TABLE "{schema}"."{name}" ({col_sql})')
            names = ", ".join(f'"{c}"' for c in cols)
            with con.cursor().copy(f'COPY "{schema}"."{name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)


def to_parquet(tables: Mapping[str, Table], folder: Path) -> dict[str, Path]:
    """Write each dataset as an all-text Parquet file; return the paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (cols, rows) in tables.items():
        columns = {c: pa.array([r[i] for r in rows], pa.string()) for i, c in enumerate(cols)}
        path = folder / f"{name}.parquet"
        pq.write_table(pa.table(columns), path)
        out[name] = path
    return out


def engine_project(
    config_path: Path,
    target: Path,
    engine: str,
    relations: Mapping[str, Mapping[str, str]],
    dsn_env: str | None,
    only: set[str] | None = None,
    without_specs: set[str] = frozenset(),  # type: ignore[assignment]
) -> Path:
    """Write a copy of a project whose datasets live in `engine`; return its config path."""
    doc = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    base = config_path.parent
    doc["database"] = str(target / "cx.db")
    files = []
    for m in doc.get("metrics", ["metric_specs"]):
        p = (base / m).resolve()
        files += sorted(p.glob("*.yaml")) if p.is_dir() else [p]
    doc["metrics"] = [str(f) for f in files if f.stem not in without_specs]
    datasets = {}
    for name, ds in doc["datasets"].items():
        if only is not None and name not in only:
            continue
        if "join" in ds:
            # PyYAML reads the key `on:` as True (YAML 1.1); cxengine's loader does not.
            join = {("on" if k is True else k): v for k, v in ds["join"].items()}
            datasets[name] = {"join": join}
            continue
        if name not in relations:
            continue
        kept = {k: v for k, v in ds.items() if k in ("fields", "key", "null_values", "description")}
        datasets[name] = {"engine": engine, **({"dsn_env": dsn_env} if dsn_env else {}),
                          **relations[name], **kept}  # fmt: skip
    doc["datasets"] = datasets
    target.mkdir(parents=True, exist_ok=True)
    out = target / "cxengine.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def _key(v: Mapping[str, Any]) -> tuple[str, str, str]:
    return (v["metric"], str(v["period"]), repr(sorted(v["slice"].items())))


def assert_same_values(expected: RunResult, actual: RunResult, tol: float = 1e-9) -> int:
    """Every value, interval, n and excluded count equal (numbers to `tol`); return how many."""
    want = {_key(v): v for v in expected.to_json()["values"]}
    got = {_key(v): v for v in actual.to_json()["values"]}
    assert sorted(got) == sorted(want), (
        f"groups differ: only expected {sorted(set(want) - set(got))[:5]}, "
        f"only actual {sorted(set(got) - set(want))[:5]}"
    )
    for key, w in want.items():
        g = got[key]
        for field in ("value", "ci_low", "ci_high"):
            a, b = w[field], g[field]
            if a is None or b is None:
                assert a is None and b is None, (key, field, a, b)
            else:
                assert math.isclose(a, b, rel_tol=tol, abs_tol=tol), (key, field, a, b)
        for field in ("n", "excluded", "low_sample", "note", "grain"):
            assert w[field] == g[field], (key, field, w[field], g[field])
    return len(want)


def assert_same_datasets(expected: RunResult, actual: RunResult) -> None:
    """Rows read, used and rejected, and values rejected per field, equal for every dataset."""
    assert actual.datasets
    for name, other in actual.datasets.items():
        stats = expected.datasets[name]
        assert (other.rows_read, other.rows_used, other.rows_rejected) == (
            stats.rows_read,
            stats.rows_used,
            stats.rows_rejected,
        ), name
        assert dict(other.cells_rejected) == dict(stats.cells_rejected), name
        assert other.rows_with_bad_values == stats.rows_with_bad_values, name
        assert other.join == stats.join, name  # a joined dataset: rows matched per side


_SCHEMAS = iter(range(1_000_000))


def project_on_files(folder: Path, csv_text: str, fields: str, specs: Mapping[str, str]) -> Path:
    """Write a one-dataset project (`responses`, a CSV) with the given specs."""
    import textwrap

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.csv").write_text(textwrap.dedent(csv_text).lstrip(), encoding="utf-8")
    (folder / "metric_specs").mkdir(exist_ok=True)
    for name, text in specs.items():
        (folder / "metric_specs" / f"{name}.yaml").write_text(textwrap.dedent(text), "utf-8")
    config = folder / "cxengine.yaml"
    config.write_text(
        "database: cx.db\nmetrics: [metric_specs]\ndatasets:\n  responses:\n"
        "    source: csv\n    path: data.csv\n    key: id\n    fields:\n"
        + textwrap.indent(textwrap.dedent(fields).strip(), "      ")
        + "\n",
        encoding="utf-8",
    )
    return config


def on_postgres(config: Path, dsn: str, target: Path, env: str = "CX_TEST_PG_DSN") -> Path:
    """Copy a project's datasets into a fresh PostgreSQL schema; return the engine project."""
    schema = f"t{next(_SCHEMAS)}_{target.name.lower()[:20]}".replace("-", "_")
    tables = raw_tables(config)
    to_postgres(dsn, tables, schema)
    relations = {name: {"table": f"{schema}.{name}"} for name in tables}
    return engine_project(config, target, "postgres", relations, env)


def reject_counts(result: RunResult) -> dict[tuple[str, str | None, str | None, str], int]:
    """Rejects per dataset, metric (None: the typing), field and reason.

    An engine stores up to 20 examples per field or reason (the counts are in the
    values and `cells_rejected`): equal to the embedded run's below that.
    """
    out: dict[tuple[str, str | None, str | None, str], int] = {}
    for r in result.rejects:
        key = (r.dataset, r.metric, r.field, r.reason if r.metric else "")
        out[key] = out.get(key, 0) + 1
    return out


PG_TYPES = {
    "integer": "BIGINT",
    "number": "DOUBLE PRECISION",
    "string": "TEXT",
    "datetime": "TIMESTAMP",
    "date": "DATE",
    "boolean": "BOOLEAN",
}


def typed_to_postgres(config_path: Path, dsn: str, schema: str) -> dict[str, str]:
    """Load each dataset with cxengine's own typing and copy its usable rows, natively typed.

    For projects whose text needs what engines do not do (a strptime `format:`): the
    engine then reads timestamps, integers and booleans as such. Returns name → table.
    """
    import psycopg

    from cxengine.session import load_datasets

    project = load_config(config_path)
    con = duckdb.connect()
    loaded = load_datasets(con, project, get_registry(), set(project.model.datasets))
    out = {}
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        pg.execute(f'CREATE SCHEMA "{schema}"')
        for name, ds in loaded.items():
            cols = list(ds.fields)
            pg.execute(
                f'CREATE TABLE "{schema}"."{name}" ('
                + ", ".join(f'"{c}" {PG_TYPES[ds.fields[c]]}' for c in cols)
                + ")"
            )
            rows = con.execute(
                f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "{ds.table}" '
                "ORDER BY _cx_row"
            ).fetchall()
            names = ", ".join(f'"{c}"' for c in cols)
            with pg.cursor().copy(f'COPY "{schema}"."{name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
            out[name] = f"{schema}.{name}"
    con.close()
    return out
