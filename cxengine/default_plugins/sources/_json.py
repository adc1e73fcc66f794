"""Shared reading of JSON Lines and JSON array files with DuckDB's JSON reader.

Each record is read as a JSON value (read_json_objects), then every key seen in any
object becomes a text column, in order of first appearance. Records that are not
objects, and JSON Lines that do not parse, are malformed: they are rejected with
their line (or array index) and Python's JSON error, and take no row index.
"""

from __future__ import annotations

import codecs
import itertools
import json
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cxengine.dataset.encoding import transcode_to_utf8
from cxengine.dataset.files import FileHasher, input_file
from cxengine.dataset.notes import note, unique_names
from cxengine.dataset.sql import ident, run
from cxengine.errors import DataError
from cxengine.interfaces import Reject, SourceContext, SourceData

if TYPE_CHECKING:
    import duckdb
else:
    from cxengine.lazy import duckdb

_tables = itertools.count()


@dataclass
class _Read:
    dataset: str
    path: Path
    origin: str
    lines: bool  # JSON Lines (True) or one top-level array (False)
    table: str = field(default_factory=lambda: f"_cx_json_{next(_tables)}")
    bad: list[int] = field(default_factory=list)  # record positions that are not usable objects


def open_json(context: SourceContext, path_option: str, *, lines: bool) -> SourceData:
    """Describe a JSON Lines (lines=True) or JSON array file as SourceData."""
    path = input_file(context, path_option)
    hasher = FileHasher(path)
    if path.stat().st_size == 0 or (not lines and not path.read_bytes()[:4096].strip()):
        return SourceData(rows=[], origin=path_option, fingerprint=hasher.result)
    read = _Read(context.dataset, path, path_option, lines)
    with path.open("rb") as f:
        head = f.read(2)
    if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        # DuckDB's JSON reader takes UTF-8 only; a UTF-16 export (with its BOM) is
        # transcoded, newlines and so line numbers kept.
        read.path = transcode_to_utf8(path, "utf-16")
        weakref.finalize(read, read.path.unlink, missing_ok=True)
    return SourceData(
        relation=lambda con: _relation(con, read),
        origin=path_option,
        malformed=lambda con: _malformed(con, read),
        locate=_locator(read),
        fingerprint=hasher.result,
    )


def _relation(con: duckdb.DuckDBPyConnection, read: _Read) -> duckdb.DuckDBPyRelation:
    fmt = "newline_delimited" if read.lines else "array"
    ignore = ", ignore_errors = true" if read.lines else ""
    try:
        run(
            con,
            f"CREATE TEMP TABLE {ident(read.table)} AS SELECT json AS j, "
            f"coalesce(json_type(json) = 'OBJECT', false) AS ok "
            f"FROM read_json_objects($path, format = '{fmt}'{ignore})",
            {"path": str(read.path)},
        )
    except duckdb.Error as exc:
        if read.lines:
            raise
        raise DataError(f"dataset {read.dataset!r}: {_array_problem(read, exc)}") from exc
    read.bad = [
        r[0]
        for r in con.execute(
            f"SELECT rowid FROM {ident(read.table)} WHERE NOT ok ORDER BY rowid"
        ).fetchall()
    ]
    keys = [
        r[0]
        for r in con.execute(
            f"SELECT k FROM (SELECT unnest(json_keys(j)) AS k, "
            f"generate_subscripts(json_keys(j), 1) AS i, rowid AS r "
            f"FROM {ident(read.table)} WHERE ok) GROUP BY k ORDER BY min(r * 1000000 + i)"
        ).fetchall()
    ]
    names, messages = unique_names(keys)
    for m in messages:
        note(f"{read.origin}: {m}")
    if not keys:  # objects, but not one key in any: the loader adds the declared fields
        from cxengine.dataset.load import NO_COLUMNS  # the loader imports DuckDB

        return con.sql(
            f"SELECT NULL::VARCHAR AS {ident(NO_COLUMNS)} FROM {ident(read.table)} WHERE ok"
        )
    # Keys are bound parameters, never SQL text: a key may hold quotes or even NUL.
    cols = ", ".join(f"json_extract_string(j, $k{i}) AS {ident(n)}" for i, n in enumerate(names))
    params = {f"k{i}": _pointer(k) for i, k in enumerate(keys)}
    return con.sql(f"SELECT {cols} FROM {ident(read.table)} WHERE ok", params=params)


