"""A plugin that raises SystemExit with a message at import."""

raise SystemExit("missing licence key")
