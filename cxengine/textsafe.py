"""Making data text safe to print: control characters shown, never executed.

Slice values, names and reasons come from users' data. Printed raw, an ESC byte
drives the terminal, a vertical tab makes JUnit XML invalid (XML 1.0 forbids most
C0 characters even as references), a newline inside a value breaks a Markdown table
or starts a new GitHub workflow command, and bidi overrides make text read backwards.
Every reporter passes such text through `visible` before it writes it.
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL; line/paragraph separators; bidi embeddings, overrides
# and isolates; U+FEFF; the XML non-characters U+FFFE/U+FFFF; lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object, keep: str = "") -> str:
    """Return `text` with every unsafe character written as a visible escape (`\\x1b`).

    `keep` lists characters to leave as they are (say "\\n" for multi-line text whose
    line breaks are meant).
    """
    s = text if isinstance(text, str) else str(text)
    if not keep:
        return _UNSAFE.sub(_escape, s)
    return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape(m), s)
