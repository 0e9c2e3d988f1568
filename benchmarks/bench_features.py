"""Monthly driver features over 10M events (issue 27): `synthkit telematics features` end to
end (the CLI in a subprocess, reading Parquet, writing Parquet), beside a pandas groupby of
the same features on the same file, in the same run, best of --runs each. The bar: at least
2M events/s. The two results are compared value by value.

    python benchmarks/bench_features.py [--events 10000000] [--drivers 2000] [--runs 3]

pandas is not a synthkit dependency: `pip install pandas` to run this.
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

BIN = Path(sys.executable).parent / "synthkit"
COLUMNS = ["driver_id", "ts", "event_type", "trip_id", "speed_mph", "duration_sec", "braking_g",
           "abs_activation", "over_speed_mph", "lateral_g", "following_distance_m"]  # fmt: skip


def with_pandas(path: Path):
    """The same features, the way a data team would write them in pandas."""
    import pandas as pd

    df = pd.read_parquet(path, columns=COLUMNS)
    df["month"] = df["ts"].dt.strftime("%Y-%m")
    kind = df["event_type"].astype(str)
    for name in ("hard_braking", "aggressive_turn", "speeding", "late_night_driving", "tailgating"):
        df[name] = (kind == name).astype(float)
    df["speeding_sec"] = df["duration_sec"].where(kind == "speeding")
    df["brake_g"] = df["braking_g"].where(kind == "hard_braking")
    df["abs"] = df["abs_activation"].astype(float).where(kind == "hard_braking")
    df["over"] = df["over_speed_mph"].where(kind == "speeding")
    df["lat_g"] = df["lateral_g"].where(kind == "aggressive_turn")
    df["follow"] = df["following_distance_m"].where(kind == "tailgating")
    g = df.groupby([df["driver_id"].astype(str), "month"], sort=True)
    a = g.agg(
        events=("speed_mph", "size"), trips=("trip_id", "nunique"), speed=("speed_mph", "sum"),
        max_speed_mph=("speed_mph", "max"), hard_braking=("hard_braking", "sum"),
        aggressive_turn=("aggressive_turn", "sum"), speeding=("speeding", "sum"),
        late_night=("late_night_driving", "sum"), tailgating=("tailgating", "sum"),
        speeding_sec=("speeding_sec", "sum"), mean_braking_g=("brake_g", "mean"),
        abs_rate=("abs", "mean"), mean_over_speed_mph=("over", "mean"),
        max_lateral_g=("lat_g", "max"), mean_following_distance_m=("follow", "mean"),
    )  # fmt: skip
    miles = a["speed"] / 60
    out = pd.DataFrame(index=a.index)
    out["events"] = a["events"]
    out["trips"] = a["trips"]
    out["driving_minutes"] = a["events"]
    out["miles"] = miles
    out["hard_braking_per_100mi"] = 100 * a["hard_braking"] / miles
    out["aggressive_turn_per_100mi"] = 100 * a["aggressive_turn"] / miles
    out["speeding_minutes_per_100mi"] = 100 * a["speeding_sec"] / 60 / miles
    out["late_night_per_100mi"] = 100 * a["late_night"] / miles
    out["tailgating_ratio"] = a["tailgating"] / a["events"]
    out["mean_speed_mph"] = a["speed"] / a["events"]
    for name in ("max_speed_mph", "mean_braking_g", "abs_rate", "mean_over_speed_mph",
                 "max_lateral_g", "mean_following_distance_m"):  # fmt: skip
        out[name] = a[name]
    return out.reset_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--drivers", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        events = tmp / "events.parquet"
        subprocess.run([str(BIN), "telematics", "generate", "--events", str(args.events),
                        "--drivers", str(args.drivers), "--out", str(events)],
                       check=True, capture_output=True)  # fmt: skip
        ours, theirs = [], []
        for _ in range(args.runs):  # alternating: a noisy minute hits both
            out = tmp / "features.parquet"
            started = time.perf_counter()
            res = subprocess.run(["/usr/bin/time", "-f", "%M", str(BIN), "telematics", "features",
                                  "--from", str(events), "--out", str(out)],
                                 check=True, capture_output=True, text=True)  # fmt: skip
            ours.append(time.perf_counter() - started)
            rss_mb = int(res.stderr.strip().splitlines()[-1]) / 1024
            started = time.perf_counter()
            frame = with_pandas(events)
            theirs.append(time.perf_counter() - started)
        import pyarrow.parquet as pq

        mine = pq.read_table(out).to_pandas()
        worst = 0.0
        for column in mine.columns[2:]:
            a, b = mine[column].to_numpy(float), frame[column].to_numpy(float)
            both = ~(np.isnan(a) | np.isnan(b))
            assert (np.isnan(a) == np.isnan(b)).all(), column
            worst = max(
                worst, float(np.max(np.abs(a[both] - b[both]) / np.maximum(1, np.abs(b[both]))))
            )
    best, pandas_best = min(ours), min(theirs)
    print(json.dumps({
        "events": args.events, "drivers": args.drivers, "rows": len(mine),
        "synthkit_s": round(best, 2), "events_per_s": round(args.events / best),
        "pandas_s": round(pandas_best, 2), "pandas_events_per_s": round(args.events / pandas_best),
        "speedup_vs_pandas": round(pandas_best / best, 2), "max_rel_diff": worst,
        "features_peak_rss_mb": round(rss_mb), "bar_events_per_s": 2_000_000,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
