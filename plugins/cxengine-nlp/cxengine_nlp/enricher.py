"""The `nlp` enricher: what cxengine calls to tag a dataset's comments.

Options (under `comments.options` in cxengine.yaml)::

    comments:
      field: comment
      key: response_id
      language: auto                  # en, ru, xx or auto (detected per comment)
      options:
        taxonomy: [builtin:banking, themes.yaml]   # shipped packs and/or team files
        replace: false                # true: only these files, no default underneath
        workers: 1                    # > 1: a process pool for large first runs
      learn_from: recommend           # optional: learn sentiment from this score (scored.py)

Paths are relative to the project folder. Shipped packs: `builtin:restaurant`,
`builtin:travel`, `builtin:banking`, `builtin:telecom`, `builtin:ecommerce_delivery`
(each on top of the default). Without `taxonomy` the shipped default CX taxonomy is
used. A team file extends what comes before it: a theme id seen again adds terms, a
new id adds a theme, `disabled: true` removes one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from cxengine.api import (
    EnrichRequest,
    Problem,
    SpecError,
    outside_readable_places,
    special_kind,
)

from cxengine_nlp.languages import FALLBACK_LANGUAGE, SUPPORTED_LANGUAGES
from cxengine_nlp.taxonomy import (
    Taxonomy,
    TaxonomyError,
    UnknownBuiltinError,
    builtin_path,
    load_taxonomy,
)

#: Keys the host adds to every enricher's options.
HOST_KEYS = ("language", "project_dir", "allowed_paths", "learn_from", "learned")
OPTION_KEYS = ("taxonomy", "replace", "workers")
# spaCy is imported only when comments are really analysed: building the registry
# (every cxengine command) must not pay for it.
PIPELINE_LANGUAGES = (*SUPPORTED_LANGUAGES, FALLBACK_LANGUAGE)


class OptionsError(ValueError):
    """Options that cannot be used, with every problem found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def _option_problems(options: Mapping[str, Any]) -> list[str]:
    problems = []
    for key in options:
        if key not in (*OPTION_KEYS, *HOST_KEYS):
            problems.append(
                f"options.{key}: unknown option for the nlp enricher. "
                f"Known options: {', '.join(OPTION_KEYS)}"
            )
    language = options.get("language", "auto")
    if language != "auto" and language not in PIPELINE_LANGUAGES:
        problems.append(
            f"language: {language!r} is not a language the nlp enricher knows. "
            f"Known: auto, {', '.join(PIPELINE_LANGUAGES)}"
        )
    taxonomy = options.get("taxonomy", [])
    if isinstance(taxonomy, str):
        taxonomy = [taxonomy]
    if not isinstance(taxonomy, list) or not all(isinstance(t, str) for t in taxonomy):
        problems.append(
            f"options.taxonomy: expected a list of taxonomy files or names, got {taxonomy!r}"
        )
    else:
        for k, name in enumerate(taxonomy):
            try:
                builtin_path(name)
            except UnknownBuiltinError as exc:
                problems.append(f"options.taxonomy[{k}]: {exc}")
    if not isinstance(options.get("replace", False), bool):
        problems.append(f"options.replace: expected true or false, got {options['replace']!r}")
    workers = options.get("workers", 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        problems.append(f"options.workers: expected a whole number >= 1, got {workers!r}")
    learn_from = options.get("learn_from")
    if learn_from is not None:
        from cxengine_nlp.scored import ScaleError, scale_from

        try:
            scale_from(learn_from)
        except (ScaleError, TypeError, ValueError) as exc:
            problems.append(str(exc))
    return problems


def taxonomy_paths(options: Mapping[str, Any]) -> list[Path]:
    """Return the taxonomy files the options name, relative paths against the project."""
    names = options.get("taxonomy", [])
    names = [names] if isinstance(names, str) else list(names)
    base = Path(str(options.get("project_dir", ".")))
    return [builtin_path(n) or _under(base, n) for n in names]


def _under(base: Path, name: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else base / path


def taxonomy_for(options: Mapping[str, Any]) -> Taxonomy:
    """Return the merged taxonomy the options describe; raise SpecError on bad files."""
    problems = _option_problems(options)
    if problems:
        raise OptionsError(problems)
    paths = taxonomy_paths(options)
    problems = _unreadable_places(options, paths)
    if problems:
        raise OptionsError(problems)
    replace = bool(options.get("replace", False))
    if replace and not paths:
        raise OptionsError(["options.replace: true needs at least one taxonomy file"])
    # Keyed by file stamps, so an edited file is reloaded but a run loads it once.
    stamps = tuple((str(p), *_stamp(p)) for p in paths)
    try:
        return _load(stamps, replace)
    except TaxonomyError as exc:
        raise SpecError(
            Problem(_display(p.file), p.line, p.path, p.message) for p in exc.problems
        ) from None


def _unreadable_places(options: Mapping[str, Any], paths: Sequence[Path]) -> list[str]:
    """Return a problem for each team taxonomy file outside the project's readable places.

    A taxonomy file is read like a source file and its terms are echoed in `themes`
    output, so it is held to the same folders: the project folder and those listed under
    `allow_paths:` (the host passes them as `allowed_paths`), judged after `..` and
    symlinks. A FIFO or a device is refused before it is opened, as it would hang the run.
    The shipped `builtin:` packs are always allowed.
    """
    names = options.get("taxonomy", [])
    names = [names] if isinstance(names, str) else list(names)
    base = Path(str(options.get("project_dir", "."))).resolve()
    allowed = [Path(str(p)) for p in options.get("allowed_paths", ())]
    problems = []
    for k, (name, path) in enumerate(zip(names, paths, strict=True)):
        if builtin_path(name) is not None:
            continue
        outside = outside_readable_places(path, base, allowed, shown=name)
        if outside:
            problems.append(f"options.taxonomy[{k}]: {outside}")
            continue
        kind = None if path.is_dir() else special_kind(path)  # a folder of files is fine
        if kind:
            problems.append(f"options.taxonomy[{k}]: {name} is {kind}, not a regular file")
    return problems


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=16)
def _load(stamps: tuple[tuple[str, int, int], ...], replace: bool) -> Taxonomy:
    return load_taxonomy([Path(s[0]) for s in stamps], replace=replace)


def _display(file: str) -> str:
    try:
        return os.path.relpath(file)
    except ValueError:
        return file


class NlpEnricher:
    """Themes and sentiment for English and Russian comments (spaCy, no model download)."""

    name = "nlp"
    description = "Keyword themes and lexicon sentiment for comments (en, ru), cxengine-nlp."

    def version(self, options: Mapping[str, Any]) -> str:
        """Return package, lexicon, code and taxonomy versions: the cache key."""
        from cxengine_nlp.cache_key import analyzer_version  # no spaCy import: runs every run

        return analyzer_version(taxonomy_for(options))

    def themes(self, options: Mapping[str, Any]) -> list[str]:
        """Return the theme ids the configured taxonomy can produce, in taxonomy order."""
        return list(taxonomy_for(options).ids)

    def validate(self, options: Mapping[str, Any]) -> list[Problem]:
        """Return problems with the options and the taxonomy files, located when possible."""
        problems = _option_problems(options)
        if problems:
            return [Problem("", 0, "", p) for p in problems]
        try:
            taxonomy_for(options)
        except SpecError as exc:
            return list(exc.problems)
        except OptionsError as exc:
            return [Problem("", 0, "", p) for p in exc.problems]
        return []

    def learn(self, request: EnrichRequest) -> dict[str, Any]:
        """Train sentiment on the comments' scores (`comments.learn_from`); see `scored.py`.

        Returns the training key (the host adds it to the tag cache key), a one-line
        summary for `run`'s output and the training report.
        """
        from cxengine_nlp.cache_key import analyzer_version
        from cxengine_nlp.scored import learn_for_host

        options = request.options
        taxonomy = taxonomy_for(options)
        scores = request.scores if request.scores is not None else [None] * len(request.texts)
        return learn_for_host(
            request.texts, scores, options, taxonomy, analyzer_version(taxonomy),
            lambda texts: self._lexicon(texts, options),
        )  # fmt: skip

    def enrich(self, request: EnrichRequest) -> list[dict[str, Any]]:
        """Return language, themes, sentiment, label and per-theme sentiment per text.

        After `learn` (the options carry `learned`), sentiment and label are the learned
        model's, and the lexicon's own score is kept as `lexicon_sentiment`.
        """
        from cxengine_nlp.cache_key import lexicon_versions
        from cxengine_nlp.lexicon import lexicon_language

        options = request.options
        taxonomy = taxonomy_for(options)
        key = options.get("learned")
        lexicon = self._lexicon(request.texts, options, key)
        results = lexicon
        if key is not None:
            from cxengine_nlp.scored import learned_analyses

            results = learned_analyses(request.texts, str(key), lexicon)
        lexicons = lexicon_versions()
        out = []
        for r, lex in zip(results, lexicon, strict=True):
            tags = {
                "language": r.language,
                "themes": list(r.themes),
                "sentiment": r.score,
                "label": r.label,
                "theme_sentiment": r.theme_sentiment,
                "lexicon_version": lexicons[lexicon_language(r.language)],
                "taxonomy_version": taxonomy.version,
            }
            if key is not None:
                tags["lexicon_sentiment"] = lex.score
            out.append(tags)
        return out

    def _lexicon(
        self, texts: Sequence[str], options: Mapping[str, Any], key: object = None
    ) -> list[Any]:
        """Return the lexicon's analyses, reusing those `learn` computed for the same texts."""
        from cxengine_nlp.api import analyze

        known: list[Any] = [None] * len(texts)
        if key is not None:
            from cxengine_nlp.scored import lexicon_analyses

            known = lexicon_analyses(str(key), texts)
        missing = [i for i, a in enumerate(known) if a is None]
        if missing:
            fresh = analyze(
                [texts[i] for i in missing],
                language=str(options.get("language", "auto")),
                taxonomy=taxonomy_for(options),
                workers=int(options.get("workers", 1)),
            )
            for i, analysis in zip(missing, fresh, strict=True):
                known[i] = analysis
        return known
