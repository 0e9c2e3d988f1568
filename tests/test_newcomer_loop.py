"""Issue 24: the loop a newcomer follows. A run started before its listener loses nothing; a
listener says when it is subscribed; reconcile and a listener's gap count compare only the
runs whose rows belong to the store (or broker and subscription) at hand."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from synthkit.reconcile import records_for
from synthkit.runs import RunRecord, StreamRange, topic_filter
from tests.conftest import BIN
from tests.live import READY_LINE, Listener, own_prefix, subscription, topic_block, wait_for

pytestmark = pytest.mark.services

SCENARIO = """scenario_id: newcomer_t
speedup_factor: 600
devices:
  - {{group: n, count: 3, id_pattern: "{ids}-{{n:02d}}", archetype: stationary_archetype_a, cadence_seconds: 60}}
"""


def synthkit(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SYNTHKIT_DEBUG"}
    return subprocess.run(
        [str(BIN / "synthkit"), *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def fleet(tmp_path: Path) -> tuple[Path, str, str]:
    """(scenario, topic prefix, database URL): registered in a fresh database."""
    prefix = own_prefix("newcomer")
    path = tmp_path / "n.yaml"
    path.write_text(SCENARIO.format(ids=prefix[-6:].upper()) + topic_block(prefix))
    url = f"sqlite:///{tmp_path}/n.db"
    assert synthkit("db", "init", "--db-url", url).returncode == 0
    assert synthkit("--scenario", str(path), "db", "register", "--db-url", url).returncode == 0
    return path, prefix, url


@pytest.mark.slow
def test_a_run_started_before_its_listener_loses_nothing(tmp_path):
    """Before: `run --db-url` published into a broker that held no session for the listener
    (not started yet, or not yet subscribed): 0 stored, and the listener said complete."""
    path, prefix, url = fleet(tmp_path)
    ran = synthkit(
        "--scenario",
        str(path),
        "run",
        "--iterations",
        "4",
        "--db-url",
        url,
        "--settle-timeout",
        "0",
    )
    summary = json.loads(ran.stdout)
    assert summary["emitted"] == 12 and summary["delivery"]["session_held"] is True, ran.stderr
    assert summary["delivery"]["listener_running"] is False
    listener = Listener(
        tmp_path, "--db-url", url, "--topic", subscription(prefix), "--idle-timeout", "3"
    )
    code, heard, err = listener.result()
    assert code == 0, err
    assert heard["status_counts"] == {"stored:NEW": 12} and heard["complete"] is True
    assert heard["seq_gaps"] == {} and heard["seq_gaps_missing"] == 0
    assert "listening: subscribed to " + subscription(prefix) in err
    done = synthkit("reconcile", "--db-url", url)
    assert done.returncode == 0 and json.loads(done.stdout)["stored"] == 12, done.stderr


@pytest.mark.slow
def test_a_ready_listener_is_found_and_not_taken_over(tmp_path):
    path, prefix, url = fleet(tmp_path)
    # idle until the run's first message: the run's start-up on a loaded machine takes seconds
    listener = Listener(
        tmp_path, "--db-url", url, "--topic", subscription(prefix), "--idle-timeout", "15"
    )
    try:
        ran = synthkit("--scenario", str(path), "run", "--iterations", "3", "--db-url", url)
    finally:
        code, heard, err = listener.result()
    summary = json.loads(ran.stdout)
    assert ran.returncode == 0, ran.stderr
    assert summary["delivery"]["stored"] == 9 and summary["delivery"]["listener_running"] is True
    assert code == 0 and heard["reconnects"] == 0 and heard["complete"] is True, (
        err
    )  # its session was left alone
    assert not listener.ready.exists()  # the readiness signal goes with the listener


@pytest.mark.slow
def test_a_listener_that_stored_nothing_of_an_ended_run_is_not_complete(tmp_path):
    """Before: `"received": 0, "complete": true` while the run's record said 9 were published."""
    path, prefix, url = fleet(tmp_path)
    ran = synthkit(
        "--scenario", str(path), "run", "--iterations", "3"
    )  # no --db-url: no session kept
    assert ran.returncode == 0, ran.stderr
    listener = Listener(
        tmp_path, "--db-url", url, "--topic", subscription(prefix), "--duration-seconds", "1"
    )
    code, heard, err = listener.result()
    assert code == 3 and heard["complete"] is False and heard["received"] == 0
    assert any(
        "9 of 9 message(s) that ended live runs published" in w for w in heard["warnings"]
    ), heard


