"""pydantic's validation errors in cxengine's words: a key path and a plain message.

pydantic reports the inside of its machinery — union branch tags in the location
(`positive.function-after[_ordered(), Range].mn`), one error per branch tried
(`Input should be a valid list` beside the real mistake), class names (`a valid
dictionary or instance of Scale`), `Value error, ` prefixes. An analyst writing YAML
needs the key path, what is expected there, and for a misspelt key the closest
known one — also inside nested mappings (`target.wrn` → did you mean `warn`?).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from cxengine.errors import did_you_mean

KeyPath = tuple[str | int, ...]

#: Error types saying "the value has the wrong shape", with what was expected.
_EXPECTED = {
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
    "dict_type": "a mapping of keys to values",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "string_type": "a text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "date_type": "a date such as 2025-03-31",
    "date_parsing": "a date such as 2025-03-31",
    "date_from_datetime_parsing": "a date such as 2025-03-31",
    "datetime_type": "a date and time such as 2025-03-31 14:30",
    "datetime_parsing": "a date and time such as 2025-03-31 14:30",
    "finite_number": "a finite number",
    "none_required": "empty",
}
_PATTERNS = {
    "^[a-z][a-z0-9_]{0,63}$": "a name of lowercase letters, digits and _, starting with a "
    "letter (at most 64)",
}
_TAG = re.compile(r"[\[\](),]|^function-|^json-or-python|^lax-or-strict|^tagged-union")


def plain_key_path(loc: Sequence[str | int]) -> KeyPath:
    """Drop pydantic's union-branch and validator tags from an error location."""
    return tuple(p for p in loc if isinstance(p, int) or not _TAG.search(p))


def _branch_of(loc: Sequence[str | int]) -> KeyPath:
    """Return the location up to and including the first union-branch tag ('' if none)."""
    for i, p in enumerate(loc):
        if isinstance(p, str) and _TAG.search(p):
            return tuple(loc[: i + 1])
    return ()


def choose_branches(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep, for a value tried against several union branches, the errors that matter.

    A branch whose error is only "wrong shape" at the union itself is noise when
    another branch got inside the value (`{mn: 4}` is a mapping: the Range branch's
    "unknown key 'mn'" is the mistake, the list branch's "not a list" is not). When
    every branch failed on the shape, one error says what any of them would take.
    """
    by_union: dict[KeyPath, list[dict[str, Any]]] = {}
    plain: list[dict[str, Any]] = []
    for err in errors:
        branch = _branch_of(err["loc"])
        if branch:
            by_union.setdefault(branch[:-1], []).append(err)
        else:
            plain.append(err)
    kept = list(plain)
    for union, errs in by_union.items():
        deep = [
            e
            for e in errs
            if len(plain_key_path(e["loc"])) > len(plain_key_path(union))
            or e["type"] not in _EXPECTED
        ]
        if deep:
            kept.extend(deep)
            continue
        wanted = list(dict.fromkeys(_EXPECTED[e["type"]] for e in errs))
        first = dict(errs[0])
        first["loc"] = union
        first["type"] = "cx_one_of"
        first["msg"] = f"must be {' or '.join(wanted)}"
        kept.append(first)
    return kept


def message(err: dict[str, Any], choices: Sequence[str] = ()) -> str:
    """Return an error's message in plain words, with the value given when it helps."""
    kind, msg = err["type"], str(err["msg"])
    given = err.get("input")
    got = "" if isinstance(given, dict | list) else f" (got {given!r})"
    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        return f"unknown key {key!r}{did_you_mean(key, list(choices))}"
    if kind == "missing":
        return "required key is missing"
    if kind == "cx_one_of":
        return f"{msg}{got}"
    if kind in _EXPECTED:
        return f"must be {_EXPECTED[kind]}{got}"
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        hint = did_you_mean(str(given), expected) if isinstance(given, str) else ""
        return f"must be one of {', '.join(expected)}{got}{hint}"
    if kind == "string_pattern_mismatch":
        pattern = str((err.get("ctx") or {}).get("pattern", ""))
        return f"must be {_PATTERNS.get(pattern, f'text matching {pattern}')}{got}"
    if kind == "value_error":
        return msg.removeprefix("Value error, ") + ("" if given is None else got)
    if kind == "assertion_error":
        return msg.removeprefix("Assertion failed, ")
    text = msg.replace("Input should be", "must be").replace("Input should", "must")
    text = text.replace("String should", "must").replace("List should", "must")
    text = text.replace("Value should", "must").replace("Dictionary should", "must")
    return f"{text}{got}"


def keys_at(model: type[BaseModel] | None, path: KeyPath, data: Any = None) -> list[str]:
    """Return the keys the mapping at `path` (inside a `model`) accepts; [] when unknown."""
    current: Any = model
    for part in path:
        current = _step(current, part)
        if current is None:
            return []
    found = _model_in(current)
    return list(found.model_fields) if found is not None else []


def _step(annotation: Any, part: str | int) -> Any:
    """Return the annotation one key (or index) further in, None when it cannot be told."""
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        info = annotation.model_fields.get(str(part))
        if info is None:  # an alias (`from` for from_)
            info = next((f for f in annotation.model_fields.values() if f.alias == part), None)
        return None if info is None else info.annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (list, tuple, set, frozenset, Sequence) and args:
        return args[0]
    if origin in (dict, typing.Mapping) and len(args) == 2:
        return args[1]
    if _is_union(annotation):
        for arg in args:
            inner = _step(arg, part)
            if inner is not None:
                return inner
    return None


def _unwrap(annotation: Any) -> Any:
    # Annotated[X, …] → X
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0]
    return annotation


def _is_union(annotation: Any) -> bool:
    return isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union


def _model_in(annotation: Any) -> type[BaseModel] | None:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if _is_union(annotation):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
