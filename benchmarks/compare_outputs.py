"""Byte-identical outputs across a change (issue 12): an export-csv, a telematics file and a
bootstrap database, made by this tree and by another commit from the same inputs, compared.

    python benchmarks/compare_outputs.py --against REV

Both trees read this tree's scenario file. The bootstrap's "now" is fixed by freezing the
clock its command reads, so the window is the same on both sides; the database is compared
as a sorted dump of every table (SQLite's page layout is not a promise, its rows are).
Exit 0 when every output matches, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from trees import ROOT, tree_python

SCENARIO = ROOT / "scenarios" / "demo_city_v1.yaml"
END_AT = "2026-01-15T00:00:00Z"

# Runs the bootstrap command with datetime.now frozen at END_AT (the command has no flag for
# it, and imports datetime where it runs, so the module itself is swapped before anything loads).
FROZEN_BOOTSTRAP = f"""
import sys, types
import datetime as real

class Frozen(real.datetime):
    @classmethod
    def now(cls, tz=None):
        return real.datetime.fromisoformat({END_AT!r})

shim = types.ModuleType("datetime")
shim.__dict__.update(real.__dict__)
shim.datetime = Frozen
sys.modules["datetime"] = shim
from synthkit.cli import main
sys.argv = ["synthkit", *sys.argv[1:]]
main()
"""


def produce(python: Path, out: Path) -> dict[str, str]:
    """The three outputs of one tree, as sha256 digests."""
    exe = str(python.with_name("synthkit"))
    env = dict(os.environ)
    env.pop("SYNTHKIT_PLUGINS", None)  # every installed plugin
    common = ["--scenario", str(SCENARIO), "--state-file", str(out / "state.json")]

    def run(argv: list[str]) -> None:
        subprocess.run(
            argv, check=True, cwd=out, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    run(
        [exe, *common, "export-csv", "--end-at", END_AT, "--run-id", "r", "--output-root", str(out)]
    )
    run(
        [
            exe,
            "telematics",
            "generate",
            "--events",
            "50000",
            "--seed",
            "7",
            "--start",
            "2026-01-01T00:00:00",
            "--out",
            str(out / "events.jsonl"),
        ]
    )
    url = f"sqlite:///{out / 'bootstrap.db'}"
    run([exe, "db", "init", "--db-url", url])
    run([exe, *common, "db", "register", "--db-url", url])
    run(
        [
            str(python),
            "-c",
            FROZEN_BOOTSTRAP,
            *common[:2],
            "--state-file",
            str(out / "state2.json"),
            "bootstrap",
            "--db-url",
            url,
            "--drain-analytics",
        ]
    )
    rows = dump(out / "bootstrap.db")
    return {
        "export-csv telemetry_rows.csv": digest(
            (out / "demo_city_v1" / "r" / "telemetry_rows.csv").read_bytes()
        ),
        "telematics events.jsonl": digest((out / "events.jsonl").read_bytes()),
        "bootstrap database (rows)": digest(rows),
        "bootstrap database tables": ", ".join(
            line for line in rows.decode().splitlines() if line.endswith(" rows")
        ),
    }


def dump(path: Path) -> bytes:
    with sqlite3.connect(path) as db:
        tables = [
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        lines = []
        for table in tables:
            rows = sorted(repr(r) for r in db.execute(f'SELECT * FROM "{table}"'))
            lines.append(f"{table}: {len(rows)} rows")
            lines.extend(rows)
    return "\n".join(lines).encode()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", required=True, help="the git revision to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "this").mkdir()
        (Path(tmp) / "other").mkdir()
        mine = produce(Path(sys.executable), Path(tmp) / "this")
        with tree_python(args.against) as python:
            theirs = produce(python, Path(tmp) / "other")
    same = True
    for name in mine:
        equal = mine[name] == theirs[name]
        same &= equal
        key = "rows" if name.endswith("tables") else "sha256"
        print(
            json.dumps(
                {
                    "output": name,
                    "identical": equal,
                    key: mine[name],
                    **({} if equal else {f"{key} [{args.against}]": theirs[name]}),
                }
            )
        )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
