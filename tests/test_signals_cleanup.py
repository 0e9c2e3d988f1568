"""Issue 11.5: SIGTERM and SIGHUP clean up as Ctrl+C does, and stale temp files of dead
processes are removed by a later run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from synthkit.contracts import FileTarget
from synthkit.files import AtomicFile, sweep_stale
from tests.conftest import BIN

SCENARIO = """scenario_id: sig_t
seed: 3
bootstrap: {days: 365, step_minutes: 1}
devices:
  - {group: tanks, count: 400, id_pattern: "T{n:04d}", archetype: stationary_archetype_a, cadence_seconds: 60}
"""


def _wait_for_temp(where: Path, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(p.name.endswith(".synthkit-tmp") for p in where.rglob(".*")):
            return
        time.sleep(0.05)
    raise AssertionError(f"no temp file appeared under {where}")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signal_mid_generate_leaves_no_file(tmp_path, sig):
    out = tmp_path / "big.jsonl"
    proc = subprocess.Popen(
        [
            str(BIN / "synthkit"),
            "telematics",
            "generate",
            "--events",
            "300000000",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_temp(tmp_path)
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temp file


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signal_mid_export_leaves_no_directory(tmp_path, sig):
    (tmp_path / "s.yaml").write_text(SCENARIO)
    proc = subprocess.Popen(
        [
            str(BIN / "synthkit"),
            "--scenario",
            str(tmp_path / "s.yaml"),
            "export-csv",
            "--run-id",
            "r1",
            "--end-at",
            "2026-02-12T10:00:00Z",
            "--output-root",
            str(tmp_path / "gen"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    _wait_for_temp(tmp_path / "gen")
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert not (tmp_path / "gen").exists()  # the directories it made went too


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.mark.slow
def test_stale_temp_files_of_dead_processes_are_swept(tmp_path):
    dead = _dead_pid()
    stale_file = tmp_path / f".out.jsonl.{dead}.synthkit-tmp"
    stale_file.write_bytes(b"x" * 100)
    stale_dir = tmp_path / f".run1.{dead}.synthkit-tmp"
    stale_dir.mkdir()
    (stale_dir / "telemetry_rows.csv").write_text("a,b\n")
    alive = tmp_path / f".other.{os.getppid()}.synthkit-tmp"  # a live process: kept
    alive.write_text("y")
    unrelated = tmp_path / ".notes.123.txt"
    unrelated.write_text("z")
    f = AtomicFile(tmp_path / "new.jsonl")  # any new output in the directory sweeps it
    f.write(b"{}\n")
    f.commit()
    assert not stale_file.exists() and not stale_dir.exists()
    assert alive.exists() and unrelated.exists()
    assert sweep_stale(tmp_path) == 0


def test_cli_generate_sweeps_a_dead_runs_temp_file(tmp_path, sh):
    dead = _dead_pid()
    stale = tmp_path / f".g.jsonl.{dead}.synthkit-tmp"
    stale.write_bytes(b"partial")
    res = sh(
        "synthkit", "telematics", "generate", "--events", "10", "--out", str(tmp_path / "g.jsonl")
    )
    assert res.returncode == 0, res.stderr
    assert not stale.exists()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the lost one
def test_a_signal_whose_exception_a_c_callback_swallowed_still_ends_the_delivery(
    tmp_path, monkeypatch
):
    """CI saw it: SIGTERM landed while numba compiled a kernel, inside a ctypes callback,
    which prints and drops any exception ("Exception ignored on calling ctypes callback"):
    the export went on to the end. The next batch must raise it again."""
    import ctypes

    from synthkit import interrupt
    from synthkit.conformance import sample_batches
    from synthkit.engine import deliver
    from synthkit.plugins import build_plugins
    from synthkit.run import Run, RunPlan

    monkeypatch.setattr(interrupt, "received", [])  # this process's CLI runs after: none

    @ctypes.CFUNCTYPE(None)
    def compiling() -> None:  # where numba's cache callback was when the signal came
        interrupt._raise_terminated(signal.SIGTERM, None)

    plugins = build_plugins()
    batches = sample_batches(rows=300)

    def generate():
        yield batches[0]
        compiling()  # the Terminated it raised is lost here
        yield from batches[1:]

    out = tmp_path / "out.jsonl"
    with pytest.raises(interrupt.Terminated), Run(plugins, "test") as run:
        sink = run.open_sink(plugins.sinks()["jsonl"], FileTarget(out), (), RunPlan("test", seed=1))
        deliver(generate(), sink, batches[0].names)
    assert not out.exists()
