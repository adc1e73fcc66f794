"""Text files: detecting the encoding and delimiter, and transcoding to UTF-8 for DuckDB.

DuckDB's read_csv is given only UTF-8: it reads UTF-16 and latin-1 natively too, but
then the byte positions it reports for malformed lines are not positions in the file,
so reject line numbers would be wrong. Every other encoding is transcoded here, in
chunks, to a temporary UTF-8 file.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import tempfile
from collections import Counter
from pathlib import Path

from cxengine.errors import DataError

SAMPLE_BYTES = 1 << 20
DELIMITERS = (",", ";", "\t", "|")
CYRILLIC_CP1251 = set(range(0xC0, 0x100)) | {0xA8, 0xB8}  # А-я, Ё, ё


def detect_encoding(sample: bytes, *, complete: bool) -> str:
    """Guess a file's encoding from its first bytes: BOMs, then UTF-8, cp1251, latin-1.

    ``complete`` says the sample is the whole file (a cut multi-byte character at
    the end of a partial sample is not an error).
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(sample, complete=complete):
        # A UTF-8 file with a few lines pasted in from elsewhere (cp1251, latin-1):
        # reading it all as cp1251 would silently garble every good line, so read it
        # as UTF-8 and let the lines that are not UTF-8 be rejected with their numbers.
        return "utf-8"
    return "cp1251" if _looks_cyrillic(sample) else "latin-1"


def invalid_utf8_lines(sample: bytes, *, complete: bool) -> list[int]:
    """Return the 1-based numbers of the lines in a sample that are not valid UTF-8."""
    lines = sample.split(b"\n")
    if not complete:
        lines.pop()  # probably cut inside a character
    bad = []
    for number, line in enumerate(lines, start=1):
        if not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                bad.append(number)
    return bad


def _mostly_utf8(sample: bytes, *, complete: bool) -> bool:
    # Evidence for UTF-8 is a line with non-ASCII text that decodes; against it, a
    # line that does not. Plain ASCII lines say nothing either way.
    bad = len(invalid_utf8_lines(sample, complete=complete))
    lines = sample.split(b"\n")
    if not complete:
        lines.pop()
    good = sum(1 for line in lines if not line.isascii()) - bad
    return good > 0 and good >= bad


def _looks_cyrillic(sample: bytes) -> bool:
    # In cp1251 Russian text nearly every letter is a high byte, so high bytes come
    # in runs (whole words); in latin-1 text accented letters sit alone among ASCII.
    high = in_runs = 0
    run = 0
    for b in (*sample, 0x20):
        if b in CYRILLIC_CP1251:
            run += 1
            continue
        high += run
        if run >= 3:
            in_runs += run
        run = 0
    return high > 0 and in_runs / high > 0.5


