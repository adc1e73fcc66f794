"""The two readers of the filter language agree (issue 12, item 3).

`validate` and `metrics` check filters with the standard-library reader
(cxengine/filter_syntax), so they never import sqlglot; a run renders its SQL with
the sqlglot reader (cxengine/expr.py). If they drifted apart, `validate` could pass a
filter the run refuses, or worse. So, on every filter we can find (the standard
specs, the docs, the tests' specs and their hostile corpora, and generated text):

- whatever the new reader accepts, sqlglot accepts, and both write the same SQL;
- whatever sqlglot refuses, the new reader refuses too.

The new reader is stricter in a few places on purpose (STRICTER below): each is a
spelling of no use in a filter, or one SQL reads in a surprising way.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxengine.expr import parse_filter
from cxengine.expr import to_sql as sqlglot_sql
from cxengine.filter_syntax import ExpressionError, check_filter, to_sql
from tests.test_expr_hostile import HOSTILE, any_text, filters

REPO = Path(__file__).resolve().parent.parent
COLUMNS = ["channel", "score", "is_test", "Score", "tickets.channel", "submitted_at", "x"]


def sql_of_new(text: str, columns: list[str] | None = None) -> str | None:
    try:
        return to_sql(check_filter(text, columns=columns))
    except ExpressionError:
        return None


def sql_of_sqlglot(text: str, columns: list[str] | None = None) -> str | None:
    try:
        return sqlglot_sql(parse_filter(text, columns=columns))
    except ExpressionError:
        return None


def assert_agree(text: str, columns: list[str] | None = None) -> None:
    new, old = sql_of_new(text, columns), sql_of_sqlglot(text, columns)
    if new is not None:
        assert old == new, f"the new reader accepts {text!r} as {new!r}, sqlglot gives {old!r}"
    if old is None:
        assert new is None, f"sqlglot refuses {text!r}, the new reader accepts it"


# ------------------------------------------------------------------ where filters live


def spec_filters() -> list[str]:
    """Every `where:` and `condition:` of the standard specs and the example projects."""
    found = []
    for path in sorted([*REPO.glob("metric_specs/*.yaml"), *REPO.glob("examples/**/*.yaml")]):
        doc = yaml.safe_load(path.read_text("utf-8"))
        if isinstance(doc, dict):
            found += [doc[k] for k in ("where", "condition") if isinstance(doc.get(k), str)]
    return found


_YAML_FILTER = re.compile(r"^\s*(?:where|condition):\s*([\"'])(.+)\1\s*(?:#.*)?$", re.MULTILINE)


def written_filters() -> list[str]:
    """`where: "…"` and `condition: "…"` lines in the docs and in the tests' specs."""
    found = []
    paths = [*REPO.glob("docs/**/*.md"), *REPO.glob("tests/**/*.py"), *REPO.glob("tests/**/*.yaml")]
    for path in sorted(paths):
        for quote, body in _YAML_FILTER.findall(path.read_text("utf-8")):
            found.append(body.replace(quote * 2, quote) if quote == "'" else body)
    return found


