"""The plugin of docs/plugins.md's cxengine.testing example (tests/test_docs_plugins.py)."""
