"""Shards on the Dask executor (issue 28): a 2-worker LocalCluster against 1 worker, the same
shards and rows in the same run, and the unsharded single process beside them.

    python benchmarks/bench_shards.py --rows 50000000                  # both commands
    python benchmarks/bench_shards.py --rows 100000000 --what export --only 2 --analyze

Cases: the unsharded single process; 1 and 2 Dask workers (LocalCluster); 1 worker with the
whole process tree pinned to one core (taskset), the per-core baseline: one synthkit process
already keeps about 1.8 of this machine's 2 cores busy (generation, encoding and I/O run on
threads of their own), so 2 workers beside 1 unpinned can gain at most 2/1.8.

Each case runs the real CLI in a subprocess, timed end to end (start-up, the cluster's own,
sealing the dataset), alternating which goes first; the dataset is removed after each run.
Reported: rows/s, the ratio of 2 workers to 1, rows/s per core (beside dbldatagen's published
~87,000 rows/s per core: a billion IoT rows in under 2 minutes on 12 nodes x 8 cores), and
each worker process's peak RSS (from the executor's summary). ``--analyze`` checks the last
export's dataset with analyze-csv (every part against the manifest).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
END = "2026-02-12T10:00:00Z"
DBLDATAGEN_PER_CORE = 1_000_000_000 / 120 / (12 * 8)  # ~87,000 rows/s per core
STEP_S = 300


def export_scenario(directory: Path, rows: int) -> Path:
    """Stationary tanks at a 5-minute step over 30 days: devices enough for ``rows``."""
    devices = max(2, round(rows / (30 * 86400 / STEP_S)))
    path = directory / "fleet.yaml"
    half = devices // 2
    path.write_text(
        "scenario_id: shards_bench\nbootstrap: {days: 30, step_minutes: 5}\ndevices:\n"
        f'  - {{group: a, count: {half}, id_pattern: "A-{{n:06d}}", '
        f"archetype: stationary_archetype_a, cadence_seconds: {STEP_S}}}\n"
        f'  - {{group: c, count: {devices - half}, id_pattern: "C-{{n:06d}}", '
        f"archetype: stationary_archetype_c, cadence_seconds: {STEP_S}}}\n"
    )
    return path


def command(what: str, work: Path, rows: int, scenario: Path | None) -> list[str]:
    if what == "export":
        assert scenario is not None
        return [
            "--scenario", str(scenario), "--state-file", str(work / "state.json"), "export-csv",
            "--output-root", str(work / "out"), "--end-at", END, "--run-id", "bench",
        ]  # fmt: skip
    return [
        "telematics", "generate", "--events", str(rows), "--drivers", "2000",
        "--out", str(work / "events.csv"),
    ]  # fmt: skip


def run_once(argv: list[str], work: Path, pinned: bool = False) -> tuple[float, dict]:
    """One run, timed; ``pinned``: the whole process tree on one core (taskset)."""
    started = time.perf_counter()
    pin = ["taskset", "-c", "0"] if pinned else []
    res = subprocess.run([*pin, str(BIN / "synthkit"), *argv], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if res.returncode != 0:
        raise SystemExit(f"synthkit {' '.join(argv)} failed:\n{res.stderr}")
    return elapsed, json.loads(res.stdout)


def tidy(work: Path) -> None:
    """The run's output goes: a dataset directory, or the single run's file(s)."""
    for path in [work / "out", *work.glob("events.csv*")]:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000_000)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--what", default="export,telematics")
    ap.add_argument(
        "--only",
        default="single,1,2,1@1core",
        help="cases: single (no shards), 1 or 2 workers, 1@1core (1 worker, all on one core)",
    )
    ap.add_argument("--analyze", action="store_true", help="analyze-csv the last export dataset")
    ap.add_argument("--keep", type=Path, help="keep the last dataset in this directory")
    args = ap.parse_args()
    cases = args.only.split(",")
    with tempfile.TemporaryDirectory(prefix="bench_shards_", dir=args.keep) as tmp:
        work = Path(tmp)
        for what in args.what.split(","):
            scenario = export_scenario(work, args.rows) if what == "export" else None
            base = command(what, work, args.rows, scenario)
            times: dict[str, list[float]] = {c: [] for c in cases}
            rss: dict[str, list[float]] = {c: [] for c in cases}
            rows = 0
            for r in range(args.rounds):
                for case in cases if r % 2 == 0 else list(reversed(cases)):
                    argv = list(base)
                    workers = case.removesuffix("@1core")
                    if case != "single":
                        argv += ["--shards", str(args.shards), "--executor", "dask",
                                 "--workers", workers]  # fmt: skip
                    elapsed, summary = run_once(argv, work, pinned=case.endswith("@1core"))
                    rows = summary.get("rows") or summary.get("row_count") or summary.get("events")
                    times[case].append(elapsed)
                    rss[case].extend(summary.get("peak_rss_mb", {}).values())
                    print(f"{what} {case}: {elapsed:.1f} s, {rows:,} rows, {rows / elapsed:,.0f} rows/s",
                          f"shard peak RSS {summary.get('peak_rss_mb')}, worker process RSS "
                          f"{summary.get('worker_rss_mb')}", flush=True)  # fmt: skip
                    last = r == args.rounds - 1 and case == cases[-1]
                    if last and args.analyze and what == "export":
                        analyze(work / "out" / "shards_bench" / "bench")
                    tidy(work)
            best = {c: min(t) for c, t in times.items()}
            print(f"\n{what}, {rows:,} rows, {args.shards} shards, best of {args.rounds}:")
            for case in cases:
                cores = 1 if case in ("single", "1@1core") else int(case)
                rate = rows / best[case]
                peak = f", worker peak RSS max {max(rss[case]):.0f} MB" if rss[case] else ""
                print(f"  {case:>6}: {best[case]:7.1f} s  {rate:12,.0f} rows/s  "
                      f"{rate / cores:10,.0f} rows/s per worker{peak}")  # fmt: skip
            if "1" in best and "2" in best:
                print(f"  2 workers / 1 worker: {best['1'] / best['2']:.2f}x")
            if "1@1core" in best and "2" in best:
                print(
                    f"  2 workers on 2 cores / 1 worker on 1 core: {best['1@1core'] / best['2']:.2f}x"
                )
            print(f"  dbldatagen, published: {DBLDATAGEN_PER_CORE:,.0f} rows/s per core\n")


def analyze(dataset: Path) -> None:
    started = time.perf_counter()
    res = subprocess.run([str(BIN / "synthkit"), "analyze-csv", "--artifact-dir", str(dataset)],
                         capture_output=True, text=True)  # fmt: skip
    out = json.loads(res.stdout) if res.stdout.strip() else {}
    print(f"  analyze-csv of the dataset: exit {res.returncode}, qc_passed "
          f"{out.get('qc_passed')}, {out.get('row_count', 0):,} rows, manifest mismatches "
          f"{out.get('manifest_mismatch_count')}, {time.perf_counter() - started:.1f} s",
          flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