@pytest.mark.slow
def test_reconcile_compares_only_the_runs_of_the_store_at_hand(tmp_path):
    """Before: reconcile --db-url A counted B's imports (and other families' events) as missing."""
    path = tmp_path / "b.yaml"
    path.write_text(
        "scenario_id: stores_t\nbootstrap: {days: 1, step_minutes: 60}\ndevices:\n"
        '  - {group: s, count: 2, id_pattern: "ST-{n:02d}", archetype: stationary_archetype_a, cadence_seconds: 300}\n'
    )
    urls = [f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"]
    runs = []
    for url in urls:
        assert synthkit("db", "init", "--db-url", url).returncode == 0
        assert synthkit("--scenario", str(path), "db", "register", "--db-url", url).returncode == 0
        boot = synthkit(
            "--scenario",
            str(path),
            "--state-file",
            str(tmp_path / f"{len(runs)}.json"),
            "bootstrap",
            "--db-url",
            url,
        )
        assert boot.returncode == 0, boot.stderr
        runs.append(json.loads(boot.stdout)["run_id"])
    # both runs' records in one runs directory, as when one state file served both stores
    for i, run_id in enumerate(runs):
        (tmp_path / "0.runs").mkdir(exist_ok=True)
        if i:
            (tmp_path / "1.runs" / f"{run_id}.json").rename(tmp_path / "0.runs" / f"{run_id}.json")
    # a spelling of a.db through another directory is the same store
    other = tmp_path / "elsewhere"
    other.mkdir()
    res = subprocess.run(
        [
            str(BIN / "synthkit"),
            "--state-file",
            str(tmp_path / "0.json"),
            "reconcile",
            "--db-url",
            "sqlite:///../a.db",
        ],
        capture_output=True,
        text=True,
        cwd=other,
    )
    report = json.loads(res.stdout)
    assert res.returncode == 0 and report["runs"] == [runs[0]] and report["complete"] is True, (
        res.stderr
    )
    assert [x["run_id"] for x in report["left_out"]] == [runs[1]] and "b.db" in report["left_out"][
        0
    ]["reason"]
    res = synthkit(
        "--state-file",
        str(tmp_path / "0.json"),
        "reconcile",
        "--db-url",
        f"sqlite:///{tmp_path}/c.db",
    )
    assert (
        res.returncode == 2 and "none of the 2 run record(s)" in res.stderr and "a.db" in res.stderr
    )
    assert "Traceback" not in res.stderr
    named = synthkit(
        "--state-file", str(tmp_path / "0.json"), "reconcile", "--db-url", urls[0], "--run", runs[1]
    )
    assert named.returncode == 0 and json.loads(named.stdout)["runs"] == [
        runs[1]
    ]  # --run counts what it names


def _live(
    run_id: str, target: str, topic: str, store: str = "", status: str = "finished"
) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        command="x",
        family="f",
        streams={"D": StreamRange(0, 3)},
        status=status,
        live=True,
        target=target,
        topic=topic,
        store=store,
    )


