"""What checking a faulted run against its ground truth costs (issue 26): ``analyze-csv`` of
a faulted export (1,000 devices x 30 days, the typical ten-fault block of bench_faults.py)
beside ``analyze-csv`` of the same export without faults, in the same run; and ``synthkit
score`` of a detector that flags every labelled record, beside the obvious Python script (the
labels and detections read line by line with json, compared as sets of (stream, seq)).

    python benchmarks/bench_fault_truth.py [--devices 1000] [--days 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_faults import BIN, TYPICAL, export, scenario


def timed(*args: str) -> float:
    started = time.perf_counter()
    res = subprocess.run([str(BIN), *args], capture_output=True, text=True, check=False)
    if res.returncode not in (0, 3):
        raise SystemExit(res.stderr)
    return time.perf_counter() - started


def by_hand(labels: Path, detections: Path) -> float:
    """The script a QA engineer would write: record-level precision and recall by sets."""
    started = time.perf_counter()
    truth = {(r["stream"], r["seq"]) for r in map(json.loads, labels.open())}
    flagged = {(r["stream"], r["seq"]) for r in map(json.loads, detections.open())}
    hits = len(truth & flagged)
    _ = (hits / len(flagged), hits / len(truth))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        dirs = {}
        for kind, block in (("plain", ""), ("faulted", TYPICAL)):
            (tmp / kind).mkdir()
            path = tmp / kind / "s.yaml"
            path.write_text(scenario(args.devices, args.days, block))
            _, summary = export(tmp / kind, path)
            dirs[kind] = Path(summary["csv"]).parent
        labels = next(dirs["faulted"].glob("*.labels.jsonl"))
        times: dict[str, list[float]] = {"plain": [], "faulted": [], "score": [], "by_hand": []}
        for _ in range(args.runs):  # alternating: a noisy minute hits both
            for kind in ("plain", "faulted"):
                times[kind].append(timed("analyze-csv", "--artifact-dir", str(dirs[kind])))
            times["score"].append(
                timed("score", "--labels", str(labels), "--detections", str(labels))
            )
            times["by_hand"].append(by_hand(labels, labels))
        rows = json.loads((dirs["faulted"] / "manifest.json").read_text())["total_rows"]
        label_count = sum(1 for _ in labels.open())
    best = {k: min(v) for k, v in times.items()}
    print(
        json.dumps(
            {
                "rows": rows,
                "labels": label_count,
                "analyze_plain_s": round(best["plain"], 2),
                "analyze_faulted_s": round(best["faulted"], 2),
                "analyze_overhead": round(best["faulted"] / best["plain"] - 1, 3),
                "score_s": round(best["score"], 2),
                "by_hand_s": round(best["by_hand"], 2),
                "score_vs_by_hand": round(best["by_hand"] / best["score"], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
