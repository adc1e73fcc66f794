"""Hostile filter text: every attempt is refused with ExpressionError before anything runs.

The corpus covers SQL injection, stacked statements, DuckDB statements that touch
files or the network, table functions, sub-queries, settings and environment
look-ups, special string syntaxes, comments, Unicode look-alikes and invisible
characters, and input built to be slow or to exhaust the stack. Property tests then
throw generated text at the parser: it either refuses with ExpressionError or returns
a filter whose SQL contains only whitelisted nodes and runs harmlessly.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

import duckdb
import pytest
import sqlglot
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from cxengine.expr import MAX_LENGTH, MAX_NESTING, ExpressionError, parse_filter, to_sql

HOSTILE = [
    # classic injection through a string that is closed early
    "' OR 1=1 --",
    "channel = '' OR 1=1 --'",
    "x'); DROP TABLE t; --",
    "channel = 'a'); DROP TABLE responses; --",
    "channel = 'a' OR '1'='1' --",
    "channel = 'a\\' OR 1=1 --'",
    # stacked statements
    "1=1; ATTACH 'x.db'",
    "channel = 'web'; DROP TABLE responses",
    "channel = 'web';",
    "1=1 ; COPY responses TO '/tmp/out.csv'",
    # statements on their own
    "ATTACH 'x.db'",
    "ATTACH 'x.db' AS evil",
    "DETACH evil",
    "PRAGMA database_list",
    "PRAGMA version",
    "COPY t TO 'x'",
    "COPY (SELECT 1) TO '/tmp/x.csv'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL httpfs",
    "SET enable_external_access = true",
    "RESET lock_configuration",
    "USE evil",
    "CALL pragma_version()",
    "SELECT 1",
    "SELECT * FROM read_csv('/etc/passwd')",
    "FROM read_csv('/etc/passwd')",
    "WITH a AS (SELECT 1) SELECT * FROM a",
    "CREATE TABLE x AS SELECT 1",
    "INSERT INTO responses VALUES (1)",
    "UPDATE responses SET channel = 'x'",
    "DELETE FROM responses",
    "DROP TABLE responses",
    "EXPORT DATABASE '/tmp/x'",
    "VACUUM ANALYZE",
    "CHECKPOINT evil",
    # table functions and other functions off the whitelist
    "read_csv('/etc/passwd')",
    "read_csv_auto('/etc/passwd') IS NOT NULL",
    "read_text('/etc/passwd') <> ''",
    "read_blob('/etc/shadow') IS NULL",
    "read_parquet('s3://bucket/x.parquet') IS NULL",
    "read_json('http://evil.example/x') IS NULL",
    "glob('/home/*') IS NOT NULL",
    "length(read_text('/etc/passwd')) > 0",
    "getenv('HOME') = '/root'",
    "current_setting('access_mode') = 'automatic'",
    "current_database() = 'memory'",
    "version() = 'v1'",
    "txid_current() > 0",
    "now() > DATE '2024-01-01'",
    "random() < 0.5",
    "pg_sleep(10) IS NULL",
    "channel = chr(39)",
    "sum(score) > 1",
    "count(*) > 0",
    "row_number() OVER () = 1",
    "query('SELECT 1') IS NULL",
    "query_table('responses') IS NULL",
    "list_transform([1], x -> x) IS NULL",
    # sub-queries
    "(SELECT 1)",
    "(SELECT 1) = 1",
    "score IN (SELECT score FROM responses)",
    "EXISTS (SELECT 1)",
    "EXISTS (SELECT * FROM read_csv('/etc/passwd'))",
    "NOT EXISTS (SELECT 1 FROM duckdb_settings())",
    "score = (SELECT max(score) FROM responses)",
    "score > ANY (SELECT 1)",
    "channel = 'a' UNION SELECT 1",
    # stars, parameters, placeholders
    "*",
    "responses.* IS NULL",
    "channel = ?",
    "channel = $1",
    "channel = $name",
    "channel = :name",
    "channel = @x",
    "channel = @@session",
    # special strings and escapes
    "channel = $$web$$",
    "channel = $tag$web$tag$",
    "channel = E'\\x27; DROP TABLE t; --'",
    "channel = e'web'",
    "channel = N'web'",
    "channel = X'41'",
    "channel = B'0101'",
    "channel = U&'\\0041'",
    "channel = 'web' COLLATE nocase",
    # comments that could hide or splice statements
    "channel = 'web' -- and the rest",
    "channel = 'web' /* */ ; DROP TABLE t; /* */",
    "channel = 'web' /*! DROP TABLE t */",
    "channel /* x */ = 'web'",
    "channel = 'web' -- */ ; DROP TABLE t; /*\n",
    "/* only a comment */",
    "-- only a comment",
    "channel = 'web' /* unterminated",
    # Unicode look-alikes and invisible characters
    "1=1；ATTACH 'x.db'",  # fullwidth semicolon
    "channel = 'web'；DROP TABLE t",
    "channel = 'web' ; DROP TABLE t".replace(";", "\u037e"),  # Greek question mark
    "channel = 'web' ОR 1=1",  # Cyrillic О in OR
    "channel = 'web' АND score > 1",  # Cyrillic А in AND
    "сhannel = 'web'",  # Cyrillic с in a column name
    "channel = 'web' ＯＲ 1=1",  # fullwidth letters
    "channel ＝ 'web'",  # fullwidth equals sign
    "channel = ＇web＇",  # fullwidth apostrophes
    "channel = ‘web’",  # curly quotes
    "channel\u200b = 'web'",  # zero-width space
    "channel = 'web\u202e' OR 1=1",  # right-to-left override (Trojan Source)
    "channel = 'web'\u2066 OR 1=1\u2069",  # bidi isolates
    "channel = 'web'\u2028OR 1=1",  # line separator
    "channel = 'web'\x00; DROP TABLE t",  # NUL
    "channel = 'web'\x1b[2K",  # terminal escape
    "\ufeffchannel = 'web'",  # byte-order mark
    # qualified names, odd syntax
    "responses.channel = 'web'",
    "main.responses.channel = 'web'",
    "`channel` = 'web'",
    "channel = 0x27",
    "score = 1.5e",
    "channel[1] = 'w'",
    "channel -> 'a' = 1",
    "channel ~ 'w.*'",
    "channel GLOB 'w*'",
    "channel SIMILAR TO 'w%'",
    "channel || 'x' = 'webx'",
    "CASE WHEN channel = 'web' THEN TRUE END",
    "score = INTERVAL 1 DAY",
    "channel = [1, 2]",
    "channel = {'a': 1}",
    "(channel, score) IN (('web', 1))",
    "channel IN ()",
    "CAST(channel AS BLOB) IS NULL",
    "CAST(channel AS STRUCT(a INT)) IS NULL",
    "channel::JSON IS NULL",
    "lambda x: x",
    "channel AS c",
    "channel = 'web' ORDER BY 1",
    "channel = 'web' LIMIT 1",
    "channel = 'web' GROUP BY channel",
    "channel = 'web', score = 1",
    # not a condition
    "1",
    "'web'",
    "NULL",
    "score + 1",
    "lower(channel)",
    # empty and whitespace
    "",
    "   \n\t ",
    # size and depth
    "channel = 'web' AND " * 300 + "TRUE",
    "x" * (MAX_LENGTH + 1),
    "(" * (MAX_NESTING + 1) + "score > 1" + ")" * (MAX_NESTING + 1),
    "(" * 500 + "score > 1" + ")" * 500,
    "lower(" * 200 + "channel" + ")" * 200 + " = 'a'",
    "NOT " * 900 + "is_test",
    "- " * 900 + "score > 1",
    "score" + "::INT" * 700 + " = 1",
    "(NOT NOT NOT NOT NOT NOT NOT NOT " * 19 + "is_test" + ")" * 19,
    "score" + " + 1" * 990 + " = 1",
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:40]))
def test_hostile_filter_is_refused(text: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_filter(text)
    assert info.value.message  # always something to show the analyst
    assert info.value.position is None or 0 <= info.value.position <= len(text)


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:40]))
def test_hostile_filter_is_refused_with_known_columns(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_filter(text, columns=["channel", "score", "is_test"])


@pytest.mark.parametrize("word", ["VACUUM", "CHECKPOINT", "ATTACH", "load"])
def test_a_lone_keyword_is_only_a_quoted_column_name(word: str) -> None:
    # Alone, such a word can only be read as a (boolean) column; quoted, it cannot run.
    assert to_sql(parse_filter(word)) == f'"{word}"'
    with pytest.raises(ExpressionError, match="unknown column"):
        parse_filter(word, columns=["channel", "score"])


def test_refusals_name_the_offending_piece() -> None:
    cases = {
        "1=1; ATTACH 'x.db'": ("';' is not allowed", 3),
        "ATTACH 'x.db'": ("'ATTACH' starts a SQL statement", 0),
        "channel = getenv('HOME')": ("function 'getenv' is not allowed", 10),
        "channel = 'web' ОR 1=1": ("'ОR' mixes Cyrillic and Latin letters", 16),
        "1=1；ATTACH 'x.db'": ("'；' (U+FF1B FULLWIDTH SEMICOLON)", 3),
        "channel\u200b = 'web'": ("U+200B ZERO WIDTH SPACE", 7),
        "channel = $$web$$": ("dollar-quoted strings", 10),
        "channel = 'web' -- and the rest": ("comments (-- … or /* … */) are not allowed", 16),
        "score IN (SELECT 1)": ("sub-queries", 0),
        "channel = :name": ("parameters such as ?, $1, :name", 10),
    }
    for text, (fragment, position) in cases.items():
        with pytest.raises(ExpressionError) as info:
            parse_filter(text)
        assert fragment in info.value.message, text
        assert info.value.position == position, text


# ------------------------------------------------ payloads that are only data


@pytest.fixture
def locked() -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB with one table, locked down the way the engine locks it."""
    con = duckdb.connect()
    con.execute("CREATE TABLE responses (channel VARCHAR, score INTEGER, is_test BOOLEAN)")
    con.execute("INSERT INTO responses VALUES ('web', 9, false), ('test', 3, true)")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    yield con
    con.close()


