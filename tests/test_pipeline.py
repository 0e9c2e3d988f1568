"""Issue 13: the stage between generator and sink. Transforms (``--transform NAME``,
``--transform-option NAME.KEY=VALUE``) run in order in every command, live and offline,
seeded from the run's seed; the run's life cycle (``synthkit_run_started``, ``_finished``,
``_failed``) fires around every run, for plugins, sinks (``Sink.begin``) and transforms."""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest

from synthkit import hookimpl
from synthkit.api import Batch, Column, SinkOptions, Transform, TransformSpec
from synthkit.plugins import build_plugins
from synthkit.testing import run_cli
from tests.live import own_prefix
from tests.test_sink_contract import END, STATIONARY

SELECT = [
    "--transform",
    "select",
    "--transform-option",
    "select.columns=device_id,seq,level_pct",
    "--transform-option",
    "select.rename=level_pct:level",
]


def test_select_gives_a_file_sink_the_subset_it_wants(tmp_path):
    res = run_cli(
        [
            *SELECT,
            "--scenario",
            STATIONARY,
            "--state-file",
            str(tmp_path / "s.json"),
            "export-csv",
            "--end-at",
            END,
            "--output-root",
            str(tmp_path / "o"),
            "--run-id",
            "r",
        ]
    )
    assert res.exit_code == 0, res.stderr
    csv = Path(json.loads(res.stdout)["csv"])
    assert csv.read_text().splitlines()[0] == "device_id,seq,level"
    manifest = json.loads((csv.parent / "manifest.json").read_text())
    assert manifest["columns"] == ["device_id", "seq", "level"]  # what the file holds


@pytest.mark.services
def test_select_works_live_on_the_broker(tmp_path):
    res = run_cli(
        [
            "--transform",
            "select",
            "--transform-option",
            "select.drop=car_type,car_value",
            "telematics",
            "publish",
            "--events",
            "40",
            "--drivers",
            "4",
            "--interval",
            "0",
            "--topic",
            own_prefix("pipeline") + "/{driver_id}",
        ]
    )
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["acknowledged"] == 40


def test_a_transform_error_is_exit_2_before_anything_is_written(tmp_path):
    out = tmp_path / "e.jsonl"
    res = run_cli(
        [
            "--transform",
            "select",
            "--transform-option",
            "select.rename=speed_mph",
            "telematics",
            "generate",
            "--events",
            "10",
            "--out",
            str(out),
        ]
    )
    assert (
        res.exit_code == 2
        and "select.rename='speed_mph': Value error, 'speed_mph' is not old:new" in res.stderr
    )
    res = run_cli(
        [
            "--transform",
            "select",
            "--transform-option",
            "select.rename=speed_mph:driver_id",
            "telematics",
            "generate",
            "--events",
            "10",
            "--out",
            str(out),
        ]
    )
    assert res.exit_code == 2 and "two columns the same name" in res.stderr
    assert not out.exists()


class Jitter(Transform):
    """A seeded transform: moves each latitude by a reproducible amount."""

    def __init__(self, options: SinkOptions, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def apply(self, batch: Batch) -> Batch:
        lat = batch.column("latitude")
        moved = lat.values + self.rng.integers(-5, 6, batch.n)
        return Batch(
            [
                Column(c.name, c.kind, moved, c.decimals, scaled=c.scaled)
                if c.name == "latitude"
                else c
                for c in batch.columns
            ]
        )


def _with_jitter(events: list[tuple[str, object]] | None = None):  # returns Plugins
    module = types.ModuleType("jitter")
    module.synthkit_register_transforms = hookimpl(lambda: [TransformSpec("jitter", Jitter)])
    if events is not None:
        module.synthkit_run_started = hookimpl(lambda plan: events.append(("started", plan)))
        module.synthkit_run_finished = hookimpl(
            lambda plan, summary: events.append(("finished", summary))
        )
        module.synthkit_run_failed = hookimpl(lambda plan, error: events.append(("failed", error)))
    plugins = build_plugins()
    plugins.register(module, "jitter")
    return plugins


def test_a_seeded_transform_is_deterministic_and_follows_the_seed(tmp_path):
    plugins = _with_jitter()

    def generate(name: str, seed: str) -> bytes:
        res = run_cli(
            [
                "--transform",
                "jitter",
                "telematics",
                "generate",
                "--events",
                "3000",
                "--seed",
                seed,
                "--out",
                str(tmp_path / name),
            ],
            plugins,
        )
        assert res.exit_code == 0, res.stderr
        return (tmp_path / name).read_bytes()

    assert generate("a.jsonl", "1") == generate("b.jsonl", "1")
    plain = run_cli(
        [
            "telematics",
            "generate",
            "--events",
            "3000",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "p.jsonl"),
        ]
    )
    assert (
        plain.exit_code == 0
        and (tmp_path / "p.jsonl").read_bytes() != (tmp_path / "a.jsonl").read_bytes()
    )


