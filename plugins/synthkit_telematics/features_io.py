"""Where ``telematics features`` reads events from and writes its rows to: Parquet, CSV or
JSON-lines files (a file's ending says which), or a database URL (the endpoint's
``telematics_events`` in, ``telematics_driver_month`` out). Events stream in Arrow batches of
the columns the features need; the rows out are written whole or not at all."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synthkit.api import AtomicFile, ConfigError, connected_engine, redact
from synthkit_telematics.features import NEEDED, TYPE_FIELDS
from synthkit_telematics.store import EVENTS, INIT_HINT

BATCH_ROWS = 1 << 18  # rows per batch read: the fastest and the leanest measured
OUT_TABLE = "telematics_driver_month"


def is_url(where: str) -> bool:
    return "://" in where


def event_batches(source: str) -> Iterator[Any]:
    """Arrow batches of the events at ``source`` (a file or a database URL)."""
    if is_url(source):
        yield from _database(source)
        return
    path = Path(source)
    if not path.is_file():
        raise ConfigError(
            f"{path}: no such file",
            hint="give --from an events file (.parquet, .csv, .jsonl) or a database URL",
        )
    name = path.name.lower()
    if name.endswith(".parquet"):
        yield from _parquet(path)
    elif name.endswith(".csv"):
        yield from _csv(path)
    elif name.endswith((".jsonl", ".ndjson", ".json")):
        yield from _jsonl(path)
    else:
        raise ConfigError(
            f"{path}: not a file features reads", hint="give a .parquet, .csv or .jsonl file"
        )


def _wanted(names: list[str], where: Any) -> list[str]:
    missing = [c for c in NEEDED if c not in names]
    if missing:
        raise ConfigError(
            f"{where}: no {', '.join(missing)} column(s); these are not telematics events",
            hint="give a file `synthkit telematics generate` wrote (or the endpoint's database)",
        )
    return [c for c in (*NEEDED, *TYPE_FIELDS) if c in names]


def _parquet(path: Path) -> Iterator[Any]:
    import pyarrow.parquet as pq

    # read as it goes: pre-buffering keeps every column chunk it fetched until the end
    parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
    columns = _wanted(parquet.schema_arrow.names, path)
    yield from parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns)


def _csv(path: Path) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    with path.open("rb") as fh:
        header = fh.readline().decode("utf-8", "replace").strip().split(",")
    columns = _wanted(header, path)
    types = {c: pa.string() for c in ("driver_id", "ts", "event_type", "trip_id")}
    reader = pcsv.open_csv(
        path,
        read_options=pcsv.ReadOptions(block_size=64 << 20),
        convert_options=pcsv.ConvertOptions(include_columns=columns, column_types=types),
    )
    yield from reader


def _jsonl(path: Path) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.json as pj

    schema = pa.schema(
        [(c, pa.string()) for c in ("driver_id", "ts", "event_type", "trip_id")]
        + [(c, pa.float64()) for c in ("speed_mph", *TYPE_FIELDS) if c != "abs_activation"]
        + [("abs_activation", pa.bool_())]
    )
    reader = pj.open_json(
        path,
        read_options=pj.ReadOptions(block_size=16 << 20),
        parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
    )
    for batch in reader:
        _wanted(batch.schema.names, path)
        yield batch


def _database(url: str) -> Iterator[Any]:
    """The endpoint's table: its columns, and the type fields parsed from each payload."""
    import pyarrow as pa
    import pyarrow.json as pj

    query = f"SELECT driver_id, ts, event_type, trip_id, speed_mph, payload FROM {EVENTS}"
    schema = pa.schema(
        [(c, pa.float64()) for c in TYPE_FIELDS if c != "abs_activation"]
        + [("abs_activation", pa.bool_())]
    )
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    with connected_engine(url, init_hint=INIT_HINT) as engine, engine.connect() as conn:
        result = conn.execution_options(stream_results=True).exec_driver_sql(query)
        while rows := result.fetchmany(200_000):
            driver, ts, kind, trip, speed, payload = zip(*rows)
            fields = pj.read_json(io.BytesIO("\n".join(payload).encode()), parse_options=options)
            yield pa.RecordBatch.from_arrays(
                [pa.array(driver), pa.array(ts), pa.array(kind), pa.array(trip),
                 pa.array(speed, pa.float64()), *(c.combine_chunks() for c in fields.columns)],
                names=[*NEEDED, *fields.schema.names],
            )  # fmt: skip


def write(table: Any, out: str) -> str:
    """``table`` to ``out`` (a .parquet or .csv file, atomically, or a database URL, replacing
    those drivers' months in one transaction); what was written, for the summary."""
    if is_url(out):
        return _to_database(table, out)
    path = Path(out)
    sink = io.BytesIO()
    if path.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        pq.write_table(table, sink)
    elif path.name.lower().endswith(".csv"):
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, sink)
    else:
        raise ConfigError(f"{path}: features are written as .parquet or .csv", hint="rename --out")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic = AtomicFile(path)
    atomic.write(sink.getvalue())
    atomic.commit()
    return str(path)


def _to_database(table: Any, url: str) -> str:
    import sqlalchemy as sa

    metadata = sa.MetaData()
    columns = [sa.Column("driver_id", sa.String(64), primary_key=True),
               sa.Column("month", sa.String(7), primary_key=True)]  # fmt: skip
    for field in table.schema.names[2:]:
        kind = table.schema.field(field).type
        number: Any = sa.BigInteger if str(kind) == "int64" else sa.Float
        columns.append(sa.Column(field, number))
    out = sa.Table(OUT_TABLE, metadata, *columns)
    rows = table.to_pylist()
    with connected_engine(url, create=True, init_hint=INIT_HINT) as engine:
        metadata.create_all(engine)
        with engine.begin() as conn:  # the months computed replace what was there
            if rows:
                gone = out.delete().where(
                    out.c.driver_id == sa.bindparam("d"), out.c.month == sa.bindparam("m")
                )
                conn.execute(gone, [{"d": r["driver_id"], "m": r["month"]} for r in rows])
                conn.execute(out.insert(), rows)
    return f"{redact(url)} ({OUT_TABLE})"