def strings_of_the_filter_tests() -> list[str]:
    """Every string constant of the filter tests: their accepted and refused filters."""
    found = []
    for name in ("test_expr.py", "test_expr_hostile.py", "test_reliability_specs.py"):
        tree = ast.parse((REPO / "tests" / name).read_text("utf-8"))
        found += [
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
    return sorted(set(found))


# Constructs near the edges of the grammar, accepted and refused.
EDGES = [
    "x == 1", "x <=> 1", "x IS DISTINCT FROM 1", "x IS NOT DISTINCT FROM 1", "x != 1",
    "NOT NOT x", "- x::INT = 1", "x = - - 1", "x = -+-1", "+x = 1", "x::VARCHAR = 'a'",
    "CAST(x AS STRING) = 'a'", "CAST(x AS INT4) = 1", "CAST(x AS BOOL)", "x::date > '2024-01-01'",
    "TRY_CAST(x AS DATE) > DATE '2024-01-01'", "TIMESTAMP '2024-01-01 10:00' < x",
    "x IN ((1))", "x IN (-1, CAST('1' AS INT), DATE '2024-01-01')", "x IN (-(1))", "x IN (1, y)",
    "x IN ()", "x IN (1 + 1)", "x LIKE 'a' ESCAPE '!'", "x NOT ILIKE 'a' ESCAPE '!'",
    "x LIKE 'a' ESCAPE x", "x IS 1", "x IS NOT FALSE", "NULL IS NULL", "x IS NULL AND y",
    "x BETWEEN -1 AND 1 + 1 AND y", "x NOT BETWEEN 1 AND 2", "NOT x IN (1)", "x NOT IN (1, 2)",
    "(x) = 1", "((x = 1))", "x = (1)", "x = (y = 1)", "(x = 1) = TRUE", "TRUE", "NULL", "x",
    "1", "'a'", "x + 1", "-x", "lower(x)", "coalesce(x, y)", "CAST(x = 1 AS BOOLEAN)",
    "round(x, -1) = 1", "round(x, y) = 1", "round(x, 1, 2) = 1", "coalesce() = 1",
    "ifnull(x, 1) = 1", "nvl(x, 1) = 1", "len(x) = 1", "char_length(x) = 1", "lcase(x) = 'a'",
    "lower (x) = 'a'", "LOWER(x, y) = 'a'", "trim(x, ' ') = 'a'", "lower(DATE '2024-01-01') = 'a'",
    "trim(x::DATE, 'a') = 'a'", "x = 1.", "x = .5", "x = 1e5", "x = 1.5E-3", "x = 1e400",
    "x = 00", "x = 1e", "x = 1.e3", "x = 'it''s'", "x = 'a\\b'", "x = 'a\nb'", "x = ''''",
    '"weird ""name""" = 1', '"" = 1', "x.y.z = 1", '"t"."x" = 1', "t.x IS NULL",
    "tickets.channel = 'a'", "Tickets.Channel = 'a'", "year = 1", "date = '2024-01-01'",
    "day = 1 AND month = 2", "x = timestamp", "DATE('2024-01-01') = x", "名前 = 1", "_x = 1",
    "x\u00a0= 1", "x = 1 OR y = 2 AND NOT z", "x = 1 AND", "(x = 1", "x = 1)", "x = 'a' 'b'",
    "x--1 = 0", "x - -1 = 0", "x*-1 = 0", "x NOT = 1", "NOT", "x = ALL (1)",
    "x = ANY (SELECT 1)", "CASE WHEN x THEN 1 END = 1", "INTERVAL 1 DAY > x", "x COLLATE nocase",
    "x GLOB 'a'", "x SIMILAR TO 'a'", "x REGEXP 'a'", "x = 1 + NOT y",
    "NOT NOT NOT NOT NOT NOT NOT NOT NOT x", "(" * 21 + "x" + ")" * 21,
    "x = " + " + ".join(["1"] * 70), " OR ".join(["x = 1"] * 70),
    "x IN (" + ", ".join(["1"] * 500) + ")",
]  # fmt: skip

# Accepted by sqlglot, refused here on purpose, with why.
STRICTER = {
    "a = b = c": "a = (b = c) to sqlglot; chained comparisons need brackets",
    "a < b < c": "(a < b) < c compares a boolean; chained comparisons need brackets",
    "x IS NULL = FALSE": "chained: (x IS NULL) = FALSE says it",
    "x LIKE 'a' IS NULL": "chained: (x LIKE 'a') IS NULL says it",
    "x IS DISTINCT FROM y = 1": "sqlglot reads x IS DISTINCT FROM (y = 1)",
    "x = NOT y": "NOT after an operator: x = (NOT y) says it",
    "x = 1 + NOT y": "NOT inside arithmetic",
    "1_000 = x": "digit separators: SQL dialects disagree",
    "x ISNULL": "PostgreSQL spelling of IS NULL",
    "x NOTNULL": "PostgreSQL spelling of IS NOT NULL",
    "x NOT NULL": "reads as IS NOT NULL to sqlglot only",
    "x IN ('a',)": "a trailing comma",
    "x IN [1, 2]": "a list where IN takes brackets",
    "ifnull(x) = 1": "IFNULL of one value",
    "x BETWEEN SYMMETRIC 1 AND 2": "SYMMETRIC: not in the language",
    "x::VARCHAR(10) = 'a'": "type sizes change nothing in a filter",
    "trim(both 'x' from y) = 'a'": "TRIM's keyword form: trim(y, 'x') says it",
    "trim(leading from x) = 'a'": "TRIM's keyword form: sqlglot makes it LTRIM",
    "escape = 1": "keywords as bare column names need double quotes",
    "CAST": "a lone keyword, a column to sqlglot",
    "IN": "a lone keyword, a column to sqlglot",
    "VACUUM": "a statement word, a column to sqlglot alone but not in `VACUUM = 1`",
}


@pytest.mark.parametrize(
    "text",
    sorted({*spec_filters(), *written_filters(), *HOSTILE, *EDGES, *STRICTER}),
    ids=lambda t: repr(t[:40]),
)
def test_the_readers_agree_on_every_known_filter(text: str) -> None:
    assert_agree(text)
    assert_agree(text, COLUMNS)


def test_the_readers_agree_on_every_string_of_the_filter_tests() -> None:
    for text in strings_of_the_filter_tests():
        assert_agree(text)


def test_the_corpus_is_the_one_described() -> None:
    # The harvest above found the filters it should: a regex that found nothing
    # would make the agreement tests above vacuous.
    assert "resolved_at IS NOT NULL" in spec_filters()
    assert "first_response_min <= 120" in written_filters()
    assert "ticket_id IS NOT NULL AND tickets.channel <> 'spam'" in written_filters()
    accepted = [t for t in {*spec_filters(), *written_filters(), *EDGES} if sql_of_new(t)]
    assert len(accepted) >= 80


@pytest.mark.parametrize("text", sorted(STRICTER), ids=lambda t: repr(t[:40]))
def test_where_the_new_reader_is_stricter_it_says_why(text: str) -> None:
    assert sql_of_sqlglot(text) is not None
    with pytest.raises(ExpressionError) as refused:
        check_filter(text)
    assert refused.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1", "'SELECT' starts a SQL statement"),
        ("DELETE FROM responses", "'DELETE' starts a SQL statement"),
        ("COPY (SELECT 1) TO '/tmp/x.csv'", "'COPY' starts a SQL statement"),
        # A column that shares a statement's name gets the message of what failed.
        ("show = 1 AND getenv('HOME') = 'x'", "function 'getenv' is not allowed"),
        ("channel = getenv('HOME')", "function 'getenv' is not allowed"),
        ("x = 1 OR", "something is missing"),
        ("(x = 1", "a bracket is not closed"),
        ("x IN ()", "IN needs at least one value"),
        ("lower(x, y) = 'a'", "lower() takes 1 argument; 'lower(x, y)' gives 2"),
        ("CAST(x AS FLOAT) > 1", "converting to 'FLOAT' is not allowed"),
        ("x = $1", "found '$1'"),
    ],
)
def test_refusals_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)) as refused:
        check_filter(text)
    assert refused.value.position is not None
    assert 0 <= refused.value.position <= len(text)


