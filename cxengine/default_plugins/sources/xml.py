"""The `xml` source: one row per record element of an XML file (locator `file:line`).

Survey platforms and review corpora export XML (the SentiRuEval restaurant reviews:
one ``<review id="…">`` with ``<scores><food>8</food>…``). The dataset names the
record element and, for each column, where its value sits inside a record:

```yaml
reviews:
  source: xml
  path: data/reviews.xml          # or a glob: data/reviews_*.xml (files in name order)
  record: review                  # the element that is one row, at any depth
  columns:
    review_id: "@id"              # an attribute of the record
    food: scores/food             # the text of a child element (a path of tags)
    written_at: meta/date
    text: text
```

A column whose element or attribute is absent is empty. The file is read with the
standard library's expat parser, streaming, and any document type declaration is
refused: no entity can expand (no "billion laughs") and nothing external is fetched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.parsers import expat

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cxengine import hookimpl
from cxengine.dataset.files import check_allowed, input_file
from cxengine.errors import DataError
from cxengine.interfaces import SourceContext, SourceData

CHUNK = 1 << 16


class XmlOptions(BaseModel):
    """Options of the xml source."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="the XML file (or a glob of files), relative to cxengine.yaml")
    record: str = Field(description="tag of the element that is one row, e.g. review")
    columns: dict[str, str] = Field(
        min_length=1,
        description="column name -> '@attribute' of the record or a child path such as scores/food",
    )

    @field_validator("columns")
    @classmethod
    def _paths(cls, value: dict[str, str]) -> dict[str, str]:
        for name, where in value.items():
            parts = where.split("/")
            bad = [p for p in parts[:-1] if not p or p.startswith("@")]
            if not where or bad or parts[-1] in ("", "@"):
                raise ValueError(
                    f"column {name!r}: {where!r} is not '@attribute', 'tag' or 'tag/…/tag[/@attr]'"
                )
        return value


class _Reader:
    """Stream records out of one file with expat, remembering each record's line."""

    def __init__(self, path: Path, origin: str, options: XmlOptions):
        self.path, self.origin, self.options = path, origin, options
        # column -> (element path below the record, attribute or None)
        self.wanted: dict[str, tuple[tuple[str, ...], str | None]] = {}
        for name, where in options.columns.items():
            parts = where.split("/")
            attr = parts[-1][1:] if parts[-1].startswith("@") else None
            tags = tuple(parts[:-1] if attr is not None else parts)
            self.wanted[name] = (tags, attr)

    def records(self) -> Iterator[tuple[int, dict[str, str | None]]]:
        """Yield (line, row) for every record element, in document order."""
        parser = expat.ParserCreate()
        done: list[tuple[int, dict[str, str | None]]] = []
        stack: list[str] = []
        current: dict[str, str | None] | None = None
        depth = 0  # depth of the record element in `stack`
        text: list[str] = []
        line = 0

        def refuse_doctype(*_: Any) -> None:
            raise DataError(
                f"{self.origin}: XML document type declarations are not read "
                "(they can define entities); remove the <!DOCTYPE …> line"
            )

        def start(tag: str, attrs: dict[str, str]) -> None:
            nonlocal current, depth, line
            stack.append(tag)
            if current is None and tag == self.options.record:
                current, depth, line = (
                    {c: None for c in self.wanted},
                    len(stack),
                    parser.CurrentLineNumber,
                )
            if current is not None:
                rel = tuple(stack[depth:])
                for col, (tags, attr) in self.wanted.items():
                    if attr is not None and rel == tags and current[col] is None:
                        current[col] = attrs.get(attr)
            text.clear()

        def end(tag: str) -> None:
            nonlocal current
            if current is not None:
                rel = tuple(stack[depth:])
                for col, (tags, attr) in self.wanted.items():
                    if attr is None and rel == tags and current[col] is None:
                        current[col] = "".join(text).strip()
                if len(stack) == depth:
                    done.append((line, current))
                    current = None
            stack.pop()
            text.clear()

        def chars(data: str) -> None:
            text.append(data)

        parser.StartDoctypeDeclHandler = refuse_doctype
        parser.EntityDeclHandler = refuse_doctype
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = chars
        with self.path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                try:
                    parser.Parse(chunk, False)
                except expat.ExpatError as exc:
                    raise DataError(
                        f"{self.origin}:{exc.lineno}: not well-formed XML: "
                        f"{expat.ErrorString(exc.code)}"
                    ) from None
                yield from done
                done.clear()
            try:
                parser.Parse(b"", True)
            except expat.ExpatError as exc:
                raise DataError(
                    f"{self.origin}:{exc.lineno}: not well-formed XML: "
                    f"{expat.ErrorString(exc.code)}"
                ) from None
            yield from done


class XmlSource:
    """XML files: one row per record element, columns from attributes and child text."""

    name = "xml"
    description = "XML files: one row per record element; columns from attributes and child paths"
    options_model = XmlOptions

    def input_files(self, context: SourceContext) -> list[Path]:
        """Return the files the rows are read from, the glob expanded (for the rerun cache)."""
        opts = XmlOptions.model_validate(context.options)
        return _files(context, opts.path)

    def open(self, context: SourceContext) -> SourceData:
        """Describe the rows of the file(s)."""
        opts = XmlOptions.model_validate(context.options)
        files = _files(context, opts.path)
        readers = [_Reader(p, _shown(opts.path, p, len(files)), opts) for p in files]
        lines: list[tuple[str, int]] = []

        def rows() -> Iterator[Mapping[str, Any]]:
            for reader in readers:
                for line, row in reader.records():
                    lines.append((reader.origin, line))
                    yield row

        def locate(indexes: Sequence[int]) -> Mapping[int, str]:
            return {i: f"{lines[i][0]}:{lines[i][1]}" for i in indexes if 0 <= i < len(lines)}

        def fingerprint() -> str:
            h = hashlib.blake2b(digest_size=20)
            for p in files:
                h.update(p.name.encode() + b"\0")
                with p.open("rb") as fh:
                    while chunk := fh.read(1 << 20):
                        h.update(chunk)
            return "blake2b:" + h.hexdigest()

        return SourceData(rows=rows(), origin=opts.path, locate=locate, fingerprint=fingerprint)


def _files(context: SourceContext, pattern: str) -> list[Path]:
    if not any(c in pattern for c in "*?["):
        return [input_file(context, pattern)]
    resolved = context.resolve(pattern)
    found = sorted(p for p in resolved.parent.glob(resolved.name) if p.is_file())
    for p in found:
        check_allowed(context, p)
    if not found:
        raise DataError(f"dataset {context.dataset!r}: no file matches {resolved}")
    return found


def _shown(pattern: str, path: Path, count: int) -> str:
    return pattern if count == 1 and not any(c in pattern for c in "*?[") else path.name


@hookimpl
def register_sources(register: Callable[..., None]) -> None:
    """Register the xml source."""
    register(XmlSource())
