"""Notes: things a source tells the user that are not errors (a renamed header, …).

A source emits one with ``warnings.warn(message, DataNote)``; `load_dataset` records
them in ``LoadedDataset.notes``. Outside a load they behave as ordinary warnings.
"""

from __future__ import annotations

import warnings


class DataNote(UserWarning):
    """Something about the data worth telling the user, e.g. a duplicate column renamed."""


def note(message: str) -> None:
    """Emit a DataNote."""
    warnings.warn(message, DataNote, stacklevel=2)


def unique_names(names: list[str], what: str = "column") -> tuple[list[str], list[str]]:
    """Name blank columns 'column_N' and suffix duplicates '_2', '_3'; return names, messages.

    Names are compared without case, as DuckDB does for column names.
    """
    out: list[str] = []
    seen: set[str] = set()
    messages = []
    for i, raw in enumerate(names, start=1):
        name = raw.strip().removeprefix("\ufeff").strip()
        if not name:
            name = f"{what}_{i}"
            messages.append(f"{what} {i} has no name in the header; it is called {name!r}")
        if name.lower() in seen:
            n = 2
            while f"{name}_{n}".lower() in seen:
                n += 1
            messages.append(f"{what} {i} repeats the name {name!r}; it is called {name}_{n}")
            name = f"{name}_{n}"
        seen.add(name.lower())
        out.append(name)
    return out, messages