def test_chained_comparisons_get_a_message_with_the_brackets() -> None:
    with pytest.raises(ExpressionError, match=r"add brackets to 'a = b ='.*\(a = b\) = c"):
        check_filter("a = b = c")


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(st.one_of(any_text, filters, filters))
def test_the_readers_agree_on_generated_text(text: str) -> None:
    assert_agree(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filters)
def test_the_readers_agree_on_generated_filters_over_known_columns(text: str) -> None:
    assert_agree(text, ["channel", "score", "is_test"])


# ------------------------------------------------------------------ what the reader is


def test_the_reader_runs_no_code() -> None:
    # No eval, exec or compile anywhere in the reader: text is only ever tokens.
    for path in (REPO / "cxengine" / "filter_syntax").glob("*.py"):
        calls = {
            n.func.id
            for n in ast.walk(ast.parse(path.read_text("utf-8")))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        }
        assert not calls & {"eval", "exec", "compile", "__import__"}, path


def test_checking_filters_imports_no_sqlglot() -> None:
    code = (
        "import sys\n"
        "from cxengine.filter_syntax import check_filter\n"
        "from cxengine.filter_types import filter_type_problems\n"
        "tree = check_filter(\"channel <> 'a' AND lower(x) LIKE 'a%' AND CAST(s AS INT) > 1\")\n"
        "types = {'channel': 'string', 'x': 'string', 's': 'string'}\n"
        "assert filter_type_problems(tree, types) == []\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlglot', 'duckdb')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert out.strip() == "[]"
