"""The `spark` engine: specs computed by Apache Spark SQL, only aggregates collected.

The connection string (from `dsn_env`, default ``local[*]``) is a Spark master URL:
``local[2]``, ``spark://host:7077``, ``yarn``; or a Spark Connect URL ``sc://host:15002``.
The session runs in UTC with ANSI mode off (a value that does not cast is NULL, as
DuckDB's TRY_CAST, and becomes a reject). cxengine's naive timestamps are Spark's
TIMESTAMP_NTZ; a TIMESTAMP (instant) column is converted into the field's zone.
Spark has no read-only session: cxengine only ever sends the SELECTs it renders, and
a dataset's `query:` must be one SELECT. pyspark is imported only when used.
"""

from __future__ import annotations

import contextlib
import re
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from cxengine import hookimpl
from cxengine.engines.api import NotPortable, RelationOptions

if TYPE_CHECKING:
    from sqlglot import exp
else:  # a built-in plugin: registering it must not import sqlglot (see cxengine/lazy.py)
    from cxengine.lazy import exp

#: Session settings cxengine's SQL relies on (periods in UTC, failed casts as NULL).
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
}


class SparkOptions(RelationOptions):
    """A Spark dataset: `table` (a catalog table or view) or `query` (one SELECT).

    Parquet files can be read without a catalog: ``query: SELECT * FROM
    parquet.`/data/responses.parquet```.
    """


def _kind(data_type: Any) -> str:
    name = type(data_type).__name__
    return {
        "StringType": "text",
        "VarcharType": "text",
        "CharType": "text",
        "ByteType": "int",
        "ShortType": "int",
        "IntegerType": "int",
        "LongType": "int",
        "FloatType": "float",
        "DoubleType": "float",
        "DecimalType": "decimal",
        "BooleanType": "bool",
        "TimestampType": "timestamptz",
        "TimestampNTZType": "timestamp",
        "DateType": "date",
    }.get(name, "other")