def test_a_listener_counts_only_the_runs_it_hears():
    """Before: a PostgreSQL listener counted a telematics publish run (telematics/...) as
    812 missing of 814."""
    sub = topic_filter("devices/{device_id}/telemetry")
    assert (
        sub == "devices/+/telemetry"
        and topic_filter("telematics/{driver_id}/events") == "telematics/+/events"
    )
    records = [
        _live("mine", "h:1883", "devices/{device_id}/telemetry"),
        _live("telematics", "h:1883", "telematics/{driver_id}/events"),
        _live("other-broker", "h:1884", "devices/{device_id}/telemetry"),
        _live("other-store", "h:1883", "devices/{device_id}/telemetry", store="sqlite:/b.db"),
        _live("this-store", "h:1883", "devices/{device_id}/telemetry", store="sqlite:/a.db"),
        RunRecord(
            run_id="import", command="import-csv", family="f", streams={}, target="sqlite:///a.db"
        ),
    ]
    kept, left = records_for(records, "sqlite:/a.db", broker="h:1883", subscription=sub)
    assert [r.run_id for r in kept] == ["mine", "this-store"]
    reasons = {x["run_id"]: x["reason"] for x in left}
    assert (
        "telematics/+/events" not in reasons["telematics"]
        and "does not hear" in reasons["telematics"]
    )
    assert set(reasons) == {"telematics", "other-broker", "other-store", "import"}


def test_the_default_database_is_checked_only_when_named(tmp_path):
    """Before: after the README's `db init` and `db register` (demo_city), the README's own
    `--strict validate` of stationary_only and `--strict export-csv` failed device_exists
    against .tmp/synthkit.db, although export-csv said "(no database)"."""
    from synthkit.testing import run_cli
    from tests.conftest import ROOT

    demo, stationary = (
        str(ROOT / "scenarios" / "demo_city_v1.yaml"),
        str(ROOT / "scenarios" / "stationary_only_v1.yaml"),
    )
    assert (
        run_cli(["db", "init"]).exit_code == 0
        and run_cli(["--scenario", demo, "db", "register"]).exit_code == 0
    )
    res = run_cli(["--scenario", stationary, "--strict", "validate"])
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["database"] is None and any(
        "checked only when named" in w for w in summary["warnings"]
    )
    res = run_cli(
        [
            "--scenario",
            stationary,
            "--strict",
            "export-csv",
            "--run-id",
            "r",
            "--end-at",
            "2026-02-12T10:00:00Z",
        ]
    )
    assert res.exit_code == 0, res.stderr
    named = run_cli(
        ["--scenario", stationary, "--strict", "validate", "--db-url", "sqlite:///.tmp/synthkit.db"]
    )
    assert (
        named.exit_code == 2 and "device_exists" in named.stderr
    )  # named: checked, and it lacks them


@pytest.mark.slow
def test_strict_run_checks_the_store_it_reports_on_before_publishing(tmp_path):
    path, prefix, url = fleet(tmp_path)
    other = f"sqlite:///{tmp_path}/empty.db"
    assert synthkit("db", "init", "--db-url", other).returncode == 0  # no devices registered
    state = tmp_path / "s.json"
    res = synthkit(
        "--scenario",
        str(path),
        "--state-file",
        str(state),
        "--strict",
        "run",
        "--iterations",
        "1",
        "--db-url",
        other,
    )
    assert res.returncode == 2 and "device_exists" in res.stderr and "Traceback" not in res.stderr
    assert not state.exists()  # nothing published, nothing reserved


