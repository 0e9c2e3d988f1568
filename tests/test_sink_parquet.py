"""Issue 13: the built-in ``parquet`` sink. pyarrow reads back what it wrote: the same rows
as the JSON lines/CSV sinks, typed from the batch's value types (timestamps, numbers that are
labels, enums as dictionaries), one file or a Hive dataset by day or by column, whole or not
at all, the same bytes for the same seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from synthkit.api import FileTarget
from synthkit.plugins import build_plugins
from synthkit.testing import check_sink, run_cli
from tests.test_sink_contract import END, STATIONARY


def _generate(out: Path, *extra: str) -> dict:
    res = run_cli(
        [
            "telematics",
            "generate",
            "--events",
            "20000",
            "--drivers",
            "50",
            "--seed",
            "7",
            "--out",
            str(out),
            *extra,
        ]
    )
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


def test_telematics_parquet_holds_the_jsonl_rows_typed(tmp_path):
    _generate(tmp_path / "e.parquet")
    _generate(tmp_path / "e.jsonl")
    table = pq.read_table(tmp_path / "e.parquet")
    schema = table.schema
    assert schema.field("ts").type == pa.timestamp("ms", tz="UTC")
    assert (
        schema.field("car_value").type == pa.int64()
    )  # a label of numbers is a number, not a string
    assert schema.field("abs_activation").type == pa.bool_()
    assert (
        pa.types.is_dictionary(schema.field("event_type").type)
        and schema.field("speed_mph").type == pa.float64()
    )
    rows = table.to_pylist()
    lines = [json.loads(x) for x in (tmp_path / "e.jsonl").read_text().splitlines()]
    assert len(rows) == len(lines) == 20000
    for row, line in zip(rows[::997], lines[::997]):
        ts = row.pop("ts").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        assert ts == line.pop("ts")
        assert {k: v for k, v in row.items() if v is not None} == line  # absent fields are nulls
    _generate(tmp_path / "again.parquet")
    assert (tmp_path / "again.parquet").read_bytes() == (tmp_path / "e.parquet").read_bytes()


def test_reservoir_export_to_parquet_equals_the_csv_export(tmp_path):
    base = [
        "--scenario",
        STATIONARY,
        "export-csv",
        "--end-at",
        END,
        "--output-root",
        str(tmp_path / "o"),
    ]
    csv = json.loads(
        run_cli(["--state-file", str(tmp_path / "a.json"), *base, "--run-id", "c"]).stdout
    )
    res = run_cli(
        ["--state-file", str(tmp_path / "b.json"), *base, "--run-id", "p", "--sink", "parquet"]
    )
    assert res.exit_code == 0, res.stderr
    parquet = pq.read_table(json.loads(res.stdout)["rows"])
    text = pacsv.read_csv(
        csv["csv"], convert_options=pacsv.ConvertOptions(strings_can_be_null=True)
    ).to_pylist()
    got = parquet.to_pylist()
    assert len(got) == len(text) == csv["row_count"]
    for row, line in zip(got[::101], text[::101]):
        assert row["device_id"] == line["device_id"] and row["seq"] == line["seq"]
        assert row["received_at"].strftime("%Y-%m-%dT%H:%M:%SZ") == line["received_at"].strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        for name in ("level_pct", "liters", "raw_1", "raw_5", "signal_strength_dbm"):
            assert row[name] == line[name], name


@pytest.mark.parametrize("by", ["day", "device_id"])
def test_a_partitioned_dataset_reads_back_whole(tmp_path, by):
    base = [
        "--scenario",
        STATIONARY,
        "export-csv",
        "--end-at",
        END,
        "--output-root",
        str(tmp_path / "o"),
    ]
    one = json.loads(
        run_cli(
            [
                "--state-file",
                str(tmp_path / "a.json"),
                *base,
                "--run-id",
                "one",
                "--sink",
                "parquet",
            ]
        ).stdout
    )
    res = run_cli(
        [
            "--state-file",
            str(tmp_path / "b.json"),
            *base,
            "--run-id",
            "ds",
            "--sink",
            "parquet",
            "--sink-option",
            f"partition_by={by}",
        ]
    )
    assert res.exit_code == 0, res.stderr
    root = Path(json.loads(res.stdout)["rows"])
    assert root.is_dir() and all(p.name.startswith(f"{by}=") for p in root.iterdir())

    def rows(table: pa.Table) -> list[tuple]:
        return sorted(
            (str(r["device_id"]), r["seq"], r["received_at"], r["level_pct"], r["raw_1"])
            for r in table.to_pylist()
        )

    assert rows(ds.dataset(root, partitioning="hive").to_table()) == rows(
        pq.read_table(one["rows"])
    )


def test_a_bad_partition_option_stops_before_anything_is_written(tmp_path):
    res = run_cli(
        [
            "--scenario",
            STATIONARY,
            "--state-file",
            str(tmp_path / "s.json"),
            "export-csv",
            "--end-at",
            END,
            "--output-root",
            str(tmp_path / "o"),
            "--run-id",
            "x",
            "--sink",
            "parquet",
            "--sink-option",
            "partition_by=tank_colour",
        ]
    )
    assert (
        res.exit_code == 2
        and "partition_by='tank_colour': the rows have no such column" in res.stderr
    )
    assert "device_id" in res.stderr and not (tmp_path / "o" / "stationary_only_v1" / "x").exists()
    res = run_cli(
        [
            "telematics",
            "generate",
            "--events",
            "10",
            "--out",
            str(tmp_path / "e.parquet"),
            "--sink-option",
            "compression=rar",
        ]
    )
    assert (
        res.exit_code == 2
        and "compression='rar'" in res.stderr
        and not (tmp_path / "e.parquet").exists()
    )


@pytest.mark.parametrize(
    "options", [{}, {"partition_by": "day"}, {"partition_by": "device_id", "max_open_files": 2}]
)
def test_parquet_passes_the_conformance_kit(tmp_path, options):
    spec = build_plugins().sinks()["parquet"]
    check_sink(spec, lambda run: FileTarget(tmp_path / f"out{run}.parquet"), options=options)


def test_partitions_by_a_column_put_absent_values_in_the_null_partition_and_refuse_other_kinds(
    tmp_path,
):
    from synthkit.api import Batch, Column, FileTarget, make_sink

    spec = build_plugins().sinks()["parquet"]
    sink = make_sink(spec, FileTarget(tmp_path / "ds"), {"partition_by": "point_id"})
    batch = Batch(
        [
            Column("seq", "int", np.arange(4)),
            Column(
                "point_id",
                "label",
                np.array([0, 0, 1, 0]),
                labels=("P1", "P2"),
                present=np.array([True, False, True, False]),
            ),
        ]
    )
    sink.open(batch.names)
    sink.write(batch)
    sink.close()
    parts = sorted(p.name for p in (tmp_path / "ds").iterdir())
    assert parts == ["point_id=P1", "point_id=P2", "point_id=__HIVE_DEFAULT_PARTITION__"]
    table = ds.dataset(tmp_path / "ds", partitioning="hive").to_table()
    assert sorted(zip(table.column("seq").to_pylist(), table.column("point_id").to_pylist())) == [
        (0, "P1"),
        (1, None),
        (2, "P2"),
        (3, None),
    ]
    res = run_cli(
        [
            "telematics",
            "generate",
            "--events",
            "100",
            "--out",
            str(tmp_path / "e.parquet"),
            "--sink-option",
            "partition_by=speed_mph",
        ]
    )
    assert res.exit_code == 2 and "a float column cannot name partitions" in res.stderr
    assert not (tmp_path / "e.parquet").exists() and not list(tmp_path.glob(".e.parquet*"))
