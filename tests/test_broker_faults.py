"""Issue 14's bars: a broker fault during a live run (kill -9 without and with persistence, a
long SIGSTOP with Mosquitto's default queue) ends, after `reconcile` and `replay`, with every
(device, seq) exactly once in SQLite and in PostgreSQL, each fed by its own listener.

Before: `run` said `all_acknowledged: true` while the databases lacked rows, the listener
counted only holes between the seqs it saw, and nothing could fill a gap. Each test starts
its own Mosquitto; the machine's broker is never signalled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from synthkit_mqtt.testbroker import LocalBroker

from tests.conftest import BIN
from tests.live import READY_LINE, Subscriber, wait_for

pytestmark = pytest.mark.services

SCENARIO = """scenario_id: faults_t
speedup_factor: {speedup}
devices:
  - {{group: f, count: {count}, id_pattern: "{prefix}-{{n:02d}}", archetype: stationary_archetype_a, cadence_seconds: 60}}
"""


def synthkit(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "synthkit"), *args], capture_output=True, text=True, timeout=timeout
    )


def popen(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "synthkit"), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


class Fleet:
    """A scenario, a broker of the test's own, and one listener per database."""

    def __init__(
        self, tmp_path: Path, urls: list[str], *, count: int, speedup: float, broker_extra: str = ""
    ) -> None:
        self.tmp, self.urls = tmp_path, urls
        self.prefix = "BF" + uuid.uuid4().hex[:6].upper()
        self.scenario = tmp_path / "faults.yaml"
        self.scenario.write_text(SCENARIO.format(count=count, speedup=speedup, prefix=self.prefix))
        self.state = tmp_path / "seq.json"
        self.broker = LocalBroker(tmp_path, extra=broker_extra)
        self.broker.start()
        for url in urls:
            assert synthkit("db", "init", "--db-url", url).returncode == 0
            assert (
                synthkit(
                    "--scenario", str(self.scenario), "db", "register", "--db-url", url
                ).returncode
                == 0
            )
        self.listeners: list[subprocess.Popen] = []

    def listen(self, idle: float = 12) -> None:
        ready = [self.tmp / f"ready-{uuid.uuid4().hex[:6]}" for _ in self.urls]
        self.listeners = [
            popen(
                "--state-file",
                str(self.state),
                "ingest",
                "listen",
                "--db-url",
                url,
                "--port",
                str(self.broker.port),
                "--client-id",
                f"{self.prefix}-listener-{i}",
                "--idle-timeout",
                str(idle),
                "--duration-seconds",
                "900",
                "--ready-file",
                str(ready[i]),
            )
            for i, url in enumerate(self.urls)
        ]
        for path, proc in zip(ready, self.listeners):  # subscribed before anything is published
            wait_for(path, proc, said=READY_LINE)

    def heard(self, when_quiet: float = 0) -> list[dict]:
        """The listeners' summaries: as each ends by itself, or (``when_quiet`` s) stopped with
        SIGTERM once no database has taken a row for that long."""
        if when_quiet:
            counts, still = None, time.monotonic()
            while time.monotonic() - still < when_quiet:
                time.sleep(1)
                now = [len(self.stored(url)) for url in self.urls]
                if now != counts:
                    counts, still = now, time.monotonic()
            for proc in self.listeners:
                proc.send_signal(signal.SIGTERM)
        out = []
        for proc in self.listeners:
            stdout, stderr = proc.communicate(timeout=900)
            assert proc.returncode in (0, 3), stderr
            out.append(json.loads(stdout))
        return out

    def run(self, *args: str) -> subprocess.Popen:
        return popen(
            "--scenario",
            str(self.scenario),
            "--state-file",
            str(self.state),
            "run",
            "--port",
            str(self.broker.port),
            *args,
        )

    def kill9_and_restart(self, down_s: float = 1.0) -> None:
        assert self.broker.proc is not None
        self.broker.proc.send_signal(signal.SIGKILL)
        self.broker.proc.wait()
        self.broker.proc = None
        time.sleep(down_s)
        self.broker.start()

    def reconcile(self, url: str, run_id: str, report: Path | None = None) -> tuple[int, dict]:
        args = ["--state-file", str(self.state), "reconcile", "--db-url", url, "--run", run_id]
        res = synthkit(*args, *(["--report", str(report)] if report else []))
        assert res.returncode in (0, 3), res.stderr
        return res.returncode, json.loads(res.stdout)

    def stored(self, url: str) -> list[tuple[str, int]]:
        engine = create_engine(url)
        with engine.connect() as conn:
            found = [
                tuple(r)
                for r in conn.execute(
                    text("SELECT mqtt_client_id, seq FROM telemetry ORDER BY 1, 2")
                )
            ]
        engine.dispose()
        return found

    def expected(self, devices: int, seqs: int) -> list[tuple[str, int]]:
        return [(f"{self.prefix}-{n:02d}", s) for n in range(1, devices + 1) for s in range(seqs)]

    def close(self) -> None:
        for proc in self.listeners:
            if proc.poll() is None:
                proc.kill()
        if self.broker.proc is not None and self.broker.proc.poll() is None:
            os.kill(self.broker.proc.pid, signal.SIGCONT)
        self.broker.stop()


def both_databases(tmp_path: Path, pg_database) -> list[str]:
    return [f"sqlite:///{tmp_path}/faults.db", pg_database]