class SparkSessionHandle:
    """A Spark SQL session; stopped on close only when cxengine started it."""

    def __init__(self, master: str, timeout_s: float):
        from pyspark.sql import SparkSession

        self.timeout_s = timeout_s
        active = SparkSession.getActiveSession()
        if active is not None:
            self.spark = active
            self._owned = False
        else:
            builder = SparkSession.builder.appName("cxengine")
            if master.startswith("sc://"):
                builder = builder.remote(master)
            else:
                builder = builder.master(master).config("spark.ui.enabled", "false")
            self.spark = builder.getOrCreate()
            self._owned = True
        self._views: list[str] = []
        self._schemas: dict[str, dict[str, str]] = {}  # a bound view's column kinds
        for key, value in SESSION_CONF.items():
            self.spark.conf.set(key, value)
        #: Functions of the engine this server's Spark lacks: min_by(x, ord, k) is 4.2+.
        self.missing_functions = frozenset(() if _version(self.spark) >= (4, 2) else ("min_by",))

    def bind(self, relation: str) -> str:
        """Resolve a dataset's relation once; return the name later queries read it by.

        Spark resolves `parquet.`…`` or a catalog table anew for every query that
        names it (listing the files, reading their footers: 0.15-0.2 s a query at 1M
        rows). Bound once as a temporary view of this session (no data is copied or
        written), each query of the run reuses the resolved relation. Dropped on close.
        """
        name = f"_cx_rel_{uuid.uuid4().hex}"
        bound = self.spark.sql(f"SELECT * FROM {relation} AS _cx_bound")
        bound.createOrReplaceTempView(name)
        self._views.append(name)
        # Its columns are known now: the schema probe of the bound name that follows
        # needs no second analysis of the relation (0.1-0.4 s at 1M rows).
        self._schemas[f"`{name}`"] = {f.name: _kind(f.dataType) for f in bound.schema.fields}
        return f"`{name}`"

    def schema(self, relation: str) -> dict[str, str]:
        known = self._schemas.get(relation)
        if known is not None:
            return dict(known)
        df = self.spark.sql(f"SELECT * FROM {relation} AS _cx_probe LIMIT 0")
        return {f.name: _kind(f.dataType) for f in df.schema.fields}

    def fetch(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        df = self.spark.sql(sql)
        rows = self._collect(df)
        return list(df.columns), [tuple(r) for r in rows]

    def _collect(self, df: Any) -> list[Any]:
        context = getattr(self.spark, "sparkContext", None)
        if context is None:  # Spark Connect: no job groups to cancel
            return list(df.collect())
        group = f"cxengine-{uuid.uuid4().hex}"
        context.setJobGroup(group, "cxengine query", interruptOnCancel=True)
        timer = threading.Timer(self.timeout_s, context.cancelJobGroup, args=(group,))
        timer.start()
        try:
            return list(df.collect())
        finally:
            timer.cancel()
            context.setLocalProperty("spark.jobGroup.id", None)

    def close(self) -> None:
        for name in self._views:
            with contextlib.suppress(Exception):
                self.spark.catalog.dropTempView(name)
        self._views.clear()
        self._schemas.clear()
        if self._owned:
            self.spark.stop()


def _version(spark: Any) -> tuple[int, ...]:
    """The Spark version of a session as numbers, (4, 2) for "4.2.0-preview"; () unknown."""
    try:
        found = re.match(r"(\d+)\.(\d+)", str(spark.version))
    except Exception:  # a Connect server that cannot tell: assume the oldest
        return ()
    return (int(found[1]), int(found[2])) if found else ()


def is_instant(node: exp.Expression) -> bool:
    """True when an expression is a time with a zone (TIMESTAMPTZ), not a naive one.

    cxengine's columns are naive; an explicit CAST to TIMESTAMPTZ is an instant, and
    each `AT TIME ZONE` turns one kind into the other.
    """
    if isinstance(node, exp.Paren):
        return is_instant(node.this)
    if isinstance(node, exp.AtTimeZone):
        return not is_instant(node.this)
    if isinstance(node, exp.Cast):
        return node.to.this in (exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ)
    return False


class SparkEngine:
    """Apache Spark SQL through pyspark (classic or Spark Connect)."""

    name = "spark"
    description = "Apache Spark SQL: specs run in the cluster, only aggregates collected"
    dialect = "spark"
    options_model: type[BaseModel] = SparkOptions
    functions = frozenset(
        {"date_trunc", "grouping_id", "unix_micros", "from_utc_timestamp", "to_utc_timestamp",
         # min_by(x, ord, k): the x of the k smallest ord, as DuckDB's (Spark 4+). The
         # excluded examples of every reason then come from one scan.
         "min_by"}
    )  # fmt: skip

    def connect(self, dsn: str | None, options: BaseModel) -> SparkSessionHandle:
        assert isinstance(options, RelationOptions)
        return SparkSessionHandle(dsn or "local[*]", options.statement_timeout)

    def rewrite(self, node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.TIMESTAMP:
            # cxengine's timestamps are naive wall-clock times.
            return exp.DataType.build("TIMESTAMPNTZ")
        if isinstance(node, exp.RegexpReplace):
            # Java spells a group reference $1 where PostgreSQL and DuckDB write \1.
            repl = node.args.get("replacement")
            if isinstance(repl, exp.Literal) and repl.is_string:
                node.set("replacement", exp.Literal.string(re.sub(r"\\(\d)", r"$\1", repl.name)))
            return node
        if isinstance(node, exp.AtTimeZone):
            # `x AT TIME ZONE z` means two things, by the type of x (as in DuckDB's
            # timezone() and PostgreSQL): an instant shown as the wall-clock time in z,
            # or a wall-clock time in z read as its instant. Spark spells them
            # from_utc_timestamp and to_utc_timestamp; both results stay naive
            # (TIMESTAMP_NTZ, the session runs in UTC), as cxengine's datetimes are.
            func = "from_utc_timestamp" if is_instant(node.this) else "to_utc_timestamp"
            shifted = exp.Anonymous(this=func, expressions=[node.this, node.args["zone"]])
            return exp.Cast(this=shifted, to=exp.DataType.build("TIMESTAMPNTZ"))
        if not isinstance(node, exp.Anonymous):
            return node
        name = node.name.lower()
        if name == "grouping":
            # GROUPING(a, b) is grouping_id(a, b) in Spark: same bits, same order.
            return exp.Anonymous(this="grouping_id", expressions=node.expressions)
        if name == "arg_min":
            value, by = node.expressions
            return exp.ArgMin(this=value, expression=by)  # min_by: skips NULL keys too
        if name == "date_diff":
            unit, start, end = node.expressions
            if not (isinstance(unit, exp.Literal) and unit.name.lower() == "microsecond"):
                raise NotPortable(f"date_diff({unit.sql()}, …) has no rendering on spark")
            ltz = exp.DataType.build("TIMESTAMPLTZ")
            micros = [
                exp.Anonymous(
                    this="unix_micros",
                    expressions=[
                        exp.Cast(this=x.this if isinstance(x, exp.Cast) else x, to=ltz.copy())
                    ],
                )
                for x in (end, start)
            ]
            return exp.Paren(this=exp.Sub(this=micros[0], expression=micros[1]))
        return node


@hookimpl
def register_engines(register: Callable[..., None]) -> None:
    """Register the spark engine."""
    register(SparkEngine())
