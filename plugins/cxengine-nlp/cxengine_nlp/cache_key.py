"""The analyzer's version: the key under which the host caches comment tags.

Kept free of spaCy on purpose: the host asks for the version on every run, also when
every comment is already cached, and importing spaCy alone costs about 0.6 s. The key
changes whenever anything that changes results changes: the package version, the
lexicon files, the analysing code, or the taxonomy.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from cxengine_nlp.version import __version__

if TYPE_CHECKING:
    from cxengine_nlp.taxonomy import Taxonomy

DATA_DIR = Path(__file__).parent / "data"

#: Lexicon files per language, in overlay order (later files override earlier keys).
LEXICON_FILES: dict[str, tuple[str, ...]] = {
    "en": ("en_vader.tsv", "en_cx.tsv", "emoji.tsv"),
    "ru": ("ru_cx.tsv", "emoji.tsv"),
    "xx": ("emoji.tsv",),
}

# Source files whose logic changes results; their hash is part of analyzer_version so
# a cache never serves results computed by different code under the same version.
CODE_FILES = (
    "languages.py",
    "lemmatizer.py",
    "lexicon.py",
    "rules.py",
    "sentiment.py",
    "themes.py",
)


def analyzer_version(taxonomy: Taxonomy | None = None) -> str:
    """Return a cache key: package version, lexicon and code hashes, taxonomy version."""
    from cxengine_nlp.taxonomy import default_taxonomy

    tax = taxonomy if taxonomy is not None else default_taxonomy()
    lex = lexicon_versions()
    return f"{__version__}+lex.en.{lex['en']}.ru.{lex['ru']}+code.{_code_hash()}+tax.{tax.version}"


@cache
def lexicon_versions() -> dict[str, str]:
    """Return language -> content hash of the lexicon files it loads."""
    out: dict[str, str] = {}
    for lang, names in LEXICON_FILES.items():
        digest = hashlib.sha256()
        for name in names:
            digest.update((DATA_DIR / name).read_bytes())
        out[lang] = digest.hexdigest()[:10]
    return out


#: Code that turns scores into a learned model and applies it: part of a learned key.
LEARNER_FILES = ("learn.py", "scored.py")


@cache
def learner_version() -> str:
    """Return a hash of the learning code (with analyzer_version: a learned model's key)."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in LEARNER_FILES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:8]


@cache
def _code_hash() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in CODE_FILES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:8]
