"""The analysis of `analyze` without spaCy Docs: the same tokens, lemmas, themes and sentiment.

On real text most word forms are new to a run, and a spaCy Doc makes each new form
expensive: the tokenizer builds a lexeme with 23 attribute getters the analysis never
reads, and every component walks Token objects. Here a comment becomes a list of
(lower hash, lemma hash) rows directly, and the pipeline's own theme matcher and
sentiment scorer work on those rows (`CxThemes.match_lemmas`, `CxSentiment.score_rows`).

The tokens are spaCy's own. spaCy splits a text at whitespace into spans and tokenises
each span on its own (its cache is keyed by the span), so this module splits the same
way and remembers the tokens of every span it has seen. A span that no prefix, suffix
or infix expression touches and that is no special case is one token, as in spaCy's
`_split_affixes` / `_attach_tokens`; any other span is handed to the spaCy tokenizer.
The one thing spaCy does across spans, a special case containing a space (Russian
"в н.в."), sends the whole text to the spaCy tokenizer. Tests compare every token,
theme and score with the Doc pipeline on the real and generated texts.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from typing import Any

from spacy.language import Language
from spacy.strings import get_string_id

from cxengine_nlp.lemmatizer import lemma_function
from cxengine_nlp.letters import letters_to_keep, never_matches_letters
from cxengine_nlp.sentiment import CxSentiment
from cxengine_nlp.themes import CxThemes

# Distinct spans and word forms remembered per pipeline. The memo only saves work:
# when it is full it is emptied, and the next texts rebuild what they use.
MAX_MEMO = 100_000
# Runs of whitespace and of anything else: `\s` is `str.isspace`, spaCy's test.
_RUNS = re.compile(r"\s+|\S+")
# A leading run of word characters that are no digit or "_": letters, mostly (checked
# with str.isalpha before use).
_LEADING_LETTERS = re.compile(r"[^\W\d_]+")

Row = tuple[int, int]


def spans(text: str) -> list[str]:
    """Split `text` into the spans spaCy's tokenizer tokenises one by one.

    Non-space runs are spans; a run of whitespace is a span too, less the single " "
    that ends the token before it (spaCy marks that token `whitespace_` instead). A
    text that opens with whitespace keeps all of it as its first span.
    """
    if text.isprintable() and "  " not in text and not text.startswith(" "):
        # No whitespace but single spaces (every other space character is not
        # printable): a plain split, the common case.
        return [s for s in text.split(" ") if s]
    out = []
    for match in _RUNS.finditer(text):
        span = match.group()
        if span[0] == " " and match.start() > 0:
            span = span[1:]
        if span:
            out.append(span)
    return out


def across_pattern(keys: list[str]) -> str:
    """Return an expression found in a text exactly when one of `keys` is in it.

    Each key holds whitespace. The expression starts at the key's first whitespace
    character and walks a trie of what follows it; where a key ends, a lookbehind
    checks the whole key. The plain alternation of the keys tried every key at every
    character of every text (~50 µs a review); this one starts only at whitespace
    and reads each next character once.
    """
    trie: dict[str, Any] = {}
    for key in keys:
        cut = next(i for i, c in enumerate(key) if c.isspace())
        node = trie
        for char in key[cut:]:
            node = node.setdefault(char, {})
        node.setdefault("", []).append(key)
    return _trie_expression(trie)


def _trie_expression(node: dict[str, Any]) -> str:
    # Keys ending here (key "") are checked whole by a lookbehind; each child adds a
    # character. One alternative needs no group.
    alternatives = [f"(?<={re.escape(key)})" for key in node.get("", [])]
    alternatives += [
        re.escape(char) + _trie_expression(child) for char, child in node.items() if char
    ]
    if len(alternatives) == 1:
        return alternatives[0]
    return "(?:" + "|".join(alternatives) + ")"


class FastPath:
    """Analyse texts with one pipeline's tokenizer rules, lemmas, themes and sentiment."""

    def __init__(self, nlp: Language) -> None:
        # spaCy's Tokenizer attributes are not in its type stubs.
        tokenizer: Any = nlp.tokenizer
        self._tokenizer = tokenizer
        rules: dict[str, Any] = tokenizer.rules or {}
        self._specials = frozenset(rules)
        # Special cases spaCy applies across spans (it retokenises matched token
        # sequences whose text, spaces included, is a rule).
        across = sorted(
            (k for k in rules if not k.isspace() and any(c.isspace() for c in k)),
            key=len,
            reverse=True,
        )
        self._across = re.compile(across_pattern(across)) if across else None
        self._prefix: Callable[[str], Any] | None = tokenizer.prefix_search
        self._suffix: Callable[[str], Any] | None = tokenizer.suffix_search
        self._infix: Callable[[str], Any] | None = tokenizer.infix_finditer
        self._token_match: Callable[[str], Any] | None = tokenizer.token_match
        self._url_match: Callable[[str], Any] | None = tokenizer.url_match
        self._matched = self._matched_specials(tokenizer, rules)
        self._matched_longest = max(map(len, self._matched), default=0)
        # Spans of letters only skip the expressions that provably cannot split them.
        self._plain_affixes = never_matches_letters(self._prefix) and never_matches_letters(
            self._suffix
        )
        self._plain_infixes = never_matches_letters(self._infix)
        # Matches of these never start inside a run of letters, so a search may skip
        # all but the last few letters of a string's leading run ("ресторан," is
        # searched as "ан,"): spaCy's expressions try every alternative at every
        # position, so the cost of a search is its length.
        self._suffix_keep = letters_to_keep(self._suffix)
        self._infix_keep = letters_to_keep(self._infix)
        # The same for the whole-token expressions (spaCy's URL expression needs a
        # "." at least), asked of what is left of nearly every span with punctuation.
        self._plain_tokens = never_matches_letters(self._token_match) and never_matches_letters(
            self._url_match
        )
        self._lemma = lemma_function(nlp.lang or "xx")
        themes = nlp.get_pipe("cx_themes")
        sentiment = nlp.get_pipe("cx_sentiment")
        assert isinstance(themes, CxThemes) and isinstance(sentiment, CxSentiment)
        self._themes = themes
        self._sentiment = sentiment
        self._span_memo: dict[str, tuple[tuple[Row, ...], tuple[str, ...]]] = {}
        self._word_memo: dict[str, Row] = {}

    def tokens(self, text: str) -> tuple[list[Row], list[str]]:
        """Return the (lower hash, lemma hash) rows and the texts of the tokens of `text`."""
        rows: list[Row] = []
        words: list[str] = []
        for part_rows, part in self._parts(text):
            rows += part_rows
            words += part
        return rows, words

    def rows(self, text: str) -> list[Row]:
        """Return the (lower hash, lemma hash) rows of the tokens of `text`."""
        rows: list[Row] = []
        # The analysis needs the rows only (a token's text is asked for after "too"
        # alone): one list grown per span instead of two.
        for part_rows, _ in self._parts(text):
            rows += part_rows
        return rows

    def _parts(self, text: str) -> list[tuple[tuple[Row, ...], tuple[str, ...]]]:
        """Return the rows and token texts of each span of `text`, in order."""
        if self._across is not None and self._across.search(text):
            part = tuple(t.text for t in self._tokenizer(text))
            return [(self._rows(part), part)]
        memo = self._span_memo
        parts = []
        for span in spans(text):
            entry = memo.get(span)
            if entry is None:
                part = self._split(span)
                entry = (self._rows(part), part)
                if len(memo) >= MAX_MEMO:
                    memo.clear()
                memo[span] = entry
            parts.append(entry)
        return parts

    @staticmethod
    def _matched_specials(tokenizer: Any, rules: dict[str, Any]) -> frozenset[str]:
        """Return the special cases spaCy looks for among the tokens after splitting.

        spaCy adds a case to its post-split matcher when affix or infix rules would
        split it (or it holds a space: those are `_across`) and retokenises a match.
        """
        return frozenset(
            key
            for key in rules
            if not any(c.isspace() for c in key)
            and (
                not tokenizer.faster_heuristics
                or tokenizer.find_prefix(key)
                or tokenizer.find_infix(key)
                or tokenizer.find_suffix(key)
            )
        )

    def _holds_special(self, tokens: list[str]) -> bool:
        """Return True when a run of tokens spells a special case the matcher retokenises.

        A run spelling the case is what the matcher needs (its pattern is one way to
        split the case), so this may send a span to spaCy that needs none: never the
        other way round.
        """
        matched, longest = self._matched, self._matched_longest
        for i in range(len(tokens)):
            run = ""
            for token in tokens[i:]:
                run += token
                if len(run) > longest:
                    break  # no special case is this long: longer runs cannot be one
                if run in matched:
                    return True
        return False

    def _split(self, span: str) -> tuple[str, ...]:
        """Return spaCy's tokens of one span.

        spaCy's `_split_affixes` and `_attach_tokens` without their special cases:
        when a special case could apply (the span, or what is left of it, is one,
        or a run of its tokens spells one spaCy looks for afterwards) the span goes
        to the spaCy tokenizer itself.
        """
        specials = self._specials
        if span in specials:
            return self._spacy(span)
        if self._plain_affixes and self._plain_infixes and span.isalpha():
            return (span,)  # no expression can split it, and it is no special case
        prefix, suffix = self._prefix, self._suffix
        token_match = self._token_match
        prefixes: list[str] = []
        suffixes: list[str] = []
        string = span
        last_size = 0
        while string and len(string) != last_size:
            if token_match is not None and token_match(string):
                break
            if string in specials:
                return self._spacy(span)
            if self._plain_affixes and string.isalpha():
                break  # no prefix or suffix expression can match: spaCy's loop ends here
            last_size = len(string)
            found = prefix(string) if prefix is not None else None
            pre_len = found.end() - found.start() if found is not None else 0
            found = self._search(suffix, self._suffix_keep, string[pre_len:])
            suf_len = found.end() - found.start() if found is not None else 0
            if pre_len and string[pre_len:] and string[pre_len:] in specials:
                return self._spacy(span)
            if suf_len and string[:-suf_len] and string[:-suf_len] in specials:
                return self._spacy(span)
            if pre_len and suf_len and (pre_len + suf_len) <= len(string):
                prefixes.append(string[:pre_len])
                suffixes.append(string[-suf_len:])
                string = string[pre_len:-suf_len]
            elif pre_len:
                prefixes.append(string[:pre_len])
                string = string[pre_len:]
            elif suf_len:
                suffixes.append(string[-suf_len:])
                string = string[:-suf_len]
        tokens = prefixes
        if string:
            if string in specials:
                return self._spacy(span)
            if (self._plain_tokens and string.isalpha()) or not (
                (token_match is not None and token_match(string))
                or (self._url_match is not None and self._url_match(string))
            ):
                tokens.extend(self._infixes(string))
            else:
                tokens.append(string)
        tokens.extend(reversed(suffixes))
        if len(tokens) > 1 and self._holds_special(tokens):
            return self._spacy(span)
        return tuple(tokens)

    @staticmethod
    def _skippable(string: str, keep: int | None) -> int:
        """How many leading characters a search proven by `letters_to_keep` may skip."""
        if keep is None:
            return 0
        head = _LEADING_LETTERS.match(string)
        if head is None or head.end() <= keep + 1 or not head.group().isalpha():
            return 0
        return head.end() - keep

    def _search(self, search: Callable[[str], Any] | None, keep: int | None, string: str) -> Any:
        # Only the length of what a prefix or suffix search finds is used, so the
        # match found in the shortened string serves as it is.
        if search is None:
            return None
        skipped = self._skippable(string, keep)
        return search(string[skipped:] if skipped else string)

    def _infixes(self, string: str) -> list[str]:
        # `_attach_tokens`: split at every infix match, skipping one at the very start.
        if self._infix is None or (self._plain_infixes and string.isalpha()):
            return [string]
        out = []
        start = 0
        skipped = self._skippable(string, self._infix_keep)
        for match in self._infix(string[skipped:] if skipped else string):
            infix_start, infix_end = match.start() + skipped, match.end() + skipped
            if infix_start == 0:
                continue
            if infix_start != start:
                out.append(string[start:infix_start])
            if infix_start != infix_end:
                out.append(string[infix_start:infix_end])
            start = infix_end
        if string[start:]:
            out.append(string[start:])
        return out

    def _spacy(self, span: str) -> tuple[str, ...]:
        return tuple(t.text for t in self._tokenizer(span))

    def _rows(self, words: tuple[str, ...]) -> tuple[Row, ...]:
        memo = self._word_memo
        out = []
        for word in words:
            row = memo.get(word)
            if row is None:
                lower = word.lower()  # spaCy's LOWER getter
                row = (get_string_id(lower), get_string_id(self._lemma(lower)))
                if len(memo) >= MAX_MEMO:
                    memo.clear()
                memo[word] = row
            out.append(row)
        return tuple(out)

    def analyse(self, text: str) -> dict[str, Any]:
        """Return what the pipeline writes into `state(doc)` for `text`."""
        rows = self.rows(text)
        data: dict[str, Any] = {}
        if not rows:
            self._themes.store([], data)
        else:
            self._themes.store(self._themes.match_lemmas([r[1] for r in rows]), data)

        def is_alpha(i: int) -> bool:
            # Rare (a word after "too"): the token texts are rebuilt from the memo.
            return self.tokens(text)[1][i].isalpha()

        self._sentiment.score_rows(rows, is_alpha, data["matches"], data)
        return data


_PATHS: weakref.WeakKeyDictionary[Language, FastPath] = weakref.WeakKeyDictionary()


def fast_path(nlp: Language) -> FastPath:
    """Return the fast path of a pipeline (built once; dropped with the pipeline)."""
    path = _PATHS.get(nlp)
    if path is None:
        path = FastPath(nlp)
        _PATHS[nlp] = path
    return path
