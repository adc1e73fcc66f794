"""Docs that cannot drift: the storage page names every column of the schema."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from cxengine.store.migrations import apply_migrations

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_storage_doc_lists_every_table_and_column() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    apply_migrations(conn)
    doc = (DOCS / "storage.md").read_text(encoding="utf-8")
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master "
            "WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'"
        )
    ]
    for table in tables:
        section = doc.split(f"### `{table}`", 1)
        assert len(section) == 2, f"docs/storage.md has no section for table {table}"
        body = section[1].split("\n### ", 1)[0]
        documented = set(re.findall(r"`([a-z_]+)`", body))
        for _, column, *_rest in conn.execute(f"PRAGMA table_info({table})"):
            assert column in documented, (
                f"column {table}.{column} is not documented in docs/storage.md"
            )
