"""Turning a source's rows into a typed DuckDB table: `cxengine.dataset.load.load_dataset`.

Nothing heavy is imported here, so importing the package stays instant.
"""
