"""The ``parquet`` sink's ``--sink-option`` flags."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from synthkit.api import SinkOptions


class ParquetOptions(SinkOptions):
    partition_by: str = Field(
        "", description="'' (one file), 'day' (UTC day of time_column) or a column name"
    )
    time_column: str = Field(
        "", description="the timestamp column days come from (default: the first)"
    )
    compression: Literal["snappy", "zstd", "gzip", "lz4", "none"] = Field(
        "snappy", description="codec per column chunk"
    )
    max_open_files: int = Field(
        512, ge=1, le=4096, description="partition files open at once; more start new parts"
    )
