"""Issue 23, items 13 and 14: every device id and topic is held to the limits of where it goes
(MQTT strings and topics, the ingestion key's width), and numbers past what a run can hold are
refused up front, each with one clear line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthkit.errors import ConfigError
from synthkit.testing import run_cli

GROUP = """scenario_id: limits
devices:
  - {{group: g, count: {count}, id_pattern: "{pattern}", archetype: stationary_archetype_a}}
"""


def _scenario(tmp_path: Path, text: str) -> str:
    path = tmp_path / "limits.yaml"
    path.write_text(text)
    return str(path)


def _refused(args: list[str], *needles: str) -> str:
    res = run_cli(args)
    assert res.exit_code == 2, (args, res.exit_code, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr
    for needle in needles:
        assert needle in res.stderr, res.stderr
    return res.stderr


@pytest.mark.parametrize(
    ("count", "pattern", "shown"),
    [
        (1000, "Z-{n:,}", "'Z-1,000' (n=1000)"),
        (2, "L{n:0200d}", "(n=1)"),
    ],
)
def test_every_id_of_a_group_is_a_device_id(tmp_path, count, pattern, shown):
    scenario = _scenario(tmp_path, GROUP.format(count=count, pattern=pattern))
    _refused(["--scenario", scenario, "validate"], "id_pattern", shown, "at most 128 characters")


def test_a_device_id_longer_than_the_ingestion_key_is_refused(tmp_path):
    scenario = _scenario(
        tmp_path,
        f"scenario_id: limits\ndevices:\n  - {{device_id: {'A' * 129}, "
        "archetype: stationary_archetype_a}\n",
    )
    _refused(["--scenario", scenario, "validate"], "device_id", "at most 128")
    ok = _scenario(
        tmp_path,
        f"scenario_id: limits\ndevices:\n  - {{device_id: {'A' * 128}, "
        "archetype: stationary_archetype_a}\n",
    )
    assert run_cli(["--scenario", ok, "validate"]).exit_code == 0


def test_a_topic_template_that_names_no_client_is_refused_before_anything_is_sent(tmp_path):
    scenario = _scenario(tmp_path, GROUP.format(count=3, pattern="T-{n}"))
    state = tmp_path / "st.json"
    _refused(
        [
            "--scenario",
            scenario,
            "--state-file",
            str(state),
            "run",
            "--iterations",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            "1",
            "--topic",
            "devices/{{device_id}}/x",
        ],
        "gives several clients the same topic",
    )
    assert not state.exists()


def test_client_ids_and_topics_past_an_mqtt_string_are_refused():
    from synthkit_mqtt.sink import MqttSink

    with pytest.raises(ConfigError, match="is not an MQTT client id"):
        MqttSink("127.0.0.1:1", clients=["L" + "0" * 70_000], topic="{device_id}")
    with pytest.raises(ConfigError, match="is not a publishable MQTT topic"):
        MqttSink("127.0.0.1:1", clients=["A"], topic="x" * 70_000 + "/{device_id}")


# ----------------------------------------------------------- 14: numbers past what a run holds


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--iterations", "99999999999999999999"], "--iterations"),
        (["run", "--iterations", "1", "--drain-timeout", "-5"], "--drain-timeout"),
        (["run", "--iterations", "1", "--settle-timeout", "-1"], "--settle-timeout"),
        (["run", "--iterations", "1", "--port", "70000"], "--port"),
        (["ingest", "listen", "--count", "-1"], "--count"),
        (["ingest", "listen", "--idle-timeout", "-2"], "--idle-timeout"),
        (
            [
                "telematics",
                "generate",
                "--seed",
                "99999999999999999999",
                "--events",
                "5",
                "--out",
                "x.jsonl",
            ],
            "--seed",
        ),
        (
            [
                "telematics",
                "generate",
                "--start",
                "9999-12-31T23:59:00Z",
                "--events",
                "5",
                "--out",
                "x.jsonl",
            ],
            "--start",
        ),
        (["replay", "--run", "r", "--from", "-3"], "--from"),
    ],
)
def test_numbers_no_run_can_use_are_refused_up_front(tmp_path, args, needle):
    scenario = _scenario(tmp_path, GROUP.format(count=2, pattern="N-{n}"))
    full = ["--scenario", scenario, *args] if args[0] == "run" else args
    _refused([*full[:1], *full[1:]], needle)
    assert not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize("last", [2**63 - 1, 2**63 - 2, 2**63 - 2**40 + 1])
def test_a_state_with_no_room_for_another_run_is_refused(tmp_path, last):
    import json

    scenario = _scenario(tmp_path, GROUP.format(count=1, pattern="N-{n}"))
    state = tmp_path / "st.json"
    state.write_text(json.dumps({"version": 1, "devices": {"N-1": last}}))
    _refused(
        [
            "--scenario",
            scenario,
            "--state-file",
            str(state),
            "run",
            "--iterations",
            "1",
            "--port",
            "1",
        ],
        "is not a whole number in -1..",
        str(state),
    )
    assert json.loads(state.read_text())["devices"] == {"N-1": last}
