"""The seed's commands and flags, bad input, determinism, streaming and the drop-in script."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import BIN

GEN = ("synthkit", "telematics", "generate")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_generate_jsonl_default_ten_drivers(sh, tmp_path):
    out = tmp_path / "telemetry_events.jsonl"
    res = sh(*GEN, "--events", "1000", "--out", str(out))
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["command"] == "telematics generate" and summary["events"] == 1000
    assert summary["format"] == "jsonl" and summary["drivers"] == 10
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1000
    assert {r["driver_id"] for r in rows} == {f"D{d:04d}" for d in range(10)}


def test_generate_csv_25_drivers_union_header_and_empty_cells(sh, tmp_path):
    out = tmp_path / "telemetry_events.csv"
    res = sh(*GEN, "--events", "5000", "--drivers", "25", "--format", "csv", "--out", str(out))
    assert res.returncode == 0, res.stderr
    with out.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        rows = list(reader)
    assert header == json.loads(res.stdout)["columns"]
    assert len(rows) == 5000 and len({r["driver_id"] for r in rows}) == 25
    for field in ("braking_g", "lateral_g", "over_speed_mph", "following_distance_m"):
        assert field in header
    braking = [r for r in rows if r["event_type"] == "hard_braking"]
    pings = [r for r in rows if r["event_type"] == "ping"]
    assert braking and all(r["braking_g"] for r in braking)
    assert pings and all(r["braking_g"] == "" and r["over_speed_mph"] == "" for r in pings)
    assert len({r["event_type"] for r in rows}) >= 5  # the seed's CSV crashed on the 2nd type


def test_format_inferred_from_extension_and_forced(sh, tmp_path):
    res = sh(*GEN, "--events", "10", "--out", str(tmp_path / "a.csv"))
    assert json.loads(res.stdout)["format"] == "csv"
    assert (tmp_path / "a.csv").read_text().startswith("event_id,driver_id,")
    res = sh(*GEN, "--events", "10", "--format", "jsonl", "--out", str(tmp_path / "b.csv"))
    assert json.loads((tmp_path / "b.csv").read_text().splitlines()[0])["driver_id"]


def test_same_seed_same_bytes_different_seed_different_bytes(sh, tmp_path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    for path, seed in ((a, "123"), (b, "123"), (c, "124")):
        assert sh(*GEN, "--events", "2000", "--seed", seed, "--out", str(path)).returncode == 0
    assert sha(a) == sha(b) and sha(a) != sha(c)
    x, y = tmp_path / "x.csv", tmp_path / "y.csv"
    for path in (x, y):
        sh(*GEN, "--events", "3000", "--seed", "7", "--extreme-variance", "--out", str(path))
    assert sha(x) == sha(y)


def test_start_option_sets_the_clock(sh, tmp_path):
    out = tmp_path / "s.jsonl"
    sh(*GEN, "--events", "50", "--start", "2024-03-01T12:00:00Z", "--out", str(out))
    first = [json.loads(x)["ts"] for x in out.read_text().splitlines()]
    assert min(first) >= "2024-03-01T12:00:00.000Z" and max(first) < "2024-03-03"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--events", "0"), "--events must be at least 1"),
        (("--events", "-5"), "--events must be at least 1"),
        (("--drivers", "0"), "--drivers"),
        (("--drivers", "-3"), "--drivers"),
        (("--format", "xml"), "unknown format 'xml'"),
        (("--weight", "speeding=-1"), "weight must be a finite number >= 0"),
        (("--weight", "speeding=lots"), "'lots' is not a number"),
        (("--weight", "warp_drive=1"), "unknown event type(s): warp_drive"),
        (("--weight", "speeding"), "is not NAME=VALUE"),
        (("--start", "yesterday"), "is not an ISO 8601 time"),
        (("--events", "ten"), "Invalid value for '--events'"),
    ],
)
def test_bad_input_one_line_exit_2_no_output(sh, tmp_path, args, needle):
    out = tmp_path / "out.jsonl"
    res = sh(*GEN, "--out", str(out), *args)
    assert res.returncode == 2, res.stderr
    assert needle in res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_all_zero_weights_and_bad_weights_file(sh, tmp_path):
    zero = ",".join(
        f"{n}=0"
        for n in (
            "hard_braking",
            "aggressive_turn",
            "speeding",
            "tailgating",
            "late_night_driving",
            "ping",
        )
    )
    args = [a for pair in zero.split(",") for a in ("--weight", pair)]
    res = sh(*GEN, "--out", str(tmp_path / "o.jsonl"), *args)
    assert res.returncode == 2 and "every event type has weight 0" in res.stderr
    bad = tmp_path / "w.yaml"
    bad.write_text("speeding: 0.5\nping: fast\n")
    res = sh(*GEN, "--out", str(tmp_path / "o.jsonl"), "--weights-file", str(bad))
    assert res.returncode == 2 and f"{bad}:2: ping: 'fast' is not a number" in res.stderr
    js = tmp_path / "w.json"
    js.write_text('{"speeding": 1,\n "ping": }')
    res = sh(*GEN, "--out", str(tmp_path / "o.jsonl"), "--weights-file", str(js))
    assert res.returncode == 2 and f"{js}:2: invalid JSON" in res.stderr
    res = sh(
        *GEN, "--out", str(tmp_path / "o.jsonl"), "--weights-file", str(tmp_path / "nope.yaml")
    )
    assert res.returncode == 2 and "cannot read weights file" in res.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_weights_file_and_flags_tune_the_mix(sh, tmp_path):
    wf = tmp_path / "w.yaml"
    wf.write_text("ping: 0\nhard_braking: 5\n")
    out = tmp_path / "o.jsonl"
    res = sh(
        *GEN,
        "--events",
        "3000",
        "--weights-file",
        str(wf),
        "--weight",
        "tailgating=0",
        "--out",
        str(out),
    )
    counts = json.loads(res.stdout)["event_type_counts"]
    assert counts["ping"] == 0 and counts["tailgating"] == 0
    assert counts["hard_braking"] > 0.5 * 3000


@pytest.mark.parametrize("problem", ["missing_dir", "read_only_dir", "is_dir"])
def test_unwritable_output_path(sh, tmp_path, problem):
    if problem == "missing_dir":
        out = tmp_path / "nope" / "x.jsonl"
    elif problem == "is_dir":
        out = tmp_path / "d.jsonl"
        out.mkdir()
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
        out = ro / "x.jsonl"
        if os.access(ro, os.W_OK):  # root ignores permissions: use a path under /proc instead
            out = Path("/proc/synthkit-cannot-write/x.jsonl")
    res = sh(*GEN, "--events", "10", "--out", str(out))
    assert res.returncode == 2 and res.stderr.startswith("error: preflight failed:")
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


def test_debug_variable_shows_the_traceback(sh, tmp_path):
    res = sh(*GEN, "--events", "0", "--out", str(tmp_path / "x.jsonl"), env={"SYNTHKIT_DEBUG": "1"})
    assert res.returncode == 2 and "Traceback" in res.stderr


@pytest.mark.slow
def test_interrupted_generation_leaves_no_file(tmp_path):
    out = tmp_path / "big.jsonl"
    proc = subprocess.Popen(
        [str(BIN / "synthkit"), *GEN[1:], "--events", "200000000", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not any(tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temp file


def _stream(args: list[str], sig: int, lines: int = 5) -> tuple[int, str, str]:
    """Signalled once it has streamed ``lines`` lines."""
    proc = subprocess.Popen(
        [str(BIN / args[0]), *args[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    first = "".join(proc.stdout.readline() for _ in range(lines))  # it is streaming
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, first + out, err


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stream_until_signal_exit_0_whole_lines(sig):
    code, out, err = _stream(["synthkit", "telematics", "stream", "--interval", "0.05"], sig)
    assert code == 0, err
    assert "Traceback" not in err
    lines = out.splitlines()
    assert len(lines) >= 5 and out.endswith("\n")
    assert all(json.loads(line)["event_id"] for line in lines)


def test_stream_max_events_and_unpaced(sh):
    res = sh(
        "synthkit",
        "telematics",
        "stream",
        "--interval",
        "0",
        "--max-events",
        "5000",
        "--start",
        "2026-01-05T00:00:00Z",
    )
    assert res.returncode == 0
    assert len(res.stdout.splitlines()) == 5000


@pytest.mark.slow
def test_stream_to_a_closed_pipe_is_quiet():
    proc = subprocess.run(
        f"'{BIN / 'synthkit'}' telematics stream --interval 0 | head -3",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert len(proc.stdout.splitlines()) == 3 and "Traceback" not in proc.stderr


def test_mock_drop_in_takes_the_seed_flags(sh, tmp_path):
    res = sh(
        "synthkit-mock", "--events", "2000", "--seed", "123", "--out", str(tmp_path / "s.jsonl")
    )
    assert (
        res.returncode == 0
        and res.stdout.strip() == f"Wrote 2000 events to {tmp_path / 's.jsonl'} (jsonl)"
    )
    again = sh(
        *GEN,
        "--events",
        "2000",
        "--seed",
        "123",
        "--mix",
        "original",
        "--out",
        str(tmp_path / "t.jsonl"),
    )
    # the drop-in keeps the original's schema; asked, it numbers events as synthkit does
    assert again.returncode == 0 and '"seq"' not in (tmp_path / "s.jsonl").read_text()
    numbered = sh(
        "synthkit-mock", "--events", "2000", "--seed", "123", "--seq",
        "--out", str(tmp_path / "n.jsonl"),
    )  # fmt: skip
    assert numbered.returncode == 0 and sha(tmp_path / "n.jsonl") == sha(tmp_path / "t.jsonl")
    without = [
        {k: v for k, v in json.loads(line).items() if k != "seq"}
        for line in (tmp_path / "t.jsonl").read_text().splitlines()
    ]
    assert without == [json.loads(x) for x in (tmp_path / "s.jsonl").read_text().splitlines()]
    res = sh(
        "synthkit-mock",
        "--events",
        "500",
        "--drivers",
        "25",
        "--format",
        "csv",
        "--extreme-variance",
        "--out",
        str(tmp_path / "e.csv"),
    )
    assert (
        res.returncode == 0 and "driver_profile" in (tmp_path / "e.csv").read_text().splitlines()[0]
    )
    res = sh("synthkit-mock", "--events", "5")
    assert res.returncode == 2 and "--out is required" in res.stderr
    res = sh("synthkit-mock", "--events", "0", "--out", str(tmp_path / "z.jsonl"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    res = sh("synthkit-mock", "--bogus")
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    code, out, _ = _stream(["synthkit-mock", "--stream", "--interval", "0.05"], signal.SIGTERM)
    assert code == 0 and out.endswith("\n") and len(out.splitlines()) >= 3


def test_help_lists_commands(sh):
    res = sh("synthkit", "--help")
    assert res.returncode == 0 and "telematics" in res.stdout and "plugins" in res.stdout
    assert sh("synthkit").returncode == 0
    assert sh("synthkit", "telematics", "generate", "--help").returncode == 0


def test_example_distribution_installs_and_is_discovered(tmp_path, sh):
    root = Path(__file__).resolve().parents[1]
    target = tmp_path / "site"
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(root / "plugins/examples/synthkit-harsh-accel"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pip.returncode == 0, pip.stderr
    env = {"PYTHONPATH": str(target)}
    listed = json.loads(sh("synthkit", "plugins", "--json", env=env).stdout)
    entry = next(p for p in listed["plugins"] if p["name"] == "harsh_accel")
    assert entry["distribution"] == "synthkit-harsh-accel" and entry["version"] == "0.1.0"
    assert entry["registers"] == {"event_types": ["harsh_accel"]}
    out = tmp_path / "e.jsonl"
    res = sh(*GEN, "--events", "3000", "--weight", "harsh_accel=0.5", "--out", str(out), env=env)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    accel = [r for r in rows if r["event_type"] == "harsh_accel"]
    assert len(accel) > 100 and all(0.3 <= r["accel_g"] <= 1.0 for r in accel)
    assert all("accel_g" not in r for r in rows if r["event_type"] != "harsh_accel")
    # reproducible like the built-ins
    again = tmp_path / "f.jsonl"
    sh(*GEN, "--events", "3000", "--weight", "harsh_accel=0.5", "--out", str(again), env=env)
    assert sha(out) == sha(again)
    csv_out = tmp_path / "e.csv"
    assert sh(*GEN, "--events", "500", "--out", str(csv_out), env=env).returncode == 0
    assert "accel_g" in csv_out.read_text().splitlines()[0]


def test_a_stream_carries_the_wall_clock_in_order_and_the_simulated_one_on_request(sh):
    """`telematics stream` started at 17:08 UTC printed ts 19:30, 18:52, 19:52, 17:54 (ahead of
    the clock, not in order), and with --interval 0 reached the next year within 20 s."""
    from datetime import UTC, datetime, timedelta

    before = datetime.now(UTC) - timedelta(seconds=1)
    res = sh(
        "synthkit",
        "telematics",
        "stream",
        "--interval",
        "0",
        "--max-events",
        "20000",
        "--drivers",
        "25",
    )
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert res.returncode == 0, res.stderr
    stamps = [
        datetime.fromisoformat(json.loads(line)["ts"].replace("Z", "+00:00"))
        for line in res.stdout.splitlines()
    ]
    assert len(stamps) == 20000 and stamps == sorted(stamps)
    assert before <= stamps[0] and stamps[-1] <= after
    # the historical clock is an explicit choice, and deterministic
    sim = [
        sh(
            "synthkit",
            "telematics",
            "stream",
            "--interval",
            "0",
            "--max-events",
            "50",
            "--clock",
            "simulated",
            "--start",
            "2026-01-05T00:00:00Z",
        ).stdout
        for _ in range(2)
    ]
    assert sim[0] == sim[1] and json.loads(sim[0].splitlines()[0])["ts"].startswith("2026-01-05")


@pytest.mark.slow
def test_mock_stream_stops_after_its_events():
    """`synthkit-mock --stream --events 5` streamed forever."""
    res = subprocess.run(
        [str(BIN / "synthkit-mock"), "--stream", "--events", "5", "--interval", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0 and len(res.stdout.splitlines()) == 5, res.stderr
