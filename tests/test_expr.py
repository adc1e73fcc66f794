"""Ordinary filters: they parse, quote their columns, re-generate and select the right rows."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from cxengine.expr import (
    ALLOWED_FUNCTIONS,
    MAX_LENGTH,
    MAX_NESTING,
    ExpressionError,
    column_names,
    parse_filter,
    to_sql,
)

COLUMNS = ["channel", "touchpoint", "score", "submitted_at", "comment", "agent", "is_test"]


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """A small survey table, in a DuckDB that cannot touch files or the network."""
    c = duckdb.connect()
    c.execute(
        """
        CREATE TABLE responses AS SELECT * FROM (VALUES
            (1, 'web',   'checkout', 9,    TIMESTAMP '2024-01-05 10:00', 'fast',  'Olivia', false),
            (2, 'test',  'web',      10,   TIMESTAMP '2024-01-06 11:00', NULL,    'Bot',    true),
            (3, 'email', 'web',      3,    TIMESTAMP '2024-02-01 09:30', 'slow',  'Olivia', false),
            (4, 'phone', 'support',  NULL, TIMESTAMP '2024-02-10 16:45', '  ok ', 'Max',    false),
            (5, 'web',   'web',      7,    TIMESTAMP '2024-03-03 08:15', 'it''s', NULL,     false)
        ) AS t(id, channel, touchpoint, score, submitted_at, comment, agent, is_test)
        """
    )
    c.execute("SET enable_external_access = false")
    c.execute("SET lock_configuration = true")
    yield c
    c.close()


def ids(con: duckdb.DuckDBPyConnection, where: str) -> list[int]:
    expr = parse_filter(where, columns=COLUMNS)
    rows = con.execute(f"SELECT id FROM responses WHERE {to_sql(expr)} ORDER BY id").fetchall()
    return [r[0] for r in rows]


# ------------------------------------------------------------------ the happy path


@pytest.mark.parametrize(
    ("where", "sql"),
    [
        (
            "channel <> 'test' AND touchpoint IN ('web', 'checkout')",
            """"channel" <> 'test' AND "touchpoint" IN ('web', 'checkout')""",
        ),
        ("score >= 9", '"score" >= 9'),
        ("score BETWEEN 7 AND 8", '"score" BETWEEN 7 AND 8'),
        ("score IS NOT NULL", 'NOT "score" IS NULL'),
        ("comment IS NULL OR comment = ''", """"comment" IS NULL OR "comment" = ''"""),
        ("lower(agent) LIKE 'oli%'", """LOWER("agent") LIKE 'oli%'"""),
        ("agent NOT ILIKE 'm%'", """"agent" NOT ILIKE 'm%'"""),
        ("NOT is_test", 'NOT "is_test"'),
        ("is_test IS FALSE", '"is_test" IS FALSE'),
        ("-score < -5", '-"score" < -5'),
        ("(score + 1) * 2 / 4 % 3 = 1", '("score" + 1) * 2 / 4 % 3 = 1'),
        ("CAST(score AS DOUBLE) > 6.5", 'CAST("score" AS DOUBLE) > 6.5'),
        ("score::VARCHAR = '9'", """CAST("score" AS TEXT) = '9'"""),
        ("TRY_CAST(comment AS INTEGER) IS NULL", 'TRY_CAST("comment" AS INT) IS NULL'),
        (
            "submitted_at >= DATE '2024-02-01'",
            """"submitted_at" >= CAST('2024-02-01' AS DATE)""",
        ),
        ("year(submitted_at) = 2024 AND month(submitted_at) IN (1, 2)", None),
        ("day(submitted_at) <> 1", 'DAY("submitted_at") <> 1'),
        ("length(trim(comment)) > 2", 'LENGTH(TRIM("comment")) > 2'),
        ("coalesce(agent, 'none') = 'none'", """COALESCE("agent", 'none') = 'none'"""),
        ("round(abs(score - 8.4), 0) <= 1", 'ROUND(ABS("score" - 8.4), 0) <= 1'),
        ("upper(channel) = 'WEB'", """UPPER("channel") = 'WEB'"""),
        ("comment = 'it''s'", """"comment" = 'it''s'"""),
        ("agent IS DISTINCT FROM 'Max'", """"agent" IS DISTINCT FROM 'Max'"""),
        ("comment LIKE '%!%%' ESCAPE '!'", """"comment" LIKE '%!%%' ESCAPE '!'"""),
        ("TRUE", "TRUE"),
    ],
)
def test_normal_filters_round_trip(where: str, sql: str | None) -> None:
    expr = parse_filter(where, columns=COLUMNS)
    out = to_sql(expr)
    if sql is not None:
        assert out == sql
    # The generated SQL is stable: parsing it again yields the very same SQL.
    assert to_sql(parse_filter(out, columns=COLUMNS)) == out


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("channel <> 'test' AND touchpoint IN ('web', 'checkout')", [1, 3, 5]),
        ("channel <> 'test'", [1, 3, 4, 5]),
        ("score >= 9", [1, 2]),
        ("score IS NULL", [4]),
        ("NOT is_test AND score BETWEEN 3 AND 8", [3, 5]),
        ("lower(agent) = 'olivia'", [1, 3]),
        ("trim(comment) = 'ok'", [4]),
        ("comment = 'it''s'", [5]),
        ("coalesce(agent, '?') = '?'", [5]),
        ("submitted_at >= DATE '2024-02-01' AND submitted_at < DATE '2024-03-01'", [3, 4]),
        ("month(submitted_at) = 3", [5]),
        ("agent ILIKE 'o%' OR channel = 'phone'", [1, 3, 4]),
        ("NOT (channel IN ('web', 'test'))", [3, 4]),
        ("is_test", [2]),
        ("score % 2 = 1", [1, 3, 5]),
    ],
)
def test_filters_select_the_right_rows(
    con: duckdb.DuckDBPyConnection, where: str, expected: list[int]
) -> None:
    assert ids(con, where) == expected


def test_every_column_is_quoted() -> None:
    expr = parse_filter("channel = 'web' AND lower(agent) IN ('a') AND score > 1")
    idents = [c.this for c in expr.find_all(exp.Column)]
    assert idents and all(isinstance(i, exp.Identifier) and i.quoted for i in idents)
    assert to_sql(expr).count('"') == 6


@pytest.mark.parametrize(
    ("where", "sql", "columns"),
    [
        # SQL keywords and odd characters are fine as (quoted) column names.
        ('"select" = 1', '"select" = 1', {"select"}),
        ("comment = 'x'", """"comment" = 'x'""", {"comment"}),
        ("date = DATE '2024-01-01'", """"date" = CAST('2024-01-01' AS DATE)""", {"date"}),
        ('"chan nel" = 1', '"chan nel" = 1', {"chan nel"}),
        ('"a""b" = 1', '"a""b" = 1', {'a"b'}),
        ("канал = 'веб'", """"канал" = 'веб'""", {"канал"}),
        ("soʻrov > 3", '"soʻrov" > 3', {"soʻrov"}),  # Uzbek Latin with the ʻ letter
    ],
)
def test_quoting_of_unusual_names(where: str, sql: str, columns: set[str]) -> None:
    expr = parse_filter(where, columns=columns)
    assert to_sql(expr) == sql
    assert column_names(expr) == columns


def test_quoted_odd_names_run_in_duckdb() -> None:
    c = duckdb.connect()
    c.execute("""CREATE TABLE t ("select" INT, "a""b" VARCHAR, "chan nel" VARCHAR)""")
    c.execute("""INSERT INTO t VALUES (1, 'x', 'web'), (2, 'y', 'phone')""")
    expr = parse_filter("""\"select\" = 2 OR "a""b" = 'x' AND "chan nel" = 'web'""")
    assert c.execute(f"SELECT count(*) FROM t WHERE {to_sql(expr)}").fetchone() == (2,)