def close_the_loop(
    fleet: Fleet, run_id: str, devices: int, seqs: int, *, via_broker: bool
) -> list[dict]:
    """reconcile each database, replay what it lacks, reconcile again: every (device, seq) once."""
    first = []
    for i, url in enumerate(fleet.urls):
        code, report = fleet.reconcile(url, run_id, fleet.tmp / f"report-{i}.json")
        assert (code == 0) == report["complete"] and report["expected"] == devices * seqs
        assert report["stored"] == len(fleet.stored(url))  # reconcile counts what is there
        first.append(report)
    if via_broker:  # one replay of the union of what both lack, heard by both listeners again
        fleet.listen(idle=8)
        for i, report in enumerate(first):
            if not report["complete"]:
                res = synthkit(
                    "--state-file",
                    str(fleet.state),
                    "replay",
                    "--report",
                    str(fleet.tmp / f"report-{i}.json"),
                    "--rate",
                    "500",
                )  # within what a listener's broker queue holds
                assert res.returncode == 0, res.stderr
        fleet.heard()
    else:  # straight into each database through its ingest sink
        for i, (url, report) in enumerate(zip(fleet.urls, first)):
            if not report["complete"]:
                res = synthkit(
                    "--state-file",
                    str(fleet.state),
                    "replay",
                    "--report",
                    str(fleet.tmp / f"report-{i}.json"),
                    "--db-url",
                    url,
                    "--sink",
                    "reference_db",
                )
                assert res.returncode == 0, res.stderr
                assert json.loads(res.stdout)["replayed"] == report["missing"]
    for url in fleet.urls:
        code, report = fleet.reconcile(url, run_id)
        assert (
            code == 0
            and report["complete"]
            and report["missing"] == 0
            and report["duplicates"] == 0
        )
        assert fleet.stored(url) == fleet.expected(devices, seqs)
    return first


@pytest.mark.slow
@pytest.mark.parametrize("persistence", [False, True], ids=["no-persistence", "persistence"])
def test_broker_kill_9_mid_run_then_reconcile_and_replay_leave_every_row_once(
    tmp_path, pg_database, persistence
):
    """The listeners' sessions hold what the broker queued for them while they were away; a
    kill -9 loses it (with persistence too: Mosquitto saves every autosave_interval, 30 min
    by default), although the broker had acknowledged every message to `run`."""
    extra = f"persistence true\npersistence_location {tmp_path}/\n" if persistence else ""
    fleet = Fleet(
        tmp_path, both_databases(tmp_path, pg_database), count=4, speedup=240, broker_extra=extra
    )
    try:
        fleet.listen(idle=1)  # subscribe (persistent sessions), then go away
        fleet.heard()
        sub = Subscriber("devices/#", fleet.broker.port)
        run = fleet.run("--iterations", "60", "--db-url", fleet.urls[0], "--settle-timeout", "20")
        sub.wait(80)  # the broker queues them for each absent listener
        sub.close()
        fleet.kill9_and_restart()
        fleet.listen()
        out, err = run.communicate(timeout=300)
        assert run.returncode == 3, err  # incomplete: the database lacks what the broker lost
        summary = json.loads(out)
        delivery = summary["delivery"]
        assert "all_acknowledged" not in summary  # no longer said where it would mislead
        assert (
            delivery["published"] == 240
            and delivery["broker_acknowledged"] == summary["acknowledged"] == 240
        )
        assert 0 < delivery["missing"] and delivery["stored"] + delivery["missing"] == 240
        assert "synthkit replay" in err
        fleet.heard()
        first = close_the_loop(fleet, summary["run_id"], 4, 60, via_broker=True)
        assert all(r["missing"] > 0 for r in first)
        for report in first:  # the loss is a leading run of seqs per device: found from the record
            assert all(
                ranges[0][0] == 0 for ranges in report["missing_ranges"][summary["run_id"]].values()
            )
    finally:
        fleet.close()


@pytest.mark.slow
def test_a_long_broker_stall_with_the_default_queue_then_reconcile_and_replay_leave_every_row_once(
    tmp_path, pg_database
):
    """180 s of SIGSTOP while 10 devices publish: on SIGCONT the burst overflows Mosquitto's
    default queue (1,000 messages) for each listener's session, and the broker drops the rest
    even though it acknowledged them to the publishers."""
    fleet = Fleet(
        tmp_path, both_databases(tmp_path, pg_database), count=10, speedup=1200
    )  # 20 msgs/s per device
    try:
        fleet.listen(
            idle=0
        )  # no idle limit: the stall is silent; stopped once the databases are quiet
        sub = Subscriber("devices/#", fleet.broker.port)
        run = fleet.run("--iterations", "4000")  # 40,000 messages, 200 s of publishing
        sub.wait(200)  # every device connected and publishing
        sub.close()
        assert fleet.broker.proc is not None
        os.kill(fleet.broker.proc.pid, signal.SIGSTOP)
        time.sleep(180)
        os.kill(fleet.broker.proc.pid, signal.SIGCONT)
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
        summary = json.loads(out)
        assert (
            summary["emitted"] == 40_000 and summary["acknowledged"] == 40_000
        )  # the broker took them all...
        heard = fleet.heard(when_quiet=15)
        first = close_the_loop(fleet, summary["run_id"], 10, 4000, via_broker=False)
        assert all(
            r["missing"] > 0 for r in first
        )  # ...and dropped some: only reconcile could tell
        for listener, report in zip(
            heard, first
        ):  # the listener's own gap count now comes from the run record
            assert listener["seq_gaps_missing"] == report["missing"]
    finally:
        fleet.close()
