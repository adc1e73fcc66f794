"""Theme taxonomies in YAML: safe loading, validation with file:line, merging, versions.

A taxonomy file looks like::

    themes:
      - id: delivery
        title: Delivery
        terms:
          en: [delivery, shipping, courier, arrive late]
          ru: [доставка, курьер, привезти]

Terms are written in dictionary form; they are tokenised and lemmatised with the same
pipeline as the comments when a matcher is built, so "доставкой" and "курьера" match.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from cxengine_nlp.languages import SUPPORTED_LANGUAGES

DATA_DIR = Path(__file__).parent / "data"
#: Taxonomies shipped with the package, by the name a pipeline config may use.
BUILTIN_TAXONOMIES: dict[str, Path] = {
    "default": DATA_DIR / "default.yaml",
    "restaurant": DATA_DIR / "restaurant.yaml",
    "travel": DATA_DIR / "travel.yaml",
    "banking": DATA_DIR / "banking.yaml",
    "telecom": DATA_DIR / "telecom.yaml",
    "ecommerce_delivery": DATA_DIR / "ecommerce_delivery.yaml",
}
#: How a config names a shipped taxonomy unambiguously: `builtin:banking`. A bare name
#: ("banking") still works when no file of that name is meant.
BUILTIN_PREFIX = "builtin:"


class UnknownBuiltinError(ValueError):
    """A `builtin:` name that the package does not ship."""


def builtin_path(name: str) -> Path | None:
    """Return the shipped file for `builtin:NAME` or a bare shipped NAME; None for paths.

    Raises `UnknownBuiltinError` (listing the shipped names) for `builtin:` + anything else.
    """
    if name.startswith(BUILTIN_PREFIX):
        key = name[len(BUILTIN_PREFIX) :]
        if key not in BUILTIN_TAXONOMIES:
            known = ", ".join(BUILTIN_PREFIX + k for k in BUILTIN_TAXONOMIES)
            raise UnknownBuiltinError(f"{name!r} is not a shipped taxonomy. Shipped: {known}")
        return BUILTIN_TAXONOMIES[key]
    return BUILTIN_TAXONOMIES.get(name)


_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = ("name", "description", "themes")
_THEME_KEYS = ("id", "title", "description", "terms", "disabled")
_STR_TAG = "tag:yaml.org,2002:str"
_BOOL_TAG = "tag:yaml.org,2002:bool"


@dataclass(frozen=True)
class Problem:
    """One validation problem, printed as `file:line: key.path: message`."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class TaxonomyError(ValueError):
    """Raised with every problem found in the taxonomy files, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Theme:
    """A theme: stable id, human title, dictionary-form terms per language."""

    id: str
    title: str
    terms: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Taxonomy:
    """An ordered set of themes; `version` is a content hash used in cache keys."""

    themes: tuple[Theme, ...]
    sources: tuple[str, ...] = ()
    #: Short hash of the themes' content (ids, titles, terms); not of file paths.
    version: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # Computed once: pipelines and result caches are keyed by it on every call.
        object.__setattr__(self, "version", _content_hash(self.themes))

    @property
    def ids(self) -> tuple[str, ...]:
        """Return the theme ids in taxonomy order."""
        return tuple(t.id for t in self.themes)

    def get(self, theme_id: str) -> Theme | None:
        """Return the theme with this id, or None."""
        return next((t for t in self.themes if t.id == theme_id), None)

    def terms(self, lang: str) -> dict[str, tuple[str, ...]]:
        """Return theme id -> terms in one language (themes without terms left out)."""
        return {t.id: t.terms[lang] for t in self.themes if t.terms.get(lang)}


def _content_hash(themes: tuple[Theme, ...]) -> str:
    payload = [
        {"id": t.id, "title": t.title, "terms": {k: list(v) for k, v in sorted(t.terms.items())}}
        for t in themes
    ]
    raw = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:12]


def default_taxonomy() -> Taxonomy:
    """Return the shipped general CX taxonomy (no restaurant extras)."""
    return _builtin(("default",))


def restaurant_taxonomy() -> Taxonomy:
    """Return the shipped CX taxonomy plus the restaurant extras (food, interior)."""
    return _builtin(("default", "restaurant"))


@cache
def _builtin(names: tuple[str, ...]) -> Taxonomy:
    return load_taxonomy([BUILTIN_TAXONOMIES[n] for n in names], replace=True)


def resolve_taxonomy_names(names: Iterable[str]) -> list[Path]:
    """Map config entries to files: shipped names (`builtin:banking`, "restaurant") or paths."""
    return [builtin_path(n) or Path(n) for n in names]


def load_taxonomy(paths: Sequence[Path | str], replace: bool = False) -> Taxonomy:
    """Load taxonomy files in order and merge them, on top of the default unless `replace`.

    A theme id seen again extends that theme's terms (and may change its title);
    `disabled: true` removes it. Every problem in every file is collected and raised
    together as one `TaxonomyError`.
    """
    merged: dict[str, Theme] = {} if replace else {t.id: t for t in default_taxonomy().themes}
    problems: list[Problem] = []
    sources: list[str] = [] if replace else list(default_taxonomy().sources)
    for path in paths:
        path = Path(path)
        sources.append(str(path))
        for theme, disabled in _parse_file(path, problems):
            if disabled:
                merged.pop(theme.id, None)
            elif theme.id in merged:
                merged[theme.id] = _merge(merged[theme.id], theme)
            else:
                merged[theme.id] = theme
    if problems:
        raise TaxonomyError(problems)
    return Taxonomy(themes=tuple(merged.values()), sources=tuple(sources))


def _merge(old: Theme, new: Theme) -> Theme:
    terms = dict(old.terms)
    for lang, extra in new.terms.items():
        terms[lang] = tuple(dict.fromkeys((*terms.get(lang, ()), *extra)))
    return Theme(id=old.id, title=new.title or old.title, terms=terms)


def _parse_file(path: Path, problems: list[Problem]) -> list[tuple[Theme, bool]]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(Problem(name, 1, "(file)", f"cannot read: {exc.strerror or exc}"))
        return []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problems.append(Problem(name, line, "(syntax)", str(exc.problem or exc)))
        return []
    if root is None:
        problems.append(Problem(name, 1, "(root)", "the file is empty; expected a 'themes' list"))
        return []
    return _Checker(name, problems).document(root)


class _Checker:
    """Walk the composed YAML nodes, so every message can carry its line number."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems

    def problem(self, node: Node, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, node.start_mark.line + 1, path, message))

    def mapping(self, node: Node, path: str, known: Sequence[str]) -> dict[str, Node] | None:
        if not isinstance(node, MappingNode):
            self.problem(node, path, f"expected a mapping, got {_kind(node)}")
            return None
        out: dict[str, Node] = {}
        for key_node, value in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else str(key_node)
            where = f"{path}.{key}" if path else key
            if key in out:
                self.problem(key_node, where, f"duplicate key '{key}'")
            elif key not in known:
                self.problem(
                    key_node, where, f"unknown key '{key}'. Known keys: {', '.join(known)}"
                )
            else:
                out[key] = value
        return out

    def string(self, node: Node, path: str) -> str | None:
        if isinstance(node, ScalarNode) and node.tag == _STR_TAG and node.value.strip():
            return str(node.value).strip()
        self.problem(node, path, f"expected a non-empty string, got {_kind(node)}")
        return None

    def document(self, root: Node) -> list[tuple[Theme, bool]]:
        top = self.mapping(root, "", _TOP_KEYS)
        if top is None:
            return []
        for key in ("name", "description"):
            if key in top:
                self.string(top[key], key)
        themes_node = top.get("themes")
        if themes_node is None:
            self.problem(root, "themes", "missing required key 'themes'")
            return []
        if not isinstance(themes_node, SequenceNode):
            self.problem(
                themes_node, "themes", f"expected a list of themes, got {_kind(themes_node)}"
            )
            return []
        out: list[tuple[Theme, bool]] = []
        seen: set[str] = set()
        for i, node in enumerate(themes_node.value):
            parsed = self.theme(node, f"themes[{i}]")
            if parsed is None:
                continue
            if parsed[0].id in seen:
                self.problem(node, f"themes[{i}].id", f"duplicate theme id '{parsed[0].id}'")
                continue
            seen.add(parsed[0].id)
            out.append(parsed)
        return out

    def theme(self, node: Node, path: str) -> tuple[Theme, bool] | None:
        fields = self.mapping(node, path, _THEME_KEYS)
        if fields is None:
            return None
        ok = True
        theme_id = None
        if "id" not in fields:
            self.problem(node, f"{path}.id", "missing required key 'id'")
            ok = False
        else:
            theme_id = self.string(fields["id"], f"{path}.id")
            if theme_id is not None and not _ID.match(theme_id):
                self.problem(
                    fields["id"],
                    f"{path}.id",
                    f"'{theme_id}' is not a valid id: use lower-case letters, digits and _",
                )
                ok = False
        title = self.title(fields["title"], f"{path}.title") if "title" in fields else ""
        disabled = False
        if "disabled" in fields:
            flag = fields["disabled"]
            if isinstance(flag, ScalarNode) and flag.tag == _BOOL_TAG:
                disabled = flag.value.lower() in ("true", "yes", "on")
            else:
                self.problem(flag, f"{path}.disabled", f"expected true or false, got {_kind(flag)}")
        if "description" in fields:
            self.string(fields["description"], f"{path}.description")
        terms: dict[str, tuple[str, ...]] = {}
        if "terms" in fields:
            terms = self.terms(fields["terms"], f"{path}.terms")
        elif not disabled:
            self.problem(node, f"{path}.terms", "missing required key 'terms'")
            ok = False
        if not ok or theme_id is None or title is None:
            return None
        return Theme(
            id=theme_id, title=title or theme_id.replace("_", " ").capitalize(), terms=terms
        ), disabled

    def title(self, node: Node, path: str) -> str | None:
        # A title may be one string or one per language; the English (or first) wins
        # as the display title, the rest are documentation for now.
        if isinstance(node, MappingNode):
            titles = self.mapping(node, path, SUPPORTED_LANGUAGES) or {}
            values = {k: self.string(v, f"{path}.{k}") for k, v in titles.items()}
            return values.get("en") or next((v for v in values.values() if v), None)
        return self.string(node, path)

    def terms(self, node: Node, path: str) -> dict[str, tuple[str, ...]]:
        if not isinstance(node, MappingNode):
            self.problem(
                node, path, f"expected a mapping of language -> list of terms, got {_kind(node)}"
            )
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for key_node, value in node.value:
            lang = key_node.value if isinstance(key_node, ScalarNode) else "?"
            where = f"{path}.{lang}"
            if lang not in SUPPORTED_LANGUAGES:
                supported = ", ".join(SUPPORTED_LANGUAGES)
                self.problem(
                    key_node, where, f"'{lang}' is not a supported language. Supported: {supported}"
                )
                continue
            if not isinstance(value, SequenceNode):
                self.problem(value, where, f"expected a list of terms, got {_kind(value)}")
                continue
            items: dict[str, None] = {}
            for j, item in enumerate(value.value):
                term = self.string(item, f"{where}[{j}]")
                if term is None:
                    continue
                key = " ".join(term.lower().split())
                if key in items:
                    self.problem(item, f"{where}[{j}]", f"duplicate term '{term}'")
                items[key] = None
            out[lang] = tuple(items)
        return out


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == _STR_TAG:
        return f"'{node.value}'" if node.value else "an empty string"
    return f"{node.value} ({node.tag.rsplit(':', 1)[-1]})"
