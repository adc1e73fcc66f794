"""Hostile specs and configs: any input gives a valid spec or `file:line` errors, and
nothing a spec author writes runs as SQL, reads a file or writes one.

Three parts:

1. property tests (hypothesis) over the spec loader, the project-config loader and
   the `where` check inside a whole project: random text, random YAML structures
   with spec keys and hostile values, hand-written YAML with duplicated keys, anchors,
   tags and odd scalars. No example is timed (a loaded machine would fail it); a
   hang still fails, through pytest-timeout;
2. bounded documents (alias bombs, deep nesting, huge numbers, huge files) through
   the spec loader, the config loader and `cxengine validate`;
3. a corpus of hostile `where` expressions and field names run through the whole
   `run_project` on a small project with a secret file beside it: every expression
   is refused before anything runs (no ATTACH or COPY target appears, the secret is
   in no output), every hostile name is quoted and counted; and DuckDB's lock-down,
   the second wall, is tested on the very connection the runner computes with.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import cxengine.runner
import cxengine.session
from cxengine.cli import cli
from cxengine.config import load_config
from cxengine.errors import Problem, SpecError
from cxengine.plugins import get_registry
from cxengine.runner import load_datasets, lock_down, run_project, validate_project
from cxengine.spec.loader import load_spec_file
from cxengine.yamlsafe import MAX_BYTES, MAX_DEPTH, MAX_EXPANDED_CHARS, MAX_NODES

REGISTRY = get_registry(load_entry_points=False)
MODELS = {name: agg.spec_model for name, agg in REGISTRY.aggregations.items()}
# Deterministic unless CX_FUZZ_EXAMPLES is set (then random, for a longer hunt).
HYPOTHESIS = settings(
    deadline=None,  # no wall-clock limits in tests; bench/bench_bounds.py times these
    derandomize="CX_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LOCATED = re.compile(r"^(?P<file>[^\n]+?):(?P<line>[1-9][0-9]*): ")


def assert_located(problems: list[Problem], file: str) -> None:
    """Every problem names the file and a real line, and prints as `file:line: …`."""
    assert problems
    for p in problems:
        assert p.file == file, p
        assert p.line >= 1, p
        assert p.message and "Traceback" not in p.message, p
        m = LOCATED.match(str(p))
        assert m and m["file"] == file, str(p)


# ------------------------------------------------------------ a scratch workspace


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """One folder for the generated files of every example (hypothesis reruns a test)."""
    with tempfile.TemporaryDirectory(prefix="cx-hostile-") as name:
        yield Path(name)


DATA_CSV = "channel,score,when\nweb,5,2024-01-05\napp,3,2024-02-06\nweb,1,2024-02-07\n"
DATASETS = """\
datasets:
  d:
    source: csv
    path: data.csv
    fields: {channel: string, score: integer, when: date}
  loose:
    source: csv
    path: data.csv
