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

    def __init__(
        self,
        tmp_path: Path,
        *args: str,
        env: dict[str, str] | None = None,
        pre: tuple[str, ...] = (),
    ) -> None:
        """``args`` go to ``ingest listen``, ``pre`` before it (global options)."""
        self.ready = tmp_path / f"ready-{uuid.uuid4().hex[:6]}"
        self.proc = subprocess.Popen(
            [
                str(BIN / "synthkit"),
                *pre,
                "ingest",
                "listen",
                *args,
                "--ready-file",
                str(self.ready),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        wait_for(self.ready, self.proc)

    def result(self, timeout: float = 120) -> tuple[int, dict, str]:
        """(exit code, summary, stderr) once it ended."""
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, json.loads(out) if out.strip() else {}, err

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


class Subscriber:
    """A plain MQTT subscriber, returned once the broker granted its subscription: what it
    hears, and a wait for the n-th message (a readiness signal for a test's next step)."""

    def __init__(self, topic: str, port: int = 1883) -> None:
        import threading

        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[tuple[str, bytes]] = []
        self._changed = threading.Condition()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"sk-test-sub-{uuid.uuid4().hex[:8]}"
        )
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda c, u, mid, codes, p: subscribed.set()
        self.client.on_message = lambda c, u, msg: self._heard(msg.topic, bytes(msg.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not subscribed.wait(30):
            self.close()
            raise AssertionError(f"no SUBACK for {topic} within 30 s")

    def _heard(self, topic: str, payload: bytes) -> None:
        with self._changed:
            self.messages.append((topic, payload))
            self._changed.notify_all()

    def wait(self, n: int, timeout: float = 60) -> list[tuple[str, bytes]]:
        """The first ``n`` messages, once heard (AssertionError after ``timeout``)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= n, timeout):
                raise AssertionError(
                    f"heard {len(self.messages)} of {n} message(s) within {timeout:g} s"
                )
            return list(self.messages[:n])

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