def normalize_encoding(name: str) -> str:
    """Return Python's canonical codec name or raise DataError for an unknown one."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise DataError(
            f"unknown encoding {name!r} (use a Python codec name such as utf-8, cp1251, latin-1)"
        ) from None


def is_utf8(encoding: str) -> bool:
    """Return True for the encodings DuckDB is given directly (UTF-8, with or without BOM)."""
    return encoding in ("utf-8", "utf-8-sig")


def transcode_to_utf8(path: Path, encoding: str) -> Path:
    """Write a UTF-8 copy of a file in a temporary folder, in chunks; return its path."""
    fd, name = tempfile.mkstemp(prefix="cxengine-", suffix=".csv")
    decoder = codecs.getincrementaldecoder(encoding)()
    done = 0
    try:
        with path.open("rb") as src, os.fdopen(fd, "wb") as dst:
            while chunk := src.read(SAMPLE_BYTES):
                try:
                    text = decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    at = done + exc.start
                    raise DataError(
                        f"{path}:{_line_at(path, at)} is not valid {encoding}: "
                        f"byte {at} cannot be decoded; set `encoding:` to the file's encoding"
                    ) from None
                dst.write(text.encode("utf-8"))
                done += len(chunk)
            dst.write(decoder.decode(b"", final=True).encode("utf-8"))
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def newline_problem(path: Path) -> str | None:
    """Return "mixed" when a file mixes line ends, "cr" when it has only CR ones, else None.

    DuckDB's CSV reader stops with "the state machine reached an invalid state" on
    a mix (a CRLF line appended to an LF export, a stray CR in a value), losing
    every row; and the header sniffing here splits lines on LF only. Both kinds of
    file are normalized to LF first.
    """
    if not _has_cr(path):
        # Most files have no CR at all (CRLF ones are counted below): finding that out
        # took 0.01 s of CPU at 1M rows (113 MB) against 0.11-0.13 s for counting CRs
        # chunk by chunk (bench_run, 4 December 2026).
        return None
    cr = lf = crlf = 0
    last = b""
    with path.open("rb") as f:
        while chunk := f.read(SAMPLE_BYTES * 4):
            cr += chunk.count(b"\r")
            if cr:
                lf += chunk.count(b"\n")
                crlf += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
            last = chunk[-1:]
    if cr == 0 or cr == lf == crlf:
        return None
    return "cr" if lf == 0 else "mixed"


def _has_cr(path: Path) -> bool:
    """Return True when the file holds a CR byte anywhere.

    One buffer, refilled in place (`readinto`), searched with `find` (memchr): no
    bytes object per chunk and no count. A memory map of the whole file would copy
    nothing either, but its pages count in the process's resident memory, so a 5M-row
    file (565 MB) would set the run's peak.
    """
    buffer = bytearray(SAMPLE_BYTES * 4)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(view):
            if buffer.find(b"\r", 0, n) >= 0:
                return True
    return False


def normalize_newlines(path: Path, problem: str) -> tuple[Path, int]:
    """Write a copy with LF line ends; return it and how many lone CRs became spaces.

    "cr": every CR is a line end. "mixed": CRLF becomes LF and a lone CR a space,
    so the number of LF, and with it every line number, stays that of the original.
    """
    fd, name = tempfile.mkstemp(prefix="cxengine-", suffix=".csv")
    lone = 0
    try:
        with path.open("rb") as src, os.fdopen(fd, "wb") as dst:
            carry = b""
            while chunk := src.read(SAMPLE_BYTES * 4):
                data = carry + chunk
                carry = b"\r" if data.endswith(b"\r") else b""
                data = data[:-1] if carry else data
                if problem == "cr":
                    dst.write(data.replace(b"\r", b"\n"))
                    continue
                data = data.replace(b"\r\n", b"\n")
                lone += data.count(b"\r")
                dst.write(data.replace(b"\r", b" "))
            if carry:
                lone += problem != "cr"
                dst.write(b"\n" if problem == "cr" else b" ")
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name), lone


def _line_at(path: Path, offset: int) -> int:
    """Return the 1-based line holding a byte offset (for messages; reads up to it)."""
    line, done = 1, 0
    with path.open("rb") as f:
        while done < offset and (chunk := f.read(min(SAMPLE_BYTES, offset - done))):
            line += chunk.count(b"\n")
            done += len(chunk)
    return line


def sample_text(path: Path, encoding: str, size: int = SAMPLE_BYTES) -> tuple[str, bool]:
    """Return the decoded start of a file (BOM removed) and whether it is the whole file."""
    with path.open("rb") as f:
        raw = f.read(size + 1)
    complete = len(raw) <= size
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(
        raw[:size], final=complete
    )
    if not complete:
        # Drop the last, probably cut, line so sniffing never sees half a record.
        text = text[: text.rfind("\n") + 1] or text
    return text.removeprefix("\ufeff"), complete


def sniff_delimiter(text: str, quote: str) -> str:
    """Pick the delimiter among , ; TAB | giving the most consistent field count above 1."""
    best, best_score = ",", (False, 0.0, 0)
    for delim in DELIMITERS:
        counts = [len(r) for r in _records(text, delim, quote, limit=200) if r]
        if not counts:
            continue
        width, freq = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        # The first record (the header, usually) must split too: damaged rows below
        # it must not out-vote the delimiter the header plainly uses.
        score = (counts[0] > 1, freq / len(counts), width)
        if score > best_score:
            best, best_score = delim, score
    return best


def _records(text: str, delim: str, quote: str, limit: int) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delim, quotechar=quote or None, strict=False)
    out = []
    try:
        for row in reader:
            out.append(row)
            if len(out) >= limit:
                break
    except csv.Error:
        pass
    return out