def test_column_names() -> None:
    expr = parse_filter("channel <> 'test' AND (lower(agent) = 'x' OR score > coalesce(score, 0))")
    assert column_names(expr) == {"channel", "agent", "score"}
    assert column_names(parse_filter("TRUE")) == set()


def test_names_resolve_case_insensitively_to_the_known_spelling() -> None:
    expr = parse_filter("Channel = 'web' AND TOUCHPOINT = 'web'", columns=COLUMNS)
    assert to_sql(expr) == """"channel" = 'web' AND "touchpoint" = 'web'"""
    assert column_names(expr) == {"channel", "touchpoint"}


def test_unknown_column_suggests_the_close_one() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_filter("channel <> 'test' AND tuochpoint = 'web'", columns=COLUMNS)
    err = info.value
    assert err.message.startswith("unknown column 'tuochpoint' in the filter")
    assert "did you mean 'touchpoint'?" in err.message
    assert "Known columns: agent, channel, comment," in err.message
    assert err.position == len("channel <> 'test' AND ")


def test_unknown_column_without_a_close_match() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_filter("zzz = 1", columns=["channel"])
    assert "did you mean" not in info.value.message
    assert info.value.message == "unknown column 'zzz' in the filter Known columns: channel"


def test_ambiguous_case_folding_is_refused() -> None:
    with pytest.raises(ExpressionError, match="ambiguous"):
        parse_filter("CHANNEL = 1", columns=["Channel", "channel"])