@pytest.mark.parametrize(
    "payload",
    [
        "'; DROP TABLE responses; --",
        "x'); DROP TABLE responses; --",
        "' OR 1=1 --",
        "a\\",
        "a\\'; DROP TABLE responses; --",
        "$$; DROP TABLE responses; $$",
        "*/ DROP TABLE responses; /*",
        "ATTACH 'x.db'",
        '"; DROP TABLE responses; --',
        "Ο'Reilly — ‘quotes’ «ёлка» 中文 🙂",
    ],
)
def test_injection_inside_a_string_stays_a_string(
    locked: duckdb.DuckDBPyConnection, payload: str
) -> None:
    quoted = "'" + payload.replace("'", "''") + "'"
    expr = parse_filter(f"channel = {quoted} OR channel = 'web'", columns=["channel"])
    sql = to_sql(expr)
    rows = locked.execute(f"SELECT {quoted} AS v, count(*) FROM responses WHERE {sql}").fetchall()
    assert rows == [(payload, 1)]  # only 'web' matched; the payload was a value
    assert locked.execute("SELECT count(*) FROM responses").fetchone() == (2,)


def test_importing_the_module_runs_nothing() -> None:
    # No database, no scipy: importing cxengine.expr only defines things.
    code = (
        "import sys, cxengine.expr, cxengine.compute.stats; "
        "assert 'duckdb' not in sys.modules and 'scipy' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -------------------------------------------------------------- property tests

# Independent of the module's own tables: every node class a safe filter may contain.
SAFE_NODES = {
    "Column", "Identifier", "Literal", "Boolean", "Null", "Paren", "Not", "Neg", "And", "Or",
    "EQ", "NEQ", "GT", "GTE", "LT", "LTE", "NullSafeEQ", "NullSafeNEQ", "Add", "Sub", "Mul",
    "Div", "Mod", "Is", "Like", "ILike", "Escape", "In", "Between", "Cast", "TryCast",
    "DataType", "Lower", "Upper", "Trim", "Length", "Coalesce", "Abs", "Round", "Year",
    "Month", "Day",
}  # fmt: skip

VOCABULARY = [
    "channel", "score", "is_test", "x", "t.channel", '"channel"', '"a""b"', "'web'",
    "'it''s'", "'", '"', "1", "0", "-1", "2.5", "1e3", "0x1", "TRUE", "NULL", "DATE '2024-01-01'",
    "=", "<>", "!=", "<", ">=", "+", "-", "*", "/", "%", "||", "(", ")", "[", "]", "{", "}", ",",
    ";", ".", "::", ":", "?", "$1", "$$", "@", "~", "->", "--", "/*", "*/", "AND", "OR", "NOT",
    "IN", "IS", "LIKE", "ILIKE", "ESCAPE", "BETWEEN", "DISTINCT", "FROM", "AS", "CAST",
    "TRY_CAST", "INT", "VARCHAR", "BLOB", "SELECT", "EXISTS", "ATTACH", "COPY", "TO", "PRAGMA",
    "INSTALL", "LOAD", "SET", "CASE", "WHEN", "THEN", "END", "OVER", "lower", "trim",
    "coalesce", "round", "year", "read_csv", "getenv", "current_setting", "glob", "now",
    "E'x'", "N'x'", "ОR", "；", "\u200b", "\u202e", "＇", "\\",
]  # fmt: skip

token_soup = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=25).flatmap(
    lambda words: st.sampled_from([" ", ""]).map(lambda sep: sep.join(words))
)


