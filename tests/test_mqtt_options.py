"""Issue 14's MQTT features, against brokers these tests start: username and password (from
the environment or a file, never printed), MQTT 5 as well as 3.1.1, QoS 2, the retained flag,
and a publisher session that is resumed instead of cleaned."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from synthkit_mqtt.testbroker import LocalBroker

from tests.conftest import BIN
from tests.live import Listener

pytestmark = pytest.mark.services

SCENARIO = """scenario_id: opts_t
speedup_factor: 600
devices:
  - {{group: o, count: 3, id_pattern: "{prefix}-{{n:02d}}", archetype: stationary_archetype_a, cadence_seconds: 60}}
"""


def synthkit(
    *args: str, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "synthkit"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def scenario(tmp_path: Path) -> tuple[Path, str]:
    prefix = "MO" + uuid.uuid4().hex[:6].upper()
    path = tmp_path / "opts.yaml"
    path.write_text(SCENARIO.format(prefix=prefix))
    return path, prefix


@pytest.fixture
def password_broker(tmp_path):
    secrets = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(secrets), "fleet", "s3cr3t-Pw"],
        check=True,
        capture_output=True,
    )
    os.chmod(secrets, 0o600)
    with LocalBroker(tmp_path, extra=f"password_file {secrets}\n", anonymous=False) as broker:
        yield broker


@pytest.mark.slow
def test_username_and_password_from_a_file_publish_and_listen_and_are_never_printed(
    tmp_path, password_broker
):
    path, prefix = scenario(tmp_path)
    url = f"sqlite:///{tmp_path}/o.db"
    (tmp_path / "pw").write_text("s3cr3t-Pw\n")
    env = {"SYNTHKIT_MQTT_USERNAME": "fleet", "SYNTHKIT_MQTT_PASSWORD_FILE": str(tmp_path / "pw")}
    state = ["--state-file", str(tmp_path / "s.json")]
    assert synthkit("db", "init", "--db-url", url).returncode == 0
    assert synthkit("--scenario", str(path), "db", "register", "--db-url", url).returncode == 0
    port = str(password_broker.port)
    listener = Listener(
        tmp_path,
        "--db-url",
        url,
        "--port",
        port,
        "--client-id",
        f"l-{prefix}",
        "--count",
        "12",
        "--duration-seconds",
        "60",
        env=env,
        pre=tuple(state),
    )
    res = synthkit(
        *state,
        "--scenario",
        str(path),
        "run",
        "--port",
        port,
        "--iterations",
        "4",
        "--db-url",
        url,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["delivery"]["stored"] == 12 and summary["delivery"]["missing"] == 0
    _, heard, err = listener.result(timeout=60)
    assert heard["status_counts"] == {"stored:NEW": 12}, err
    assert heard["seq_gaps"] == {} and heard["seq_gaps_missing"] == 0
    assert "s3cr3t-Pw" not in res.stdout + res.stderr + json.dumps(heard) + err
    wrong = synthkit(
        *state,
        "--scenario",
        str(path),
        "run",
        "--port",
        port,
        "--iterations",
        "1",
        env={"SYNTHKIT_MQTT_USERNAME": "fleet", "SYNTHKIT_MQTT_PASSWORD": "not-it"},
    )
    assert (
        wrong.returncode == 2
        and "refused" in wrong.stderr
        and "not-it" not in wrong.stderr + wrong.stdout
    )
    anonymous = synthkit(
        *state, "--scenario", str(path), "run", "--port", port, "--iterations", "1"
    )
    assert anonymous.returncode == 2 and "refused" in anonymous.stderr


@pytest.mark.slow
def test_a_password_file_that_cannot_be_read_is_a_clear_error(tmp_path):
    path, _ = scenario(tmp_path)
    res = synthkit(
        "--scenario",
        str(path),
        "run",
        "--iterations",
        "1",
        env={"SYNTHKIT_MQTT_PASSWORD_FILE": str(tmp_path / "none")},
    )
    assert (
        res.returncode == 2 and "MQTT password file" in res.stderr and "Traceback" not in res.stderr
    )


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_qos_2_over_each_protocol_version_stores_every_message_once(tmp_path, protocol):
    path, prefix = scenario(tmp_path)
    url = f"sqlite:///{tmp_path}/o.db"
    state = ["--state-file", str(tmp_path / "s.json")]
    assert synthkit("db", "init", "--db-url", url).returncode == 0
    assert synthkit("--scenario", str(path), "db", "register", "--db-url", url).returncode == 0
    with LocalBroker(tmp_path) as broker:
        port = str(broker.port)
        listener = Listener(
            tmp_path,
            "--db-url",
            url,
            "--port",
            port,
            "--client-id",
            f"l-{prefix}",
            "--idle-timeout",  # until the run's first message: its start-up takes seconds when loaded
            "15",
            "--duration-seconds",
            "60",
            "--source-option",
            f"protocol={protocol}",
            "--reconcile-every",
            "0.5",
            pre=tuple(state),
        )
        res = synthkit(
            *state,
            "--scenario",
            str(path),
            "run",
            "--port",
            port,
            "--iterations",
            "5",
            "--qos",
            "2",
            "--sink-option",
            f"protocol={protocol}",
        )
        assert res.returncode == 0, res.stderr
        summary = json.loads(res.stdout)
        assert (summary["qos"], summary["emitted"], summary["acknowledged"], summary["failed"]) == (
            2,
            15,
            15,
            0,
        )
        _, heard, err = listener.result(timeout=60)
    assert heard["status_counts"] == {"stored:NEW": 15}, err
    assert (
        "reconcile: " in err and " missing of 15 emitted" in err
    )  # the running count, from the run record
    done = synthkit(
        *state, "reconcile", "--db-url", url, "--run", summary["run_id"]
    )  # it named no store
    assert done.returncode == 0 and json.loads(done.stdout)["stored"] == 15


@pytest.mark.slow
def test_the_retained_flag_and_a_resumed_mqtt5_session(tmp_path):
    path, prefix = scenario(tmp_path)
    with LocalBroker(tmp_path) as broker:
        res = synthkit(
            "--state-file",
            str(tmp_path / "s.json"),
            "--scenario",
            str(path),
            "run",
            "--port",
            str(broker.port),
            "--iterations",
            "2",
            "--sink-option",
            "retain=true",
            "--sink-option",
            "protocol=5",
            "--sink-option",
            "clean_session=false",
            "--sink-option",
            "session_expiry_s=300",
        )
        assert res.returncode == 0, res.stderr
        late = subprocess.run(
            [
                "mosquitto_sub",
                "-p",
                str(broker.port),
                "-t",
                f"devices/{prefix}-01/telemetry",
                "--retained-only",
                "-C",
                "1",
                "-W",
                "5",
            ],
            capture_output=True,
            text=True,
        )
    assert (
        late.returncode == 0 and json.loads(late.stdout)["seq"] == 1
    )  # the last message, kept by the broker


@pytest.mark.slow
def test_options_the_mqtt_sink_does_not_know_are_refused(tmp_path):
    path, _ = scenario(tmp_path)
    res = synthkit(
        "--scenario", str(path), "run", "--iterations", "1", "--sink-option", "protocol=4"
    )
    assert res.returncode == 2 and "protocol" in res.stderr
    res = synthkit("--scenario", str(path), "run", "--iterations", "1", "--qos", "3")
    assert res.returncode == 2 and "QoS 3" in res.stderr