def test_without_columns_any_name_is_accepted_and_quoted() -> None:
    assert to_sql(parse_filter("whatever = 1")) == '"whatever" = 1'


# ----------------------------------------------------------------- messages, API


def test_error_is_a_value_error_with_message_and_position() -> None:
    with pytest.raises(ValueError) as info:
        parse_filter("score = = 1")
    err = info.value
    assert isinstance(err, ExpressionError)
    assert err.position == 8
    assert str(err) == err.message
    assert err.message.startswith("could not read the filter near '=' at character 9")


def test_function_message_lists_the_allowed_functions() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_filter("score > 1 AND read_csv('/etc/passwd') IS NOT NULL")
    assert info.value.message == (
        "function 'read_csv' is not allowed in a filter; allowed functions: lower, upper, "
        "trim, length, coalesce, abs, round, year, month, day (and CAST / TRY_CAST)"
    )
    assert info.value.position == len("score > 1 AND ")


def test_allowed_function_list() -> None:
    assert list(ALLOWED_FUNCTIONS.values()) == [
        "lower", "upper", "trim", "length", "coalesce", "abs", "round", "year", "month", "day",
    ]  # fmt: skip


def test_synonyms_of_allowed_functions_are_accepted() -> None:
    # sqlglot maps these onto the same nodes; they mean the same thing in DuckDB.
    assert to_sql(parse_filter("ltrim(comment) = 'a'")) == """LTRIM("comment") = 'a'"""
    assert to_sql(parse_filter("ifnull(agent, 'x') = 'x'")) == """COALESCE("agent", 'x') = 'x'"""


@pytest.mark.parametrize(
    ("where", "fragment"),
    [
        ("score + 1", "must be a condition that is true or false"),
        ("lower(agent)", "'lower(agent)' is a value"),
        ("score = 1 AND 2", "AND needs conditions (true/false); '2' is a value"),
        ("CAST(score AS FLOAT) > 1", "allowed types: VARCHAR, INTEGER, BIGINT, DOUBLE, DATE"),
        ("score IN (agent, 1)", "IN (…) may only list values"),
        ("score IS 3", "IS may only be followed by NULL, TRUE or FALSE"),
        ("agent.name = 'x'", "use the plain column name 'name'"),
        ("", "the filter is empty"),
        ("channel = 'web", "a quote (' or \") or a /* comment is not closed"),
        ("(channel = 'web'", "a bracket is not closed"),
        ("d > current_date", 'write it in double quotes: "current_date"'),
        ("select = 1", "if 'select' is a column, write it in double quotes: \"select\""),
    ],
)
def test_messages_explain_the_problem(where: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_filter(where)
    assert fragment in info.value.message


def test_to_sql_refuses_an_unchecked_expression() -> None:
    raw = sqlglot.parse_one("read_csv('/etc/passwd') IS NULL", dialect="duckdb")
    with pytest.raises(ExpressionError, match="read_csv"):
        to_sql(raw)
    built = exp.column("score", quoted=True).eq(exp.Literal.number(3))
    assert to_sql(built) == '"score" = 3'


def test_parse_returns_a_fresh_tree_each_time() -> None:
    a = parse_filter("score > 1")
    b = parse_filter("score > 1")
    assert a is not b and to_sql(a) == to_sql(b)


def test_limits_leave_room_for_honest_filters() -> None:
    deep = "(" * MAX_NESTING + "score > 1" + ")" * MAX_NESTING
    assert to_sql(parse_filter(deep)).startswith("(" * MAX_NESTING)
    many = " OR ".join(f"agent = 'a{i}'" for i in range(40))
    assert len(column_names(parse_filter(many))) == 1
    values = "channel IN (" + ", ".join(f"'{i}'" for i in range(500)) + ")"
    assert len(values) < MAX_LENGTH
    assert to_sql(parse_filter(values)).startswith('"channel" IN (')
