"""Live tests share the machine's broker with whoever else uses it: each test publishes under a
topic prefix of its own (never ``devices/+/telemetry``), and waits for a listener's readiness
signal (``--ready-file``), never for a fixed time."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

from tests.conftest import BIN


def own_prefix(tag: str = "t") -> str:
    """A topic root no other test (or user) publishes under."""
    return f"sk-test-{tag}-{uuid.uuid4().hex[:10]}"


def topic_block(prefix: str) -> str:
    """A scenario's ``mqtt`` block that publishes under ``prefix``."""
    return f'mqtt: {{topic: "{prefix}/{{device_id}}/telemetry"}}\n'


def subscription(prefix: str) -> str:
    return f"{prefix}/+/telemetry"


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Until ``path`` exists (the process wrote its readiness signal); fails at once if the
    process ended first, and after ``timeout`` (a bound for a stuck process, not a pace)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"ended before it was ready (exit {proc.returncode}): {err}{out}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"not ready within {timeout:g} s: {proc.communicate()[1]}")
        time.sleep(0.02)


class Listener:
    """``synthkit ingest listen`` in the background, started and waited for until subscribed."""

    def __init__(self, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.ready = tmp_path / f"ready-{uuid.uuid4().hex[:6]}"
        self.proc = subprocess.Popen([str(BIN / "synthkit"), "ingest", "listen", *args, "--ready-file", str(self.ready)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})  # fmt: skip
        wait_for(self.ready, self.proc)

    def result(self, timeout: float = 120) -> tuple[int, dict, str]:
        """(exit code, summary, stderr) once it ended."""
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, json.loads(out) if out.strip() else {}, err

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
