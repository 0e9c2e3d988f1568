"""A throwaway Mosquitto on a free port, for tests and benchmarks that need their own broker
config (TLS, limits, a restart mid-run) instead of the shared one on 127.0.0.1:1883.

    with LocalBroker(tmp_path, extra="max_connections -1\\n") as broker:
        ... connect to 127.0.0.1:broker.port ...

The ``mosquitto`` binary must be on PATH. It runs as the current user (as root, Mosquitto
would otherwise drop to a user that cannot read the caller's certificate files), inherits
the caller's file-descriptor limit, and is stopped on exit.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalBroker:
    def __init__(
        self, workdir: Path, extra: str = "", port: int | None = None, *, anonymous: bool = True
    ) -> None:
        if shutil.which("mosquitto") is None:
            raise RuntimeError("mosquitto is not on PATH (Debian/Ubuntu: apt install mosquitto)")
        self.port = port or free_port()
        self.conf = Path(workdir) / f"mosquitto-{self.port}.conf"
        self.conf.write_text(
            f"user {getpass.getuser()}\nlistener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if anonymous else 'false'}\n{extra}"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> LocalBroker:
        """Start it and wait until it accepts connections."""
        self.proc = subprocess.Popen(
            ["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        err = (
            self.proc.stderr.read().decode(errors="replace")
            if self.proc.poll() is not None and self.proc.stderr
            else ""
        )
        self.stop()
        raise RuntimeError(f"mosquitto did not start on port {self.port}: {err.strip()}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stderr:
                self.proc.stderr.close()
            self.proc = None

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
