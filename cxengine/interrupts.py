"""SIGINT and SIGTERM end a run as `interrupted`, with exit 130 / 143, never as a crash.

Python turns SIGINT into KeyboardInterrupt, but DuckDB catches it inside a query and
raises its own error ("Query interrupted"), and SIGTERM (what CI runners and
`timeout` send) had no handler at all, so the process died with its run left
`running`. `install()` handles both:

- SIGINT raises `Interrupted` (a KeyboardInterrupt) in the main thread; DuckDB stops a
  running query by itself.
- SIGTERM does the same.
- A DuckDB query keeps the main thread where no Python handler can run, and DuckDB
  does not stop for a signal from outside the process; a watcher thread woken by
  Python's wake-up fd interrupts the connections registered with `track`.

Whatever exception then surfaces, `received()` says a signal caused it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import weakref
from types import FrameType
from typing import Any

_received: int | None = None
_noticed = False
_connections: weakref.WeakSet[Any] = weakref.WeakSet()


class Interrupted(KeyboardInterrupt):
    """Raised by the handler: a KeyboardInterrupt, so every cleanup path treats it so."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


def _handle(signum: int, _frame: FrameType | None) -> None:
    global _received
    if _received is None:
        _received = signum
    raise Interrupted(_received)


def _watch(fd: int) -> None:
    """Interrupt the tracked DuckDB queries as soon as a signal arrives.

    A query keeps the main thread inside DuckDB, where Python's handler cannot run;
    Python's C-level handler still writes the signal's number to the wake-up fd, read
    here, and `interrupt()` makes the query return so the handler gets its turn.
    """
    while True:
        try:
            data = os.read(fd, 64)
        except OSError:
            return
        if not data:
            return
        for con in list(_connections):
            with contextlib.suppress(Exception):
                con.interrupt()


def install() -> None:
    """Handle SIGINT and SIGTERM in this process (main thread only; else a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handle)
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(read_end,), name="cxengine signals", daemon=True).start()


def track(connection: Any) -> Any:
    """Remember a DuckDB connection so SIGTERM can interrupt its query; return it."""
    with contextlib.suppress(TypeError):
        _connections.add(connection)
    return connection


def received() -> int | None:
    """Return the signal that interrupted this process, if one did (and note it was seen)."""
    global _noticed
    if _received is not None:
        _noticed = True
    return _received


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + signum
