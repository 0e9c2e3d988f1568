"""Parquet sink speed (issue 13): synthkit end to end beside pyarrow writing the same
columns from numpy alone (the limit), in the same run.

    python benchmarks/bench_parquet.py                     # both cases, 3 runs each
    python benchmarks/bench_parquet.py --events 5000000 --runs 1

Cases: the reservoir export of 1,000 stationary devices x 30 days at 5 minutes (8.64M rows,
`export-csv --sink parquet`) and telematics (`telematics generate --out x.parquet`, 10M
events). synthkit runs as the real CLI in a subprocess, timed end to end (start-up, plugin
load and kernels included). The limit reads synthkit's file back, turns every column into
numpy arrays (dictionary codes and labels for enums; strings stay Arrow, numpy has no
string buffer to hand over), and times only building the Arrow arrays from them and writing
the same row groups with the same codec and dictionary choice: what pyarrow alone costs for
these columns.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_export import END, scenario_text

BIN = Path(sys.executable).parent


def as_numpy(table: pa.Table) -> list[tuple[pa.Field, object]]:
    """Each column as numpy (or Arrow strings), ready to be rebuilt."""
    out = []
    for field, column in zip(table.schema, table.columns):
        chunked = column.combine_chunks()
        if pa.types.is_dictionary(field.type):
            indices = chunked.indices
            mask = indices.is_null().to_numpy(zero_copy_only=False) if indices.null_count else None
            out.append(
                (
                    field,
                    (indices.fill_null(0).to_numpy().astype(np.int32), mask, chunked.dictionary),
                )
            )
        elif pa.types.is_string(field.type):
            out.append((field, chunked))
        else:
            values = chunked.to_numpy(zero_copy_only=False)
            mask = chunked.is_null().to_numpy(zero_copy_only=False) if chunked.null_count else None
            out.append((field, (values, mask)))
    return out


def pyarrow_limit(
    columns: list[tuple[pa.Field, object]], rows: int, group: int, out: Path
) -> float:
    """Rows/s of building Arrow arrays from numpy and writing them (same row groups, snappy)."""
    schema = pa.schema([f for f, _ in columns])
    enums = [f.name for f in schema if pa.types.is_dictionary(f.type)]  # as the sink does
    started = time.perf_counter()
    with pq.ParquetWriter(
        out, schema, compression="snappy", use_dictionary=enums or False
    ) as writer:
        for r0 in range(0, rows, group):
            r1 = min(rows, r0 + group)
            arrays = []
            for field, data in columns:
                if isinstance(data, pa.Array):
                    arrays.append(data.slice(r0, r1 - r0))
                elif pa.types.is_dictionary(field.type):
                    codes, mask, labels = data
                    indices = pa.array(
                        codes[r0:r1], pa.int32(), mask=None if mask is None else mask[r0:r1]
                    )
                    arrays.append(pa.DictionaryArray.from_arrays(indices, labels))
                else:
                    values, mask = data
                    arrays.append(
                        pa.array(
                            values[r0:r1], field.type, mask=None if mask is None else mask[r0:r1]
                        )
                    )
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema), row_group_size=r1 - r0)
    return rows / (time.perf_counter() - started)


def timed(cmd: list[str]) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    return elapsed, json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        scenario = work / "fleet.yaml"
        scenario.write_text(scenario_text("fleet_1000x30d_5min"))
        cases = {
            "reservoir_export_1000x30d_5min": lambda run: [
                str(BIN / "synthkit"),
                "--scenario",
                str(scenario),
                "--state-file",
                str(work / f"s{run}.json"),
                "export-csv",
                "--sink",
                "parquet",
                "--end-at",
                END,
                "--run-id",
                f"r{run}",
                "--output-root",
                str(work / "out"),
            ],
            f"telematics_{args.events}": lambda run: [
                str(BIN / "synthkit"),
                "telematics",
                "generate",
                "--events",
                str(args.events),
                "--drivers",
                "1000",
                "--out",
                str(work / f"t{run}.parquet"),
            ],
        }
        for name, command in cases.items():
            rates, limits, file = [], [], None
            for run in range(args.runs):
                elapsed, summary = timed(command(run))
                rows = summary.get("row_count") or summary["events"]
                rates.append(rows / elapsed)
                file = Path(summary.get("rows") or summary["out"])
                meta = pq.ParquetFile(file).metadata
                group = meta.row_group(0).num_rows
                columns = as_numpy(pq.read_table(file))
                limits.append(pyarrow_limit(columns, rows, group, work / "limit.parquet"))
                del columns
                file.unlink()
            best, limit = max(rates), max(limits)
            results[name] = {
                "rows": rows,
                "row_group_rows": group,
                "synthkit_rows_per_s_best": round(best),
                "synthkit_rows_per_s_median": round(sorted(rates)[len(rates) // 2]),
                "pyarrow_from_numpy_rows_per_s_best": round(limit),
                "ratio_to_limit": round(best / limit, 3),
                "bar_rows_per_s": 1_500_000,
                "meets_bar": best >= 1_500_000,
            }
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
