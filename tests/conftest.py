from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["synthkit.testing"]

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run_cmd(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run an installed console script (synthkit, synthkit-mock) for real."""
    exe = str(BIN / args[0])
    full_env = {**os.environ, **(env or {})}
    if "SYNTHKIT_DEBUG" not in (env or {}):  # a developer's debug setting must not leak in
        full_env.pop("SYNTHKIT_DEBUG", None)
    return subprocess.run([exe, *args[1:]], capture_output=True, text=True, env=full_env,
                          cwd=cwd, timeout=timeout)


def pytest_configure(config: pytest.Config) -> None:
    """A shell runs background jobs (`pytest &`, `nohup`) with SIGINT (or SIGHUP) ignored, and
    an ignored signal stays ignored across exec: every child would inherit it, and the tests
    that stop a child with Ctrl+C would wait in vain. synthkit rightly keeps an ignored signal
    ignored, so the suite restores the default for its children."""
    for sig in (signal.SIGINT, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_IGN:
            signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)


@pytest.fixture
def sh():
    return run_cmd


@pytest.fixture(autouse=True)
def _own_working_directory(tmp_path, monkeypatch):
    """Each test runs in its own empty directory, so defaults that are relative paths (the
    sequence state file, the SQLite database, `generated/`) never touch the checkout or leak
    from one test into another."""
    monkeypatch.chdir(tmp_path)