# Filters built from a small grammar: mostly well-formed, with functions, types and
# tokens from both sides of the whitelist mixed in, so the accepting path is exercised
# as hard as the refusing one.
def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


columns_ = st.sampled_from(["channel", "score", "is_test", '"channel"', "Score", "chanel"])
literals = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    st.text(max_size=12).map(_quote),
    st.sampled_from(["TRUE", "FALSE", "NULL", "DATE '2024-01-31'", "TIMESTAMP '2024-01-31 10:00'"]),
)
functions = st.sampled_from(
    ["lower", "upper", "trim", "length", "abs", "round", "year", "month", "day", "coalesce",
     "read_csv", "getenv", "current_setting", "glob", "now", "sum", "query"]
)  # fmt: skip
types_ = st.sampled_from(
    ["VARCHAR", "INTEGER", "BIGINT", "DOUBLE", "DATE", "BOOLEAN", "BLOB", "JSON"]
)
values = st.recursive(
    st.one_of(columns_, literals),
    lambda inner: st.one_of(
        st.tuples(functions, st.lists(inner, min_size=1, max_size=2)).map(
            lambda fa: f"{fa[0]}({', '.join(fa[1])})"
        ),
        st.tuples(inner, types_).map(lambda vt: f"CAST({vt[0]} AS {vt[1]})"),
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%", "||"]), inner).map(" ".join),
        inner.map(lambda v: f"-{v}"),
        inner.map(lambda v: f"({v})"),
    ),
    max_leaves=6,
)
comparisons = st.one_of(
    st.tuples(values, st.sampled_from(["=", "<>", "!=", "<", "<=", ">", ">="]), values).map(
        " ".join
    ),
    st.tuples(values, st.lists(literals, min_size=1, max_size=4)).map(
        lambda vl: f"{vl[0]} IN ({', '.join(vl[1])})"
    ),
    st.tuples(values, values, values).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
    values.map(lambda v: f"{v} IS NOT NULL"),
    st.tuples(values, st.text(max_size=6).map(_quote)).map(lambda t: f"{t[0]} ILIKE {t[1]}"),
    columns_,
)
conditions = st.recursive(
    comparisons,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(" ".join),
        inner.map(lambda c: f"NOT ({c})"),
        inner.map(lambda c: f"({c})"),
    ),
    max_leaves=5,
)
mutated = st.tuples(
    conditions, st.lists(st.sampled_from(VOCABULARY), max_size=2), st.integers(0, 10**6)
).map(lambda t: t[0][: t[2] % (len(t[0]) + 1)] + " ".join(t[1]) + t[0][t[2] % (len(t[0]) + 1) :])
filters = st.one_of(conditions, conditions, mutated)
any_text = st.one_of(
    st.text(max_size=200), token_soup, filters, st.text(alphabet="()'\";-/* ", max_size=80)
)


