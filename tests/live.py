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

READY_LINE = "listening: "  # what a listener prints on stderr once subscribed (presence.py)


def own_prefix(tag: str = "t") -> str:
    """A topic root no other test (or user) publishes under."""
    return f"sk-test-{tag}-{uuid.uuid4().hex[:10]}"


def topic_block(prefix: str) -> str:
    """A scenario's ``mqtt`` block that publishes under ``prefix``."""
    return f'mqtt: {{topic: "{prefix}/{{device_id}}/telemetry"}}\n'


def subscription(prefix: str) -> str:
    return f"{prefix}/+/telemetry"


def wait_for(
    path: Path, proc: subprocess.Popen, timeout: float = 60, said: str | None = None
) -> None:
    """Until ``path`` exists (the process wrote its readiness signal); fails at once if the
    process ended first, and after ``timeout`` (a bound for a stuck process, not a pace).

    A readiness file goes with its process, so a short-lived one (``--idle-timeout 1``) may
    write it and remove it between two looks on a loaded machine: with ``said``, a process
    that ended with exit 0 having printed ``said`` on stderr (its readiness line) was ready."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            if said is not None and proc.returncode == 0 and said in err:
                return  # its output stays for the caller: communicate() again returns it
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
        wait_for(self.ready, self.proc, said=READY_LINE)

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


def closed_loop(
    synthkit, template: str, key: str, iterations: int, dropped: set[tuple[str, int]]
) -> tuple[dict, dict, str]:
    """A ticks family's closed loop on the machine's broker: ``synthkit live`` under
    ``template`` (a topic of the test's own), a store that holds every record heard but
    ``dropped`` ((stream, seq) keyed by ``key``), ``reconcile --stored`` against it, then
    ``replay`` of the report. ``synthkit(*args)`` runs the CLI; returns the (stream, seq) ->
    (topic, payload) maps of the first emission and of the replay, and the run's id."""
    import csv

    sub = Subscriber(template.replace("{" + key + "}", "+"))
    try:
        res = synthkit(
            "live", "--iterations", str(iterations), "--every", "0.05", "--topic", template
        )
        assert res.returncode == 0, res.stderr
        summary = json.loads(res.stdout)
        run_id, emitted = summary["run_id"], summary["emitted"]
        assert summary["acknowledged"] == emitted and summary["complete"], summary

        def keyed(messages):
            return {(json.loads(p)[key], json.loads(p)["seq"]): (t, p) for t, p in messages}

        first = keyed(sub.wait(emitted))
        runs = json.loads(synthkit("runs", "--json").stdout)["runs"]
        (record,) = [r for r in runs if r["run_id"] == run_id]
        assert record["emitted"] == emitted, record
        with open("stored.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([key, "seq"])
            writer.writerows(sorted(k for k in first if k not in dropped))
        res = synthkit(
            "reconcile", "--run", run_id, "--stored", "stored.csv", "--stored-client", key,
            "--report", "gaps.json",
        )  # fmt: skip
        assert res.returncode == 3, res.stderr
        missing = json.loads(res.stdout)["missing_ranges"][run_id]
        assert {
            (s, q) for s, rs in missing.items() for lo, hi in rs for q in range(lo, hi + 1)
        } == dropped
        heard = len(sub.messages)
        res = synthkit("replay", "--report", "gaps.json")
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["replayed"] == len(dropped)
        again = keyed(sub.wait(heard + len(dropped))[heard:])
    finally:
        sub.close()
    return first, again, run_id


def install_example(example: Path, target: Path) -> Path:
    """An example distribution pip-installed into ``target`` (put it on PYTHONPATH): a family
    as its users get it, entry points and all."""
    import sys

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
            str(example),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pip.returncode == 0, pip.stderr
    return target


def synthkit_with(
    site: Path,
    tmp_path: Path,
    scenario: str,
    *args: str,
    state: str = "state.json",
    disable: str = "",
) -> subprocess.CompletedProcess[str]:
    """``synthkit --scenario <scenario written to tmp_path> --state-file ... ARGS`` with the
    distributions installed in ``site``, in ``tmp_path``."""
    from tests.conftest import run_cmd

    (tmp_path / "scenario.yaml").write_text(scenario)
    env = {"PYTHONPATH": str(site), "SYNTHKIT_DISABLE_PLUGINS": disable}
    return run_cmd(
        "synthkit", "--scenario", str(tmp_path / "scenario.yaml"), "--state-file", str(tmp_path / state),
        *args, env=env, cwd=tmp_path,
    )  # fmt: skip
