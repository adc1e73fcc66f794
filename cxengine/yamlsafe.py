"""Safe YAML loading that remembers where every key and value came from.

PyYAML's safe loader throws away line numbers and silently keeps the last of two
duplicate keys. Specs are written by hand, so every error must point at a line: this
module composes the node graph with the safe loader, then builds plain Python data
itself, recording the line of every key path. Alias bombs and deep nesting are
bounded because the walk counts the nodes it visits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cxengine.errors import Problem

MAX_NODES = 100_000  # a real spec has a few dozen; alias bombs expand to billions
MAX_DEPTH = 64
MAX_BYTES = 2_000_000
# Aliases of one long string repeat it without new bytes in the file; the text a
# document expands to is bounded too, or storing the spec (JSON) would blow up.
MAX_EXPANDED_CHARS = 4 * MAX_BYTES

MAX_INT = 2**1023  # about 9e307: beyond any count, id or threshold a spec holds

PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}

#: libyaml's scanner and parser, when PyYAML was built with them: the same tokens and
#: nodes (marks included) about ten times faster than PyYAML's Python ones, which cost
#: a few ms per spec in every command that reads specs (a reused run included).
#: Invalid YAML is parsed again by PyYAML, so its messages and lines stay the same.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)

KeyPath = tuple[str | int, ...]


#: YAML 1.1 booleans spelled as words; a key written so keeps its text.
_WORD_BOOLEANS = frozenset({"on", "off", "yes", "no", "y", "n"})


@dataclass
class Positions:
    """Line numbers (1-based) of every key path in one YAML document."""

    file: str
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, path: KeyPath) -> int:
        """Return the line of a key path, or of its nearest parent that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), 1)

    def problem(self, path: KeyPath, message: str, severity: str = "error") -> Problem:
        """Make a Problem located at a key path."""
        return Problem(self.file, self.line(path), format_path(path), message, severity)


def format_path(path: KeyPath) -> str:
    """Format ('by', 0) as 'by[0]' and ('target', 'warn') as 'target.warn'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class YamlProblems(Exception):
    """The YAML could not be turned into data; carries located problems."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


class _Builder:
    def __init__(self, file: str):
        self.positions = Positions(file)
        self.problems: list[Problem] = []
        self.visited = 0
        self.chars = 0
        self.constructor = yaml.SafeLoader("")  # only for scalar resolution

    def build(self, node: yaml.Node, path: KeyPath, depth: int) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise YamlProblems(
                [
                    self._at(
                        node, path, f"document expands to more than {MAX_NODES} nodes (alias bomb?)"
                    )
                ]
            )
        if depth > MAX_DEPTH:
            raise YamlProblems([self._at(node, path, f"nesting deeper than {MAX_DEPTH} levels")])
        if isinstance(node, yaml.ScalarNode):
            self.chars += len(node.value)
            if self.chars > MAX_EXPANDED_CHARS:
                raise YamlProblems(
                    [
                        self._at(
                            node,
                            path,
                            f"document expands to more than {MAX_EXPANDED_CHARS} characters "
                            "of text (alias bomb?)",
                        )
                    ]
                )
        self.positions.lines.setdefault(path, node.start_mark.line + 1)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in PLAIN_TAGS:
            # Scalars go through the safe constructor; collections are built here, so
            # refuse tags such as !!python/object/apply ourselves.
            self.problems.append(self._at(node, path, f"tag {node.tag!r} is not allowed"))
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        try:
            self.constructor.flatten_mapping(node)  # resolves `<<:` merge keys safely
        except yaml.YAMLError as exc:  # `<<: 5`: a merge key needs mappings
            mark = getattr(exc, "problem_mark", None) or node.start_mark
            problem = getattr(exc, "problem", None) or str(exc)
            self.problems.append(
                Problem(
                    self.positions.file,
                    mark.line + 1,
                    format_path(path),
                    f"bad `<<` merge: {problem}",
                )
            )
            return out
        for key_node, value_node in node.value:
            key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool) or key is None:
                self.problems.append(self._at(key_node, path, "keys must be plain scalars"))
                continue
            if isinstance(key, bool) and str(key_node.value).lower() in _WORD_BOOLEANS:
                # YAML 1.1 reads `on:`, `yes:` as true; as a key that is never meant
                # (a join's `on:`), so such a key keeps its text.
                key = str(key_node.value)
            key = str(key)
            child = (*path, key)
            if key in out:
                first = self.positions.lines.get(child, 0)
                self.problems.append(
                    self._at(
                        key_node, child, f"duplicate key {key!r} (first defined on line {first})"
                    )
                )
                continue
            self.positions.lines[child] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, child, depth + 1)
        return out

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        try:
            value = self.constructor.construct_object(node, deep=False)
        except yaml.YAMLError as exc:
            self.problems.append(self._at(node, path, f"bad value: {exc}"))
            return None
        except ValueError:  # an integer of more digits than Python converts from text
            value = MAX_INT + 1
        if isinstance(value, int) and abs(value) > MAX_INT:
            # No spec needs such a number, and one this long cannot even be printed
            # in an error message (Python refuses int -> text beyond 4300 digits).
            self.problems.append(self._at(node, path, f"number too large: {node.value[:20]}…"))
            return None
        return value

    def _at(self, node: yaml.Node, path: KeyPath, message: str) -> Problem:
        return Problem(self.positions.file, node.start_mark.line + 1, format_path(path), message)


