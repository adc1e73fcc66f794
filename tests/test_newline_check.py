"""The CSV newline check: the first-CR search must see a CR wherever it is in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxengine.dataset.encoding import SAMPLE_BYTES, newline_problem

# The search reads in buffers of 4 * SAMPLE_BYTES: put the one CR in the first buffer,
# on its last byte, on the first byte of the next one, and at the very end.
EDGE = 4 * SAMPLE_BYTES


@pytest.mark.parametrize("at", [5, EDGE - 1, EDGE, 2 * EDGE + 7])
def test_a_lone_cr_anywhere_is_found(tmp_path: Path, at: int) -> None:
    body = bytearray(b"a,b\n" * ((at + 64) // 4))
    body[at] = ord("\r")  # one stray CR in an LF file: "mixed"
    path = tmp_path / "x.csv"
    path.write_bytes(bytes(body))
    assert newline_problem(path) == "mixed"


def test_no_cr_and_only_crlf_are_no_problem(tmp_path: Path) -> None:
    lf = tmp_path / "lf.csv"
    lf.write_bytes(b"a,b\n1,2\n" * (EDGE // 4))
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(b"a,b\r\n1,2\r\n")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert newline_problem(lf) is None
    assert newline_problem(crlf) is None
    assert newline_problem(empty) is None


def test_cr_only_file(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(b"a,b\r1,2\r")
    assert newline_problem(path) == "cr"