"""


@pytest.fixture(scope="module")
def project_dir(scratch: Path) -> Path:
    """A project whose one spec file the tests overwrite (validated without data)."""
    root = scratch / "project"
    (root / "metric_specs").mkdir(parents=True)
    (root / "data.csv").write_text(DATA_CSV, "utf-8")
    (root / "cxengine.yaml").write_text("metrics: [metric_specs]\n" + DATASETS, "utf-8")
    return root


# ------------------------------------------------------------------- strategies

SPEC_KEYS = [
    "name", "kind", "dataset", "field", "where", "by", "period", "time", "min_n",
    "confidence", "target", "regression", "scale", "positive", "values", "tags", "unit",
    "title", "description", "metrics", "fail_below", "warn_above", "slices", "max_drop",
    "direction", "expression", "distinct", "condition", "valid", "min", "max",
]  # fmt: skip
CONFIG_KEYS = [
    "database", "metrics", "datasets", "min_n", "confidence", "source", "path", "fields",
    "type", "null_values", "format", "decimal", "true_values", "timezone", "column",
    "comments", "key", "delimiter", "encoding", "header", "skip_rows", "table", "query",
]  # fmt: skip
HOSTILE_TEXT = [
    "", " ", "nps", "count", "share", "mean", "d", "score", "channel", "month", "x" * 5000,
    "\x00", "\u202e", "\u200b", "ё", "；", "'; DROP TABLE ds_d; --", '"', "`x`", "../../etc/passwd",
    "/etc/passwd", "1e999", "nan", "NaN", "-0", "0x10", "2024-13-45", "{{x}}", "$(id)", "%s",
    "ATTACH 'x.db'", "read_text('/etc/passwd') IS NOT NULL", "score > 1", "channel = 'web'",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(HOSTILE_TEXT + list(MODELS)),
)
keys = st.one_of(st.sampled_from(SPEC_KEYS + CONFIG_KEYS), st.text(max_size=12))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=24,
)


@st.composite
def spec_like(draw: st.DrawFn) -> dict[str, Any]:
    """A mapping that is often nearly a valid spec: a real kind, dataset, field…"""
    doc: dict[str, Any] = {}
    if draw(st.booleans()):
        doc.update(name="m", kind=draw(st.sampled_from(sorted(MODELS))), dataset="d")
        doc["field"] = draw(st.sampled_from(["score", "channel", "when", "nope"]))
    doc.update(draw(st.dictionaries(st.sampled_from(SPEC_KEYS), values, max_size=6)))
    doc.update(draw(st.dictionaries(keys, values, max_size=2)))
    return doc


def dump(data: Any) -> str:
    try:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, ValueError, UnicodeEncodeError):
        return "name: m\n"


# Hand-written YAML: what safe_dump never produces (duplicates, anchors, tags, odd scalars).
YAML_SCALARS = [
    ".nan", ".NaN", ".inf", "-.inf", "1e309", "-1e309", "9" * 5000, "-" + "9" * 400,
    "0x" + "f" * 3000, "0b" + "1" * 2000, "0o777", "1_000", "~", "null", "yes", "no", "on",
    "2024-01-01", "2024-01-01T10:00:00Z", "'single'", '"double \\x00 \\u202e"', "|\n  block",
    ">\n  folded", "[a, b]", "{x: 1}", "[]", "{}", "&a [1, 2]", "*a", "*undefined",
    "!!python/object/apply:os.system ['id']", "!!binary aGVsbG8=", "!!set {a, b}",
    "!!timestamp 2024-01-01", "!custom x", "<<: *a", '"' + "é" * 3000 + '"', "'it''s'",
    "- x", "? complex", "%TAG", "---", "...", "\t", "@reserved", "`reserved",
]  # fmt: skip
yaml_line = st.tuples(
    st.sampled_from([*SPEC_KEYS, "<<", "&k key", "? key", "- item", "!!str k"]),
    st.sampled_from(YAML_SCALARS),
    st.sampled_from(["", "  ", "    "]),
).map(lambda t: f"{t[2]}{t[0]}: {t[1]}")
raw_yaml = st.lists(yaml_line, min_size=1, max_size=12).map(
    lambda lines: "name: m\nkind: count\ndataset: d\n" + "\n".join(lines) + "\n"
)
any_yaml_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=":-[]{}&*!|>'\"#%@`, \n\tab1", max_size=200),
    raw_yaml,
    spec_like().map(dump),
    st.lists(spec_like(), max_size=3).map(lambda specs: dump({"metrics": specs})),
)


# ------------------------------------------------- 1. properties of the loaders


def check_spec_text(folder: Path, text: str) -> None:
    """Load one spec file: either valid specs, or problems located in that file."""
    path = folder / "s.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    specs, problems = load_spec_file(path, MODELS)
    for s in specs:
        assert s.spec.kind in MODELS and re.fullmatch(r"[a-z][a-z0-9_]{0,63}", s.spec.name)
    if problems:
        assert_located(problems, str(path))
    elif not specs:
        pytest.fail("no spec and no problem")


@settings(HYPOTHESIS, max_examples=300)
@given(any_yaml_text)
@example("name: m\nkind: count\ndataset: d\nname: n\n")  # duplicate key
@example("a: &a [1]\nb: [*a, *a]\nc: *b\n")  # undefined alias
@example("name: m\nkind: count\ndataset: d\nmin_n: " + "9" * 5000 + "\n")
@example(
    "name: m\nkind: share\ndataset: d\nfield: score\npositive: {min: 4}\n"
    "target: {fail_below: .nan}\n"
)
@example("\ufeffname: m\n")
@example("- a\n- b\n")
@example("metrics: {a: 1}\n")
@example("\x00")
def test_any_spec_text_gives_specs_or_located_problems(scratch: Path, text: str) -> None:
    check_spec_text(scratch, text)


def check_config_text(folder: Path, text: str) -> None:
    path = folder / "cxengine.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        project = load_config(path)
    except SpecError as exc:
        assert_located(exc.problems, str(path))
        return
    # A config that loads validates too: sources and their options checked, located.
    _specs, problems = validate_project(project, REGISTRY)
    for p in problems:
        assert LOCATED.match(str(p)) or p.file in ("", str(path)) or p.line == 0, str(p)


config_like = st.dictionaries(
    st.sampled_from(CONFIG_KEYS),
    st.one_of(
        values,
        st.dictionaries(
            st.sampled_from(["d", "e", "", "ds_d", '"; DROP', *HOSTILE_TEXT[:8]]),
            st.dictionaries(st.sampled_from(CONFIG_KEYS), values, max_size=6),
            max_size=2,
        ),
    ),
    max_size=6,
)


@settings(HYPOTHESIS, max_examples=150)
@given(st.one_of(config_like.map(dump), st.text(max_size=200), raw_yaml))
@example("datasets:\n  d: {source: csv, path: x.csv, null_values: ['\\0']}\n")
@example('datasets:\n  d: {source: csv, path: x.csv, fields: {a: {type: date, format: "\\0"}}}\n')
@example("metrics: " + "[" * 200 + "]" * 200 + "\n")
@example("min_n: " + "9" * 9000 + "\n")
@example("database: cx.db\ndatabase: other.db\n")
def test_any_config_text_gives_a_project_or_located_problems(scratch: Path, text: str) -> None:
    folder = scratch / "config"
    folder.mkdir(exist_ok=True)
    check_config_text(folder, text)


def spec_with_where(where: str, dataset: str = "d") -> str:
    return f"name: m\nkind: count\ndataset: {dataset}\nwhere: {json.dumps(where)}\n"


WHERE_VOCABULARY = [
    "channel", "score", "when", '"channel"', "'web'", "1", "-2.5", "TRUE", "NULL", "=", "<>",
    "<", ">=", "AND", "OR", "NOT", "IN", "(", ")", ",", "IS", "LIKE", "BETWEEN", "CAST",
    "AS", "INTEGER", "lower", "year", ";", "--", "/*", "*/", "$$", "?", "ATTACH", "COPY",
    "TO", "PRAGMA", "INSTALL", "LOAD", "read_text", "read_csv", "glob", "'/etc/passwd'",
    "SELECT", "FROM", "；", "ОR", "\u200b", "\u202e", "::", "E'x'", "'", '"',
]  # fmt: skip
where_text = st.one_of(
    st.text(max_size=120),
    st.lists(st.sampled_from(WHERE_VOCABULARY), min_size=1, max_size=20).map(" ".join),
)


@settings(HYPOTHESIS, max_examples=200)
@given(where_text, st.sampled_from(["d", "loose"]))
@example("channel = 'web' AND score >= 4", "d")
@example("1=1; ATTACH 'x.db'", "d")
@example("nope = 1", "d")
def test_any_where_in_a_project_is_accepted_or_located(
    project_dir: Path, where: str, dataset: str
) -> None:
    spec = project_dir / "metric_specs" / "m.yaml"
    spec.write_text(spec_with_where(where, dataset), "utf-8")
    project = load_config(project_dir / "cxengine.yaml")
    specs, problems = validate_project(project, REGISTRY)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        assert_located(errors, str(spec))
        assert {(p.line, p.path) for p in errors} == {(4, "where")}, errors
        assert all(p.message.startswith("bad filter: ") for p in errors)
    else:
        assert [s.name for s in specs] == ["m"]


# ---------------------------------------------------------- 2. bounded documents


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["name: bomb", "kind: count", "dataset: d", 'l0: &l0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


BOUNDED = {
    "billion laughs (9^9 nodes)": (alias_bomb(), f"more than {MAX_NODES} nodes (alias bomb?)"),
    "one long string aliased": (
        "name: bomb\nkind: count\ndataset: d\ntitle: &t " + "x" * 1_000_000 + "\n"
        "tags: [" + ", ".join(["*t"] * 50) + "]\n",
        f"more than {MAX_EXPANDED_CHARS} characters of text (alias bomb?)",
    ),
    "self-referencing alias": ("name: m\nkind: count\ndataset: d\nby: &b [*b]\n", "nesting"),
    "deep flow nesting": ("name: m\ntags: " + "[" * 5_000 + "]" * 5_000 + "\n", "nesting"),
    "deep block nesting": (
        "name: m\n" + "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  x: 1\n",
        f"nesting deeper than {MAX_DEPTH} levels",
    ),
    "huge integer": (
        "name: m\nkind: count\ndataset: d\nmin_n: " + "9" * 10_000 + "\n",
        "number too large",
    ),
    "file over the size limit": (
        "name: m\ndescription: " + "x" * MAX_BYTES + "\n",
        f"larger than {MAX_BYTES} bytes",
    ),
}


@pytest.mark.parametrize("case", sorted(BOUNDED))
def test_hostile_documents_are_bounded_in_spec_files(tmp_path: Path, case: str) -> None:
    text, fragment = BOUNDED[case]
    (tmp_path / "metric_specs").mkdir()
    (tmp_path / "metric_specs" / "bomb.yaml").write_text(text, "utf-8")
    (tmp_path / "cxengine.yaml").write_text("metrics: [metric_specs]\n" + DATASETS, "utf-8")
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "cxengine.yaml"), "validate"])
    assert result.exit_code == 1, result.output
    assert fragment in result.stderr
    assert re.search(r"metric_specs/bomb\.yaml:[1-9][0-9]*: ", result.stderr), result.stderr


@pytest.mark.parametrize("case", sorted(BOUNDED))
def test_hostile_documents_are_bounded_in_the_project_config(tmp_path: Path, case: str) -> None:
    text, fragment = BOUNDED[case]
    config = tmp_path / "cxengine.yaml"
    config.write_text(text.replace("name: ", "database: ", 1), "utf-8")
    with pytest.raises(SpecError) as err:
        load_config(config)
    assert any(fragment in p.message for p in err.value.problems), err.value
    assert_located(err.value.problems, str(config))
    result = CliRunner().invoke(cli, ["--config", str(config), "run"])
    assert result.exit_code == 1 and fragment in result.stderr


# ------------------------------------- 3. hostile `where` through the whole run

SECRET = "TOPSECRET-7f3c-do-not-leak"


@pytest.fixture
def hostile_project(tmp_path: Path) -> Path:
    """A project with a secret file beside its data; returns its folder."""
    (tmp_path / "metric_specs").mkdir()
    (tmp_path / "data.csv").write_text(DATA_CSV, "utf-8")
    (tmp_path / "secret.txt").write_text(SECRET + "\n", "utf-8")
    (tmp_path / "cxengine.yaml").write_text(
        "database: cx.db\nmetrics: [metric_specs]\n" + DATASETS, "utf-8"
    )
    return tmp_path


def hostile_where(d: str) -> list[str]:
    """Filters that would touch files, settings or extensions if they ever ran (d: folder)."""
    secret, att, out = f"'{d}/secret.txt'", f"'{d}/attached.db'", f"'{d}/copied.csv'"
    return [
        # stacked statements and statements alone
        f"1=1; ATTACH {att} AS evil",
        f"ATTACH {att}",
        f"channel = 'web'; COPY ds_d TO {out}",
        f"COPY (SELECT * FROM ds_d) TO {out}",
        f"channel = '' OR 1=1; COPY ds_d TO {out} --",
        f"EXPORT DATABASE '{d}/exported'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "FORCE INSTALL httpfs",
        "1=1; INSTALL httpfs; LOAD httpfs",
        "PRAGMA database_list",
        "1=1; PRAGMA enable_profiling",
        "SET enable_external_access = true",
        "1=1; SET enable_external_access = true",
        "RESET lock_configuration",
        "1=1; SET lock_configuration = false",
        "CALL pragma_version()",
        "1=1; CREATE SECRET (TYPE s3, KEY_ID 'k', SECRET 's')",
        f"WITH s AS (SELECT * FROM read_text({secret})) SELECT 1",
        # injection through a string closed early
        "'; DROP TABLE ds_d; --",
        "channel = 'a'); DROP TABLE ds_d; --",
        f"channel = 'web\\'; ATTACH {att}; --",
        "channel = 'x' OR '1'='1' --",
        # table functions and file readers
        f"read_text({secret}) IS NOT NULL",
        f"length(read_text({secret})) > 0",
        f"lower(read_text({secret})) LIKE '%'",
        f"read_csv({secret}) IS NOT NULL",
        f"read_csv_auto('{d}/data.csv') IS NULL",
        f"read_blob({secret}) IS NULL",
        f"read_json_objects({secret}) IS NULL",
        f"glob('{d}/*') IS NOT NULL",
        f"sniff_csv({secret}) IS NULL",
        "getenv('HOME') IS NOT NULL",
        "current_setting('enable_external_access') = 'false'",
        "query('SELECT 1') IS NULL",
        "query_table('ds_d') IS NULL",
        # sub-queries reaching files or other tables
        f"channel IN (SELECT content FROM read_text({secret}))",
        f"channel = (SELECT content FROM read_text({secret}))",
        f"channel IN (FROM read_text({secret}))",
        f"EXISTS (SELECT * FROM read_csv({secret}))",
        f"(SELECT count(*) FROM glob('{d}/*')) > 0",
        f"score > 0 UNION SELECT content FROM read_text({secret})",
        "ds_d.channel = 'web'",
        "main.ds_d.channel = 'web'",
        # comments, dollar quoting and escapes that could splice statements
        f"channel = 'x' -- '; ATTACH {att}",
        f"channel = 'x' /* */; ATTACH {att} /* */",
        f"channel = $$x$$ OR read_text({secret}) IS NOT NULL",
        f"channel = $q$x$q$; ATTACH {att}",
        f"channel = E'\\x27'; ATTACH {att}",
        "channel = U&'\\0027'",
        "channel = ?",
        "channel = $1",
        # Unicode look-alikes and invisible characters
        f"1=1；ATTACH {att}",  # fullwidth semicolon
        f"1=1\u037e ATTACH {att}",  # Greek question mark, looks like ';'
        f"channel = 'x' ОR read_text({secret}) IS NOT NULL",  # Cyrillic О in OR
        f"АTTACH {att}",  # Cyrillic А in ATTACH
        "channel = 'x' ＯＲ 1=1",  # fullwidth letters
        f"1=1;\u200bATTACH {att}",  # zero-width space
        "channel\u200b = 'web'",
        f"channel = 'web\u202e' OR read_text({secret}) IS NOT NULL",  # RTL override
        "channel = 'web'\u2066 OR 1=1\u2069",  # bidi isolates
        "channel = 'web'\x00; DROP TABLE ds_d",  # NUL
        # types and casts that read or escape
        "channel::BLOB IS NULL",
        "CAST(channel AS JSON) IS NULL",
    ]


def write_specs(project: Path, wheres: list[str]) -> list[str]:
    names = []
    for i, where in enumerate(wheres):
        name = f"w{i:03d}"
        (project / "metric_specs" / f"{name}.yaml").write_text(
            spec_with_where(where).replace("name: m", f"name: {name}"), "utf-8"
        )
        names.append(name)
    return names


def assert_nothing_touched(project: Path, outputs: list[str]) -> None:
    created = {p.name for p in project.iterdir()}
    assert created <= {"metric_specs", "data.csv", "secret.txt", "cxengine.yaml", "cx.db"}
    for text in outputs:
        assert SECRET not in text
    db = project / "cx.db"
    if db.exists():  # nothing of the secret in any stored value either
        with sqlite3.connect(db) as con:
            for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                for row in con.execute(f'SELECT * FROM "{table}"'):
                    assert SECRET not in repr(row)


@pytest.mark.parametrize("dataset", ["d", "loose"])  # declared fields, and fields from data
def test_every_hostile_where_is_refused_before_anything_runs(
    hostile_project: Path, dataset: str
) -> None:
    wheres = hostile_where(str(hostile_project))
    names = write_specs(hostile_project, wheres)
    if dataset == "loose":
        for f in (hostile_project / "metric_specs").iterdir():
            f.write_text(f.read_text("utf-8").replace("dataset: d\n", "dataset: loose\n"), "utf-8")
    project = load_config(hostile_project / "cxengine.yaml")
    loaded: list[str] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        loaded.append("loaded")
        raise AssertionError("data was loaded although the specs are invalid")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cxengine.session, "load_datasets", spy)
        with pytest.raises(SpecError) as err:
            run_project(project, REGISTRY)
    assert not loaded
    problems = err.value.problems
    # Every spec refused, each at its own `where:` line, all reported at once.
    by_file = {Path(p.file).stem: p for p in problems}
    assert sorted(by_file) == names
    for p in problems:
        assert (p.line, p.path) == (4, "where") and p.message.startswith("bad filter: "), p
    assert_nothing_touched(hostile_project, [str(err.value)])

    # The same through the CLI: exit 1, `file:line: where: bad filter: …` on stderr.
    result = CliRunner().invoke(cli, ["--config", str(hostile_project / "cxengine.yaml"), "run"])
    assert result.exit_code == 1
    lines = [ln for ln in result.stderr.splitlines() if ln]
    assert len(lines) == len(wheres)
    assert all(
        re.match(r"^\S*metric_specs/w\d{3}\.yaml:4: where: bad filter: ", ln) for ln in lines
    )
    assert_nothing_touched(hostile_project, [result.output])


def test_an_injected_payload_inside_a_string_is_only_a_value(hostile_project: Path) -> None:
    # Accepted, because it is a plain comparison with a text value; it must stay one.
    d = str(hostile_project)
    payloads = [
        f"'; ATTACH '{d}/attached.db'; --",
        f"x'); COPY ds_d TO '{d}/copied.csv'; --",
        f"$$; SELECT * FROM read_text('{d}/secret.txt'); $$",
        "*/ DROP TABLE ds_d; /*",
    ]
    wheres = ["channel = " + "'" + p.replace("'", "''") + "' OR channel = 'web'" for p in payloads]
    write_specs(hostile_project, wheres)
    result = run_project(load_config(hostile_project / "cxengine.yaml"), REGISTRY)
    overall = {v.metric: v.value for v in result.values if not v.slice and v.period is None}
    assert overall == {f"w{i:03d}": 2 for i in range(len(payloads))}  # the two 'web' rows
    assert result.datasets["d"].rows_used == 3  # the table is intact
    assert_nothing_touched(hostile_project, [json.dumps(result.to_json())])


# ---------------------------------------------------- hostile names: quoted, never pasted

HOSTILE_NAMES = [
    'a"b',
    "`tick`",
    "semi;colon",
    '"; DROP TABLE ds_d; --',
    "it's",
    "select",
    "1; ATTACH 'evil.db'",
    "back\\slash",
    "ёлка",
    "with space",
    "from",
    "x) OR (1=1",
]


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def test_hostile_field_names_are_quoted_in_config_by_and_where(tmp_path: Path) -> None:
    header = ",".join(_csv_cell(n) for n in [*HOSTILE_NAMES, "score"])
    rows = [
        ",".join(["v1"] * len(HOSTILE_NAMES) + ["5"]),
        ",".join(["v2"] * len(HOSTILE_NAMES) + ["3"]),
    ]
    (tmp_path / "data.csv").write_text("\n".join([header, *rows]) + "\n", "utf-8")
    fields = {n: "string" for n in HOSTILE_NAMES}
    # A plain field name reading a hostile column, and a hostile dataset name.
    fields["points"] = {"type": "integer", "column": "score"}
    dataset = 'd"; DROP TABLE x; --'
    config = {
        "database": "cx.db",
        "metrics": ["metric_specs"],
        "datasets": {dataset: {"source": "csv", "path": "data.csv", "fields": fields}},
    }
    (tmp_path / "cxengine.yaml").write_text(json.dumps(config, ensure_ascii=False), "utf-8")
    (tmp_path / "metric_specs").mkdir()
    for i, name in enumerate(HOSTILE_NAMES):
        quoted = '"' + name.replace('"', '""') + '"'
        spec = {
            "name": f"by_{i}",
            "kind": "count",
            "dataset": dataset,
            "field": name,
            "by": [name],
            "where": f"{quoted} <> 'v2' AND points > 0",
        }
        (tmp_path / "metric_specs" / f"by_{i}.yaml").write_text(
            json.dumps(spec, ensure_ascii=False), "utf-8"
        )
    result = run_project(load_config(tmp_path / "cxengine.yaml"), REGISTRY)
    stats = result.datasets[dataset]
    assert (stats.rows_read, stats.rows_used, stats.rows_rejected) == (2, 2, 0)
    for i, name in enumerate(HOSTILE_NAMES):
        values = [v for v in result.values if v.metric == f"by_{i}" and v.period is None]
        sliced = {json.dumps(v.slice, ensure_ascii=False): v.value for v in values}
        # Exactly the name as written, as the slice key; only the 'v1' row passed the filter.
        assert sliced == {"{}": 1, json.dumps({name: "v1"}, ensure_ascii=False): 1}, name
    assert not (tmp_path / "evil.db").exists()
    assert {p.name for p in tmp_path.iterdir()} == {
        "data.csv",
        "cxengine.yaml",
        "metric_specs",
        "cx.db",
    }


def test_hostile_names_in_by_that_are_not_fields_are_located_errors(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text(DATA_CSV, "utf-8")
    (tmp_path / "cxengine.yaml").write_text("metrics: [metric_specs]\n" + DATASETS, "utf-8")
    (tmp_path / "metric_specs").mkdir()
    for i, name in enumerate(HOSTILE_NAMES):
        spec = {"name": f"m{i}", "kind": "count", "dataset": "d", "by": ["channel", name]}
        (tmp_path / "metric_specs" / f"m{i}.yaml").write_text(
            json.dumps(spec, ensure_ascii=False), "utf-8"
        )
    with pytest.raises(SpecError) as err:
        run_project(load_config(tmp_path / "cxengine.yaml"), REGISTRY)
    assert len(err.value.problems) == len(HOSTILE_NAMES)
    for p in err.value.problems:
        assert p.path == "by[1]" and "is not a field of dataset 'd'" in p.message, p


# ------------------------------------------------------ the second wall: DuckDB locked


def second_wall_attacks(d: str) -> dict[str, str]:
    """Statements that must fail on the locked connection, with the error they must give."""
    return {
        f"SELECT * FROM read_csv('{d}/secret.txt')": "Permission",
        f"SELECT * FROM read_text('{d}/secret.txt')": "Permission",
        f"SELECT * FROM read_blob('{d}/secret.txt')": "Permission",
        f"SELECT * FROM glob('{d}/*')": "Permission",
        f"SELECT * FROM read_parquet('{d}/x.parquet')": "Permission",
        f"ATTACH '{d}/attached.db' AS evil": "Permission",
        f"COPY ds_d TO '{d}/copied.csv'": "Permission",
        f"EXPORT DATABASE '{d}/exported'": "Permission",
        "INSTALL httpfs": "Permission",
        "LOAD httpfs": "",
        "SET enable_external_access = true": "Cannot change configuration",
        "SET GLOBAL enable_external_access = true": "Cannot change configuration",
        "RESET enable_external_access": "Cannot change configuration",
        "SET lock_configuration = false": "Cannot change configuration",
        "SET autoinstall_known_extensions = true": "Cannot change configuration",
        "SET autoload_known_extensions = true": "Cannot change configuration",
        "SET allowed_directories = ['/']": "Cannot change configuration",
    }


def probe_locked(con: duckdb.DuckDBPyConnection, d: str, table: str) -> dict[str, str]:
    """Run every attack; return the ones that did NOT fail as they must."""
    survived = {}
    for sql, expected in second_wall_attacks(d).items():
        try:
            con.execute(sql).fetchall()
        except duckdb.Error as exc:
            if expected not in str(exc):
                survived[sql] = f"failed for another reason: {exc}"
        else:
            survived[sql] = "ran"
    assert con.execute("SELECT current_setting('enable_external_access')").fetchone() == (False,)
    assert con.execute(f'SELECT count(*) FROM "{table}"').fetchone() == (3,)
    return survived


def test_the_connection_the_runner_computes_with_is_locked(hostile_project: Path) -> None:
    (hostile_project / "metric_specs" / "m.yaml").write_text(spec_with_where("score > 0"), "utf-8")
    d = str(hostile_project)
    seen: list[dict[str, str]] = []
    real = cxengine.session.compute_spec

    def compute_and_attack(con: duckdb.DuckDBPyConnection, *args: Any, **kwargs: Any) -> Any:
        seen.append(probe_locked(con, d, "ds_d"))
        return real(con, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cxengine.session, "compute_spec", compute_and_attack)
        result = run_project(load_config(hostile_project / "cxengine.yaml"), REGISTRY)
    assert seen == [{}]  # the runner computed once, and every attack failed
    assert [v.value for v in result.values if not v.slice] == [3]  # the table still queries
    assert_nothing_touched(hostile_project, [json.dumps(result.to_json())])


def test_lock_down_after_loading_keeps_the_datasets_queryable(hostile_project: Path) -> None:
    project = load_config(hostile_project / "cxengine.yaml")
    con = duckdb.connect()
    try:
        loaded = load_datasets(con, project, REGISTRY, {"d", "loose"})
        lock_down(con)
        assert probe_locked(con, str(hostile_project), loaded["d"].table) == {}
        assert con.execute(f'SELECT sum(score) FROM "{loaded["loose"].table}"').fetchone() == (9,)
    finally:
        con.close()
    assert_nothing_touched(hostile_project, [])


def test_a_filter_that_slipped_past_the_whitelist_still_cannot_read_files(
    hostile_project: Path,
) -> None:
    """Defence in depth: switch the whitelist off and the lock-down alone stops the read."""
    d = str(hostile_project)
    where = f"channel IN (SELECT content FROM read_text('{d}/secret.txt'))"
    (hostile_project / "metric_specs" / "m.yaml").write_text(spec_with_where(where), "utf-8")
    import cxengine.expr
    import cxengine.filter_syntax
    from cxengine.filter_syntax.nodes import Boolean

    with pytest.MonkeyPatch.context() as mp:
        # Both walls off: the spec check (standard library) and the run's (sqlglot).
        always = Boolean(True, start=0, end=0)
        mp.setattr(cxengine.filter_syntax, "check_filter", lambda text, columns=None: always)
        mp.setattr(cxengine.expr, "_check_tree", lambda tree, text: None)
        mp.setattr(cxengine.expr, "_resolve_column", lambda col, columns, text: None)
        # One spec's execution error is that spec's located failure (issue 13, item 6).
        result = run_project(load_config(hostile_project / "cxengine.yaml"), REGISTRY)
    (failure,) = [str(p) for p in result.failed]
    assert "m.yaml" in failure and "Permission Error" in failure
    assert SECRET not in failure
    assert_nothing_touched(hostile_project, [failure])


# ------------------------------------------------------------------- the figures


def corpus_sizes() -> dict[str, int]:
    """How much hostile input this module throws (for docs/reliability.md)."""
    return {
        "hostile where expressions run through run_project": len(hostile_where("/x")),
        "hostile field names": len(HOSTILE_NAMES),
        "bounded documents": len(BOUNDED),
        "second-wall statements": len(second_wall_attacks("/x")),
    }


def test_the_corpus_is_as_large_as_documented() -> None:
    sizes = corpus_sizes()
    assert sizes["hostile where expressions run through run_project"] >= 60
    assert sizes["second-wall statements"] >= 15