def assert_whitelisted(sql: str) -> None:
    """Parse the generated SQL as a *statement* list and check every node independently."""
    trees = sqlglot.parse(sql, dialect="duckdb")
    assert len(trees) == 1 and trees[0] is not None
    for node in trees[0].walk():
        assert type(node).__name__ in SAFE_NODES, (sql, type(node).__name__)
        if isinstance(node, exp.Column):
            assert node.this.quoted and not node.table, sql
        if isinstance(node, exp.Literal) and not node.is_string:
            float(node.name)  # a real number, not text smuggled into a numeric literal


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(any_text)
@example("channel = 'web' AND score IN (1, 2)")
@example("1=1; ATTACH 'x.db'")
@example("lower(channel) LIKE 'w%' ESCAPE '!'")
def test_any_text_is_refused_or_safe(text: str) -> None:
    try:
        expr = parse_filter(text)
    except ExpressionError as err:
        assert isinstance(err.message, str) and err.message
        assert err.position is None or 0 <= err.position <= max(len(text), MAX_LENGTH)
    else:
        assert_whitelisted(to_sql(expr))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filters)
def test_accepted_filters_run_harmlessly(text: str) -> None:
    try:
        expr = parse_filter(text, columns=["channel", "score", "is_test"])
    except ExpressionError:
        return
    sql = to_sql(expr)
    assert_whitelisted(sql)
    con = duckdb.connect()
    con.execute("CREATE TABLE responses (channel VARCHAR, score INTEGER, is_test BOOLEAN)")
    con.execute("INSERT INTO responses VALUES ('web', 9, false), (NULL, NULL, NULL)")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    # A type mismatch (say 'web' > 1) is the analyst's problem, not a hole.
    with contextlib.suppress(duckdb.Error):
        con.execute(f"SELECT count(*) FROM responses WHERE {sql}").fetchall()
    assert con.execute("SELECT count(*) FROM responses").fetchone() == (2,)
    assert con.execute("SELECT current_setting('enable_external_access')").fetchone() == (False,)


