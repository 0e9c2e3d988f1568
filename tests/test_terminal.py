"""Issue 15: the main commands under a real pseudo-terminal, read back through a terminal
emulator (pyte): the progress bar appears, reaches its end, and the last screen is whole
(every line the command printed last is there, nothing torn by the live display)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import termios
from pathlib import Path

import pyte
import pytest

from tests.conftest import BIN

ROOT = Path(__file__).resolve().parents[1]
COLUMNS, LINES = 100, 40
KEPT = 3000  # the emulator keeps this many lines, so nothing the command printed scrolls away


def on_a_terminal(
    args: list[str], cwd: Path, timeout: float = 300
) -> tuple[int, pyte.Screen, bytes]:
    """Run ``synthkit args`` with stdin, stdout and stderr on a pty of COLUMNS x LINES;
    returns its exit code, the emulated screen at the end (KEPT lines tall, so the whole
    session stays on it), and the raw bytes."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    env = {
        k: v for k, v in os.environ.items() if k not in ("SYNTHKIT_PROGRESS", "COLUMNS", "LINES")
    }
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen(
        [str(BIN / "synthkit"), *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    os.close(terminal)
    raw = bytearray()
    while True:
        ready, _, _ = select.select([controller], [], [], timeout)
        if not ready:
            proc.kill()
            raise AssertionError(f"no output for {timeout} s: {bytes(raw[-500:])!r}")
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the command exited and the terminal closed
            break
        if not chunk:
            break
        raw += chunk
    os.close(controller)
    code = proc.wait(timeout=timeout)
    screen = pyte.Screen(COLUMNS, KEPT)
    pyte.ByteStream(screen).feed(bytes(raw))
    return code, screen, bytes(raw)


def _summary(lines: list[str]) -> dict:
    """The JSON summary printed at the end, read back off the screen."""
    start = max(i for i, line in enumerate(lines) if line.rstrip() == "{")
    end = max(i for i, line in enumerate(lines) if line.rstrip() == "}")
    return json.loads("\n".join(line.rstrip() for line in lines[start : end + 1]))


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, bar",
    [
        (
            [
                "--scenario",
                str(ROOT / "scenarios/stationary_only_v1.yaml"),
                "export-csv",
                "--run-id",
                "tty",
                "--end-at",
                "2026-02-12T10:00:00Z",
                "--output-root",
                "out",
            ],
            "export-csv",
        ),
        (
            ["telematics", "generate", "--events", "200000", "--out", "events.jsonl"],
            "telematics -> jsonl",
        ),
    ],
    ids=["export-csv", "telematics generate"],
)
def test_a_command_on_a_terminal_shows_its_bar_and_ends_on_a_whole_screen(tmp_path, args, bar):
    code, screen, raw = on_a_terminal(args, tmp_path)
    lines = screen.display
    assert code == 0, "\n".join(lines)
    bar_lines = [line for line in lines if line.lstrip().startswith(bar) and "100%" in line]
    assert bar_lines, "\n".join(lines)  # the bar reached its end and stayed
    assert all(len(line) == COLUMNS for line in lines)  # nothing wider than the terminal
    summary = _summary(lines)  # the JSON on stdout, whole, after the bar
    assert summary["command"] in ("telematics generate", "export-csv")
    assert lines.index(bar_lines[-1]) < lines.index("{" + " " * (COLUMNS - 1))
    assert b"\x1b[?25l" in raw  # a live display (cursor hidden while the bar draws)...
    assert raw.rstrip().endswith(b"}") or b"\x1b[?25h" in raw  # ...that gave the cursor back


@pytest.mark.slow
def test_a_table_on_a_terminal_fits_its_width(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "scenario_id: tty\ndevices:\n  - {device_id: E2E2024STATIONARYTANKNORTHWEST0001, "
        "archetype: stationary_archetype_a}\n"
    )
    code, screen, _ = on_a_terminal(["--scenario", str(scenario), "dry-run"], tmp_path)
    lines = screen.display
    assert code == 0, "\n".join(lines)
    assert not any("…" in line for line in lines), "\n".join(lines)
    assert any("E2E2024" in line for line in lines)


@pytest.mark.slow
def test_analyze_csv_shows_its_bar(tmp_path):
    """analyze-csv read 1.7M rows for 5 s with nothing on the screen."""
    export = subprocess.run(
        [
            str(BIN / "synthkit"),
            "--scenario",
            str(ROOT / "scenarios/stationary_only_v1.yaml"),
            "export-csv",
            "--run-id",
            "qc",
            "--end-at",
            "2026-02-12T10:00:00Z",
            "--output-root",
            "out",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert export.returncode == 0, export.stderr
    artifact = json.loads(export.stdout)["artifact_dir"]
    code, screen, _ = on_a_terminal(["analyze-csv", "--artifact-dir", artifact], tmp_path)
    lines = screen.display
    assert code == 0, "\n".join(lines)
    assert any(line.startswith("analyze-csv") and "100%" in line for line in lines), "\n".join(
        lines
    )
    assert _summary(lines)["qc_passed"] is True
