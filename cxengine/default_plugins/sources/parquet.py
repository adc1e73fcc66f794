"""The `parquet` source: Parquet files read by DuckDB, keeping their column types."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cxengine import hookimpl
from cxengine.dataset.files import FileHasher, input_file
from cxengine.errors import DataError
from cxengine.interfaces import SourceContext, SourceData


class ParquetOptions(BaseModel):
    """Options of the parquet source."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="the Parquet file, relative to cxengine.yaml")


class ParquetSource:
    """Parquet files; column types come from the file (integers stay integers)."""

    name = "parquet"
    description = "Parquet files, typed by the file's own schema"
    options_model = ParquetOptions

    def input_files(self, context: SourceContext) -> list[Path]:
        """Return the file the rows are read from (for the rerun cache)."""
        opts = ParquetOptions.model_validate(context.options)
        return [input_file(context, opts.path)]

    def open(self, context: SourceContext) -> SourceData:
        """Describe how DuckDB reads the file."""
        opts = ParquetOptions.model_validate(context.options)
        path = input_file(context, opts.path)
        if path.stat().st_size == 0:
            raise DataError(f"dataset {context.dataset!r}: {path} is empty, not a Parquet file")
        hasher = FileHasher(path)

        def locate(rows: Sequence[int]) -> Mapping[int, str]:
            return {r: f"{opts.path} row {r + 1}" for r in rows}

        return SourceData(
            relation=lambda con: con.sql(
                "SELECT * FROM read_parquet($path)", params={"path": str(path)}
            ),
            origin=opts.path,
            locate=locate,
            fingerprint=hasher.result,
            typed=True,
        )


@hookimpl
def register_sources(register: Callable[..., None]) -> None:
    """Register the parquet source."""
    register(ParquetSource())
