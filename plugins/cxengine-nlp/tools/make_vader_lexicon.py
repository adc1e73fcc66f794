"""Regenerate cxengine_nlp/data/en_vader.tsv from the installed vaderSentiment package.

Run once when upgrading VADER: `python tools/make_vader_lexicon.py`. The output keeps
only the token and its mean valence (VADER's own -4..+4 scale) and carries VADER's MIT
licence notice in its header, as the licence requires for copies of the work.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

HEADER = """\
# English sentiment lexicon derived from VADER {vader_version} (vader_lexicon.txt):
# token<TAB>mean valence on VADER's -4..+4 scale (standard deviations and raw ratings dropped).
# Source: https://github.com/cjhutto/vaderSentiment
#
# The MIT License (MIT)
#
# Copyright (c) 2016 C.J. Hutto
#
# Permission is hereby granted, free of charge, to any person obtaining a copy
# of this software and associated documentation files (the "Software"), to deal
# in the Software without restriction, including without limitation the rights
# to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
# copies of the Software, and to permit persons to whom the Software is
# furnished to do so, subject to the following conditions:
#
# The above copyright notice and this permission notice shall be included in all
# copies or substantial portions of the Software.
#
# THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
# IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
# FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
# AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
# LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
# OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
# SOFTWARE.
"""


def main() -> int:
    """Write the derived lexicon next to the package's other data files."""
    import vaderSentiment

    source = Path(vaderSentiment.__file__).parent / "vader_lexicon.txt"
    target = Path(__file__).resolve().parents[1] / "cxengine_nlp" / "data" / "en_vader.tsv"
    lines = [HEADER.format(vader_version=version("vaderSentiment"))]
    for raw in source.read_text(encoding="utf-8").splitlines():
        parts = raw.split("\t")
        if len(parts) >= 2 and parts[0].strip():
            lines.append(f"{parts[0].strip()}\t{float(parts[1]):g}\n")
    target.write_text("".join(lines), encoding="utf-8")
    print(f"wrote {len(lines) - 1} entries to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