def test_the_life_cycle_hooks_see_the_plan_the_summary_and_the_failure(tmp_path):
    events: list[tuple[str, object]] = []
    plugins = _with_jitter(events)
    res = run_cli(
        [
            "--scenario",
            STATIONARY,
            "--state-file",
            str(tmp_path / "s.json"),
            "export-csv",
            "--end-at",
            END,
            "--output-root",
            str(tmp_path / "o"),
            "--run-id",
            "r",
        ],
        plugins,
    )
    assert res.exit_code == 0, res.stderr
    (started, plan), (finished, summary) = events
    assert started == "started" and finished == "finished"
    assert plan.command == "export-csv" and plan.sink == "csv" and plan.rows == summary["row_count"]
    assert plan.window == (summary["window"]["start_at"], summary["window"]["end_at"])
    assert len(plan.streams) == summary["device_count"] and "received_at" in plan.columns
    events.clear()
    res = run_cli(
        [
            "--transform",
            "select",
            "--transform-option",
            "select.columns=nope",
            "telematics",
            "generate",
            "--events",
            "10",
            "--out",
            str(tmp_path / "x.jsonl"),
        ],
        plugins,
    )
    assert res.exit_code == 2 and events == []  # refused before the run began: nothing to report
    res = run_cli(
        [
            "telematics",
            "generate",
            "--events",
            "10",
            "--out",
            str(tmp_path / "missing" / "x.jsonl"),
        ],
        plugins,
    )
    assert res.exit_code == 2 and events == []
    res = run_cli(
        [
            "--scenario",
            STATIONARY,
            "--state-file",
            str(tmp_path / "s.json"),
            "run",
            "--port",
            "9",
            "--iterations",
            "1",
        ],
        plugins,
    )
    assert res.exit_code == 2 and [kind for kind, _ in events] == ["started", "failed"]
    assert "9" in str(events[1][1])


def test_a_sink_sees_the_plan_before_it_opens(tmp_path):
    from synthkit.api import FileSink, SinkReport, SinkSpec

    seen = []

    class Planned(FileSink):
        def __init__(self, target, options):
            self.target = target

        def begin(self, plan):
            seen.append(plan)

        def open(self, columns):
            assert seen, "begin() comes before open()"

        def write(self, batch): ...

        def close(self):
            return SinkReport("planned", 0)

        def abort(self): ...

    module = types.ModuleType("planned")
    module.synthkit_register_sinks = hookimpl(
        lambda: [SinkSpec("planned", Planned, extensions=(".planned",))]
    )
    plugins = build_plugins()
    plugins.register(module, "planned")
    res = run_cli(
        [
            "telematics",
            "generate",
            "--events",
            "50",
            "--drivers",
            "3",
            "--seed",
            "9",
            "--out",
            str(tmp_path / "x.planned"),
        ],
        plugins,
    )
    assert res.exit_code == 0, res.stderr
    assert seen[0].command == "telematics generate" and seen[0].seed == 9 and seen[0].rows == 50
    assert seen[0].streams == ("D0000", "D0001", "D0002")


@pytest.mark.parametrize(
    "command", [["telematics", "stream", "--max-events", "5", "--interval", "0"]]
)
def test_transforms_apply_to_the_stream_too(command):
    res = run_cli(
        ["--transform", "select", "--transform-option", "select.columns=event_type", *command]
    )
    assert res.exit_code == 0, res.stderr
    assert [set(json.loads(x)) for x in res.stdout.splitlines()] == [{"event_type"}] * 5


@pytest.mark.services
def test_a_sink_that_needs_a_column_the_transforms_removed_says_so():
    res = run_cli(
        [
            "--transform",
            "select",
            "--transform-option",
            "select.drop=driver_id",
            "telematics",
            "publish",
            "--events",
            "4",
            "--drivers",
            "2",
            "--interval",
            "0",
            "--topic",
            own_prefix("pipeline") + "/{driver_id}",
        ]
    )
    assert res.exit_code == 2
    assert (
        "the mqtt sink needs the column 'driver_id', which the transforms (select) left out"
        in res.stderr
    )


def test_a_run_without_a_summary_still_finishes_and_leaves_nothing_for_the_next_command(tmp_path):
    events: list[tuple[str, object]] = []
    plugins = _with_jitter(events)
    res = run_cli(["telematics", "stream", "--max-events", "3", "--interval", "0"], plugins)
    assert (
        res.exit_code == 0
        and [kind for kind, _ in events] == ["started", "finished"]
        and events[1][1] == {}
    )
    events.clear()
    res = run_cli(
        ["telematics", "generate", "--events", "0", "--out", str(tmp_path / "x.jsonl")], plugins
    )
    assert res.exit_code == 2 and events == []  # refused before a run began: no stale plan reported
