"""parquet sink: typed columns into one Parquet file or a dataset partitioned by day or column."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthkit import hookimpl
from synthkit.api import SinkSpec

if TYPE_CHECKING:  # pyarrow loads when a sink is made, not at start-up
    from synthkit.api import FileTarget
    from synthkit_sink_parquet.sink import ParquetOptions, ParquetSink


def make_sink(target: FileTarget, options: ParquetOptions) -> ParquetSink:
    from synthkit_sink_parquet.sink import ParquetSink

    return ParquetSink(target, options)


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    from synthkit_sink_parquet.options import ParquetOptions

    return [
        SinkSpec(
            name="parquet",
            factory=make_sink,
            extensions=(".parquet",),
            options=ParquetOptions,
            description="Parquet (pyarrow): typed columns, one file or a dataset partitioned by day or column",
        )
    ]