printable = st.text(
    alphabet=st.characters(blacklist_categories=["Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"]),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(printable)
@example("\\")
@example("a\\'; DROP TABLE responses; --")
@example("\\x27 \\n \\u0041 %s {} $$ $1 ?")
def test_string_literals_reach_duckdb_unchanged(value: str) -> None:
    # Whatever the text, once quoted by the analyst it is a value, and DuckDB sees that
    # exact value: no escape sequence is read differently by sqlglot and by DuckDB.
    quoted = "'" + value.replace("'", "''") + "'"
    expr = parse_filter(f"channel = {quoted}", columns=["channel"])
    literal = expr.find(exp.Literal)
    assert literal is not None and literal.name == value
    assert isinstance(expr, exp.EQ)
    with duckdb.connect() as con:
        got = con.execute(f"SELECT {expr.expression.sql(dialect='duckdb')}").fetchone()
    assert got == (value,)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=30))
def test_quoted_column_names_stay_names(name: str) -> None:
    quoted = '"' + name.replace('"', '""') + '"'
    try:
        expr = parse_filter(f"{quoted} = 1")
    except ExpressionError:
        return  # control or invisible characters: refused outright
    assert [c.name for c in expr.find_all(exp.Column)] == [name]
    assert_whitelisted(to_sql(expr))
