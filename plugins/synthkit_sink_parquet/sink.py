"""The ``parquet`` sink: typed columns (from the batch's value types) into one Parquet file,
or a dataset partitioned by UTC day or by a column's value (Hive layout, ``day=2026-01-05/``,
``device_id=T-1/``), whole or not at all: a single file through the target's atomic file, a
dataset in a hidden temp directory renamed into place at close."""

from __future__ import annotations

import os
import shutil
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from synthkit.api import (
    AtomicFile,
    Batch,
    ConfigError,
    FileSink,
    FileTarget,
    OutputError,
    SinkReport,
    sweep_stale,
    temp_path,
)
from synthkit_sink_parquet.arrow import schema_of, to_table
from synthkit_sink_parquet.options import ParquetOptions


class ParquetSink(FileSink):
    def __init__(self, target: FileTarget, options: ParquetOptions) -> None:
        self.target, self.options = target, options
        self.compression = None if options.compression == "none" else options.compression
        self.schema: pa.Schema | None = None
        self.records = 0
        self._file: AtomicFile | None = None
        self._writer: pq.ParquetWriter | None = None
        self._tmp: Path | None = None  # a partitioned dataset's temp directory
        self._parts: OrderedDict[str, pq.ParquetWriter] = (
            OrderedDict()
        )  # open partition files, LRU first
        self._part_count: dict[str, int] = {}

    def open(self, columns: tuple[str, ...]) -> None:
        by = self.options.partition_by
        if by and by != "day" and columns and by not in columns:
            raise ConfigError(
                f"--sink-option partition_by={by!r}: the rows have no such column",
                hint=f"use 'day' or one of: {', '.join(columns)}",
            )
        if not by:
            return
        if self.target.path.exists() or self.target.path.is_symlink():
            raise ConfigError(
                f"{self.target.path} already exists", hint="a dataset is written to a new directory"
            )
        sweep_stale(self.target.path.parent)  # a dataset a kill -9 left half-written
        self._tmp = temp_path(self.target.path)
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._tmp.mkdir(parents=True)

    def write(self, batch: Batch) -> None:
        if batch.n == 0:
            return
        if self.schema is None:
            self.schema = schema_of(batch)
        table = to_table(batch, self.schema)
        by = self.options.partition_by
        if by and by != "day":  # Hive layout: the value is in the directory name, not the file
            table = table.drop_columns([by])
        try:
            if self._tmp is None:
                self._one_file().write_table(table, row_group_size=max(1, batch.n))
            else:
                for key, rows in self._partitions(batch):
                    self._part(key).write_table(table.take(rows) if rows is not None else table)
        except OSError as exc:
            raise OutputError(
                f"cannot write {self.target.path}: {exc.strerror or exc}",
                hint="free some space, or write elsewhere",
            ) from exc
        self.records += batch.n

    def _one_file(self) -> pq.ParquetWriter:
        if self._writer is None:
            assert self.schema is not None
            self._file = self.target.atomic_file()
            self._writer = self._new_writer(self._file, self.schema)
        return self._writer

    def _partitions(self, batch: Batch) -> list[tuple[str, np.ndarray | None]]:
        """(partition directory, row indices) in first-seen order: deterministic."""
        by = self.options.partition_by
        if by == "day":
            column = self._time_column(batch)
            keys = column.timestamps().astype("datetime64[D]").astype(np.int64)
            names = lambda k: f"day={np.datetime64(int(k), 'D')}"  # noqa: E731
        else:
            column = batch.column(by)
            if column.kind not in ("label", "int"):
                raise ConfigError(
                    f"--sink-option partition_by={by!r}: a {column.value_type} column cannot name partitions",
                    hint="partition by day, or by a label or whole-number column (device_id, ...)",
                )
            null = np.iinfo(
                np.int64
            ).min  # rows where the column does not apply: Hive's null partition
            keys = (
                column.values
                if column.present is None
                else np.where(column.present, column.values, null)
            )
            labels = list(column.labels)

            def names(k: int) -> str:
                if k == null:
                    return f"{by}=__HIVE_DEFAULT_PARTITION__"
                return f"{by}={labels[k] if column.kind == 'label' else k}"

        uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        if uniq.size == 1:
            return [(names(uniq[0]), None)]
        order = np.argsort(inverse, kind="stable")
        bounds = np.cumsum(np.bincount(inverse, minlength=uniq.size))[:-1]
        groups = np.split(order, bounds)
        return [(names(uniq[i]), groups[i]) for i in np.argsort(first, kind="stable")]

    def _time_column(self, batch: Batch):  # returns a Column
        name = self.options.time_column
        stamps = [
            c for c in batch.columns if c.value_type == "timestamp" and (not name or c.name == name)
        ]
        if not stamps:
            raise ConfigError(
                "--sink-option partition_by=day: the rows have no timestamp column"
                + (f" {name!r}" if name else ""),
                hint="give time_column, or partition by a column name",
            )
        return stamps[0]

    def _part(self, key: str) -> pq.ParquetWriter:
        writer = self._parts.get(key)
        if writer is not None:
            self._parts.move_to_end(key)
            return writer
        if len(self._parts) >= self.options.max_open_files:
            _, oldest = self._parts.popitem(last=False)
            oldest.close()
        assert self._tmp is not None and self.schema is not None
        number = self._part_count.get(key, 0)
        self._part_count[key] = number + 1
        directory = self._tmp / key
        directory.mkdir(exist_ok=True)
        schema = self.schema
        if self.options.partition_by != "day":
            schema = schema.remove(schema.get_field_index(self.options.partition_by))
        writer = self._new_writer(directory / f"part-{number:05d}.parquet", schema)
        self._parts[key] = writer
        return writer

    def _new_writer(self, where: object, schema: pa.Schema) -> pq.ParquetWriter:
        # dictionary pages only for enums: trying them on unique text (ids) and on numbers
        # cost ~40% of the write and saved little (measured: benchmarks/README.md)
        enums = [f.name for f in schema if pa.types.is_dictionary(f.type)]
        return pq.ParquetWriter(
            where, schema, compression=self.compression, use_dictionary=enums or False
        )

    def close(self) -> SinkReport:
        if self._tmp is None:
            if self._writer is None:  # no rows: an empty file still says what the columns are
                self.schema = self.schema or pa.schema([])
                self._one_file()
            assert self._writer is not None and self._file is not None
            self._writer.close()
            self._file.commit()
            return SinkReport("parquet", self.records, self._file.bytes, str(self.target.path))
        for writer in self._parts.values():
            writer.close()
        self._parts.clear()
        size = sum(p.stat().st_size for p in self._tmp.rglob("*.parquet"))
        os.rename(self._tmp, self.target.path)  # the dataset appears whole, or not at all
        return SinkReport("parquet", self.records, size, str(self.target.path))

    def abort(self) -> None:
        writers = [*self._parts.values(), *([self._writer] if self._writer is not None else [])]
        for writer in writers:  # closed first: a writer collected later would write into nothing
            try:
                writer.close()
            except Exception:  # aborting: what is left is removed below
                pass
        self._parts.clear()
        self._writer = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
        if self._file is not None:
            self._file.abort()