def _pointer(key: str) -> str:
    # A JSON Pointer (RFC 6901) names any key exactly, the empty key included, which
    # a JSONPath member ($."…") cannot.
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _array_problem(read: _Read, exc: duckdb.Error) -> str:
    """Say where and why a JSON array file does not parse (DuckDB only gives a byte)."""
    raw = read.path.read_bytes()
    try:
        value = json.loads(raw)
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        return f"{read.origin}:{line}: not valid UTF-8 text (byte {err.start}); JSON must be UTF-8"
    except json.JSONDecodeError as err:
        problem = f"{read.origin}:{err.lineno}: invalid JSON: {err.msg} (column {err.colno})"
        return problem + (_JSONL_HINT if raw.lstrip()[:1] == b"{" else "")
    except RecursionError:
        return f"{read.origin}: the JSON is nested too deeply to read"
    if isinstance(value, list):  # Python reads what JSON forbids (NaN, lone surrogates)
        detail = str(exc).split("\n", 1)[0].replace(str(read.path), read.origin)
        return f"{read.origin}: the JSON array could not be read: {detail}"
    hint = _JSONL_HINT if isinstance(value, dict) else ""
    return f"{read.origin}: the top-level value is a JSON {_kind(value)}, not an array{hint}"


_JSONL_HINT = "; a file of one object per line is JSON Lines: use `source: jsonl`"


def _kind(value: object) -> str:
    if value is None:
        return "null"
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number"}
    return names.get(type(value), "number")


def _malformed(con: duckdb.DuckDBPyConnection, read: _Read) -> list[Reject]:
    run(con, f"DROP TABLE IF EXISTS {ident(read.table)}")
    if not read.bad:
        return []
    found = _records(read, set(read.bad))
    rejects = []
    for pos in read.bad:
        where, raw = found.get(pos, (f"[{pos}]" if not read.lines else f" record {pos + 1}", b""))
        text = raw.decode("utf-8", "replace")
        try:
            if not raw and not read.lines:
                raise LookupError  # the array was too deep for Python to re-read
            value = json.loads(raw.decode("utf-8"))
            reason = f"a JSON {_kind(value)} is not an object of fields"
        except LookupError:
            reason = "the element is not an object of fields"
        except UnicodeDecodeError as err:
            reason = f"not valid UTF-8 text (byte {err.start} of the record); JSON must be UTF-8"
        except json.JSONDecodeError as err:
            reason = f"invalid JSON: {err.msg} (column {err.colno})"
        except RecursionError:
            reason = "the record is nested too deeply to read"
        rejects.append(
            Reject(
                read.dataset,
                f"{read.origin}{where}",
                f"malformed record: {reason}",
                value=text[:200] or None,
            )
        )
    return rejects


def _records(read: _Read, wanted: set[int]) -> dict[int, tuple[str, bytes]]:
    """Return the locator suffix and bytes of the wanted record positions (blank lines skipped)."""
    out: dict[int, tuple[str, bytes]] = {}
    if not wanted:
        return out
    last = max(wanted)
    if read.lines:
        pos = 0
        with read.path.open("rb") as f:
            for number, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue  # DuckDB skips blank lines too
                if pos in wanted:
                    out[pos] = (f":{number}", raw.strip())
                if pos >= last:
                    break
                pos += 1
        return out
    try:
        items = json.loads(read.path.read_bytes())
    except (ValueError, RecursionError):  # DuckDB read it; Python may refuse (too deep, …)
        return out
    for pos in wanted:
        if isinstance(items, list) and pos < len(items):
            out[pos] = (f"[{pos}]", json.dumps(items[pos], ensure_ascii=False).encode())
    return out


def _locator(read: _Read) -> Callable[[Sequence[int]], Mapping[int, str]]:
    def locate(rows: Sequence[int]) -> Mapping[int, str]:
        # Row indexes count usable records only; map them back to record positions.
        bad = sorted(read.bad)
        positions: dict[int, int] = {}
        for row in rows:
            pos = row
            for b in bad:
                if b <= pos:
                    pos += 1
                else:
                    break
            positions[row] = pos
        if read.lines:
            found = _records(read, set(positions.values()))
            return {
                row: f"{read.origin}{found[p][0]}" for row, p in positions.items() if p in found
            }
        return {row: f"{read.origin}[{p}]" for row, p in positions.items()}

    return locate