_OPENING = (
    yaml.FlowSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.BlockMappingStartToken,
)
_CLOSING = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)


def _refuse_deep_nesting(text: str, file: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH from the token stream, before composing.

    PyYAML's composer recurses once per level: 5,000 `[` ran into Python's recursion
    limit only after seconds of work (17 s on a loaded machine). The scanner is a loop,
    so counting open collections on its tokens costs a fraction of that and names
    the line where the nesting gets too deep. Syntax errors are left to the composer.
    """
    _refuse_deep_brackets(text, file)
    depth = 0
    try:
        for token in yaml.scan(text, Loader=_FAST_LOADER or yaml.SafeLoader):
            if isinstance(token, _OPENING):
                depth += 1
                if depth > MAX_DEPTH:
                    line = token.start_mark.line + 1
                    raise YamlProblems(
                        [Problem(file, line, "", f"nesting deeper than {MAX_DEPTH} levels")]
                    )
            elif isinstance(token, _CLOSING):
                depth -= 1
    except yaml.YAMLError:
        return


def _refuse_deep_brackets(text: str, file: str) -> None:
    """Refuse `[`/`{` nested deeper than MAX_DEPTH, counted on the characters.

    The token scan is quadratic in open flow collections (PyYAML re-checks every
    pending "simple key" per token), so thousands of `[` are caught here first, in one
    pass. Quoted text and comments are skipped; a miscount can only let a file through
    to the token scan, which is exact.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth, line, quote, comment = 0, 1, "", False
    previous = "\n"
    for ch in text:
        if ch == "\n":
            line, comment = line + 1, False
        elif comment:
            pass
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"" and previous in " \t\n[{,:":
            quote = ch
        elif ch == "#" and previous in " \t\n":
            comment = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlProblems(
                    [Problem(file, line, "", f"nesting deeper than {MAX_DEPTH} levels")]
                )
        elif ch in "]}":
            depth = max(0, depth - 1)
        previous = ch


def load_text(text: str, file: str) -> tuple[Any, Positions]:
    """Parse one YAML document from text; raise YamlProblems with located messages."""
    if len(text) > MAX_BYTES:
        raise YamlProblems([Problem(file, 1, "", f"file is larger than {MAX_BYTES} bytes")])
    _refuse_deep_nesting(text, file)
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlProblems(
            [Problem(file, line, "", f"invalid YAML: {exc.problem or exc}")]
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblems([Problem(file, 1, "", f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise YamlProblems([Problem(file, 1, "", "nesting too deep")]) from None
    builder = _Builder(file)
    if node is None:
        return None, builder.positions
    data = builder.build(node, (), 0)
    if builder.problems:
        raise YamlProblems(builder.problems)
    return data, builder.positions


def _compose(text: str) -> yaml.Node | None:
    """Compose the node graph with libyaml when present; errors as PyYAML reports them."""
    if _FAST_LOADER is not None:
        try:
            node: yaml.Node | None = yaml.compose(text, Loader=_FAST_LOADER)
            return node
        except yaml.YAMLError:
            pass  # parsed again below: PyYAML's message and line are the ones users see
    return yaml.compose(text, Loader=yaml.SafeLoader)


def load_file(path: Path, display: str | None = None) -> tuple[Any, Positions]:
    """Read and parse a YAML file (UTF-8); errors name the file as `display`."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlProblems(
            [Problem(name, 0, "", f"cannot read file: {exc.strerror or exc}")]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlProblems([Problem(name, 1, "", f"not UTF-8 text (byte {exc.start})")]) from None
    return load_text(text, name)


def iter_paths(data: Any, path: KeyPath = ()) -> Iterator[KeyPath]:
    """Yield every key path in plain data (used by tests and suggestions)."""
    yield path
    if isinstance(data, dict):
        for k, v in data.items():
            yield from iter_paths(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from iter_paths(v, (*path, i))
