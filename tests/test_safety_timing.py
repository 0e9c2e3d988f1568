"""Issue 23, items 16 and 17: a live run ends at its wall deadline however far behind its
schedule it is, and says how much it left unsent (summary and run record); ticks that are due
together go out together, so a small fleet at a high speedup is not held to one tick per
fixed cost. Against the machine's Mosquitto on the test's own topic prefix."""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
import uuid
from pathlib import Path

import pytest

from synthkit.api import Pace, paced
from synthkit.batch import Batch, Column
from synthkit.runs import RunLog, runs_dir
from tests.conftest import BIN

ONE = Batch([Column("x", "int", __import__("numpy").zeros(1, "int64"))])


def test_the_deadline_holds_when_every_item_is_already_due():
    pace = Pace()
    sent = []
    # an endless schedule, all due at once (a publisher far behind, or --interval 0)
    done = paced(
        ((0.0, i) for i in itertools.count()),
        lambda i: ONE,
        sent.append,
        stop=threading.Event(),
        duration_s=0.3,
        pace=pace,
    )
    assert done is False and sent and pace.unsent_s == 0.3


def test_items_due_together_are_produced_together():
    groups: list[int] = []

    def produce(items: list[int]) -> Batch:
        groups.append(len(items))
        return ONE

    paced(
        ((0.0, i) for i in range(1000)), produce, lambda b: None, stop=threading.Event(), group=100
    )
    assert sum(groups) == 1000 and max(groups) == 100 and len(groups) == 10


def _scenario(tmp_path: Path, count: int, speedup: float) -> Path:
    path = tmp_path / "fast.yaml"
    path.write_text(
        f"scenario_id: fast\nspeedup_factor: {speedup}\ndevices:\n"
        f"  - {{group: f, count: {count}, id_pattern: 'FAST-{{n}}', archetype: stationary_archetype_a, "
        "cadence_seconds: 60}\n"
    )
    return path


def _run(tmp_path: Path, scenario: Path, *args: str) -> tuple[int, dict]:
    topic = f"sk-test-{uuid.uuid4().hex[:8]}/{{device_id}}/t"
    # no tight bar: before the fix these runs did not end (60 s and counting), so a generous
    # timeout tells the difference on a loaded machine
    res = subprocess.run(
        [
            str(BIN / "synthkit"),
            "--scenario",
            str(scenario),
            "--state-file",
            str(tmp_path / "st.json"),
            "run",
            "--qos",
            "0",
            "--topic",
            topic,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode in (0, 3), res.stderr
    return res.returncode, json.loads(res.stdout)


@pytest.mark.slow
def test_a_run_behind_its_schedule_stops_at_its_deadline_and_says_what_it_left(tmp_path):
    scenario = _scenario(tmp_path, 50, 1e7)  # ~8 million messages a second asked of 50 devices
    code, summary = _run(tmp_path, scenario, "--duration-seconds", "2")
    assert summary["elapsed_seconds"] < 30
    assert code == 3 and summary["behind_schedule"]["unsent_schedule_seconds"] > 0.1
    assert any("fell behind its schedule" in w for w in summary["warnings"])
    record = RunLog(runs_dir(tmp_path / "st.json")).load(summary["run_id"])
    assert record.unsent_schedule_s == summary["behind_schedule"]["unsent_schedule_seconds"]
    assert record.emitted == summary["emitted"]


@pytest.mark.slow
def test_one_device_at_a_high_speedup_sends_many_ticks_per_batch(tmp_path):
    scenario = _scenario(tmp_path, 1, 1e6)
    code, summary = _run(tmp_path, scenario, "--iterations", "5000")
    assert code == 0 and summary["emitted"] == summary["acknowledged"] == 5000
    last = json.loads((tmp_path / "st.json").read_text())["devices"]
    assert last == {"FAST-1": 4999}
