"""``synthkit-mock``: a drop-in for the seed's ``python data/mock.py``, same flags.

synthkit-mock --events 1000 --out telemetry_events.jsonl
synthkit-mock --events 5000 --drivers 25 --format csv --out telemetry_events.csv
synthkit-mock --stream --interval 0.25
synthkit-mock --events 2000 --seed 123 --out sample.jsonl
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

from synthkit.api import Run, SynthkitError, build_plugins, keep_freed_memory
from synthkit_telematics.options import build_config, parse_start, parse_weights
from synthkit_telematics.run import generate_file, stream_stdout


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as every synthkit error
        sys.stderr.write(f"error: {message} (see 'synthkit-mock --help')\n")
        sys.exit(2)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = _Parser(prog="synthkit-mock", description="Generate mock telematics events.")
    p.add_argument(
        "--events",
        type=int,
        default=None,
        help="Total events to emit (default 1000; with --stream: until stopped)",
    )
    p.add_argument("--drivers", type=int, default=10, help="Number of synthetic drivers")
    p.add_argument("--seed", type=int, default=42, help="Random seed")
    p.add_argument(
        "--out", type=str, help="Output file path (JSONL or CSV inferred from extension)"
    )
    p.add_argument("--format", help="Force output format (overrides extension): jsonl or csv")
    p.add_argument("--stream", action="store_true", help="Continuously stream to stdout")
    p.add_argument("--interval", type=float, default=0.5, help="Seconds between streamed events")
    p.add_argument("--extreme-variance", action="store_true", help="Enable driver risk profiles")
    p.add_argument("--start", help="Simulated start time, ISO 8601 UTC or 'now'")
    p.add_argument("--weight", action="append", default=[], help="Event weight NAME=VALUE")
    p.add_argument("--weights-file", type=Path, help="JSON or YAML mapping of event weights")
    p.add_argument(
        "--mix",
        default="original",
        help="event weights: original (the old data/mock.py's shares, the default) or declared",
    )
    p.add_argument(
        "--seq",
        action="store_true",
        help="add a seq column: each driver's event number (the original has none)",
    )
    return p.parse_args(argv)


def mock_format(plugins: Any, out: str) -> str:
    """What the original does: CSV for a name ending in .csv, JSON lines for any other (ev.txt,
    ev, ev.log); a name another file sink claims (.parquet, .jsonl.gz) goes to that sink."""
    if out.lower().endswith(".csv"):
        return "csv"
    try:
        return plugins.file_sink(out).name
    except SynthkitError:
        return "jsonl"


def main(argv: list[str] | None = None) -> None:
    keep_freed_memory()
    args = parse_args(argv)
    try:
        config = build_config(
            drivers=args.drivers,
            seed=args.seed,
            start=parse_start(args.start, default_now=args.stream),
            extreme_variance=args.extreme_variance,
            weights=parse_weights(args.weight, args.weights_file, args.mix),
        )
        plugins = build_plugins()
        if args.stream:
            with Run(plugins, "synthkit-mock --stream") as run:  # no transforms: the seed's flags
                stream_stdout(run, config, args.interval, args.events, seq=args.seq)
            return
        if not args.out:
            sys.stderr.write("error: --out is required in batch mode (or use --stream)\n")
            sys.exit(2)
        with Run(plugins, "synthkit-mock") as run:  # its summary is the seed's one line
            summary = generate_file(
                run,
                config,
                1000 if args.events is None else args.events,
                Path(args.out),
                args.format or mock_format(plugins, args.out),
                seq=args.seq,
            )
        print(f"Wrote {summary['events']} events to {args.out} ({summary['format']})")
    except SynthkitError as exc:
        if os.environ.get("SYNTHKIT_DEBUG", "") not in ("", "0"):
            traceback.print_exc()
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