@pytest.mark.slow
def test_run_says_when_another_client_takes_its_connections(tmp_path):
    """Before: another process publishing with the same device ids made the broker close
    run's connections 26 times, and run said `"warnings": []`, complete."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    prefix = own_prefix("takeover")
    ids = prefix[-6:].upper()
    path = tmp_path / "t.yaml"
    path.write_text(
        SCENARIO.format(ids=ids).replace("speedup_factor: 600", "speedup_factor: 60")
        + topic_block(prefix)
    )
    rival = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"{ids}-01"
    )  # the same id as device 1
    rival.reconnect_delay_set(0.1, 0.3)  # it comes back at once each time it is pushed out
    proc = subprocess.Popen(
        [
            str(BIN / "synthkit"),
            "--scenario",
            str(path),
            "--state-file",
            str(tmp_path / "s.json"),
            "run",
            "--duration-seconds",
            "8",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    from tests.live import Subscriber

    sub = Subscriber(f"{prefix}/#")
    try:
        sub.wait(1)  # run is connected and publishing
        rival.connect("127.0.0.1", 1883)
        rival.loop_start()
        out, err = proc.communicate(timeout=120)
    finally:
        rival.loop_stop()
        rival.disconnect()
        sub.close()
    summary = json.loads(out)
    assert proc.returncode == 3 and summary["complete"] is False, err
    assert summary["reconnects"] >= 3
    assert any(
        f"another client is probably connected with client id '{ids}-01'" in w
        for w in summary["warnings"]
    )


def test_listen_reads_captured_traffic_through_a_source_plugin(tmp_path):
    """Before: no --source; SourceTarget was MQTT-shaped; and the listener required `db init`
    even when its sink was not the reference database."""
    from synthkit.testing import run_cli
    from tests.test_safety_listen import GOOD
    from tests.test_source import _plugins

    url = f"sqlite:///{tmp_path}/cap.db"
    assert run_cli(["db", "init", "--db-url", url]).exit_code == 0
    reg = tmp_path / "r.yaml"
    reg.write_text(
        "scenario_id: cap\ndevices:\n  - {device_id: CAP-1, archetype: stationary_archetype_a}\n"
    )
    assert run_cli(["--scenario", str(reg), "db", "register", "--db-url", url]).exit_code == 0
    capture = tmp_path / "captured.jsonl"
    capture.write_text(
        "".join(
            json.dumps(
                {
                    "topic": topic,
                    "payload": {**GOOD, "seq": seq},
                    "received_at": f"2026-01-05T10:00:0{seq}Z",
                }
            )
            + "\n"
            for topic, seq in (
                ("site/CAP-1/up", 0),
                ("site/CAP-1/up", 1),
                ("other/CAP-1/x", 9),
                ("site/CAP-1/up", 2),
            )
        )
    )
    args = [
        "ingest",
        "listen",
        "--source",
        "capture",
        "--source-option",
        f"path={capture}",
        "--topic",
        "site/+/up",
    ]
    res = run_cli([*args, "--db-url", url])
    summary = json.loads(res.stdout)
    assert res.exit_code == 0 and summary["status_counts"] == {"stored:NEW": 3}, res.stderr
    assert (
        any("1 captured message(s)" in w for w in summary["warnings"]) and "broker" not in summary
    )
    import sqlite3

    with sqlite3.connect(tmp_path / "cap.db") as conn:
        assert (
            conn.execute("SELECT seq, received_at FROM telemetry ORDER BY seq")
            .fetchall()[0][1]
            .startswith("2026-01-05")
        )
    taken: list[bytes] = []  # a sink that is not the database: no database needed at all
    other = run_cli(
        [*args, "--sink", "recording", "--db-url", f"sqlite:///{tmp_path}/never.db"],
        _plugins(taken, fail=False),
    )
    assert other.exit_code == 0 and len(taken) == 3 and not (tmp_path / "never.db").exists(), (
        other.stderr
    )
    bad = run_cli(
        [
            "ingest",
            "listen",
            "--source",
            "capture",
            "--source-option",
            f"path={tmp_path}/nope",
            "--db-url",
            url,
        ]
    )
    assert bad.exit_code == 2 and "neither a file nor a directory" in bad.stderr


@pytest.mark.slow
def test_a_listener_that_ended_before_anyone_looked_was_still_ready(tmp_path):
    """The readiness file goes with its listener: one that subscribes, idles out and removes it
    before a loaded machine's waiter looks (CI saw this) was ready all the same, and says so."""
    _, prefix, url = fleet(tmp_path)
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [str(BIN / "synthkit"), "ingest", "listen", "--db-url", url, "--topic"]
        + [subscription(prefix), "--idle-timeout", "0.2", "--ready-file", str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.wait(120)  # the waiter looks only now: the file has come and gone
    assert proc.returncode == 0 and not ready.exists()
    with pytest.raises(AssertionError, match="ended before it was ready"):
        wait_for(ready, proc)  # the file alone cannot tell
    wait_for(ready, proc, said=READY_LINE)  # its readiness line can
    out, err = proc.communicate()
    assert json.loads(out)["complete"] is True and READY_LINE + "subscribed to" in err
