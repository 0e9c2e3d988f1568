"""Issue 13: one declared contract per sink kind, built by the core with ``factory(target,
options)``; ``--sink``/``--sink-option`` on every producing command; export-csv through the
registry; typed batch columns; seqs reserved only for what a sink is handed.

Before: each command called factories its own way (``factory(path)``, ``factory(url,
apply=...)``, ``factory("host:port", clients=...)``), export-csv used a private sink, there
was no way to pass a sink options, and bootstrap reserved the whole window in the state file
before its sink had a single row, so a sink that failed left every seq spent."""

from __future__ import annotations

import gzip
import hashlib
import json
import types
from pathlib import Path

import numpy as np
import pytest

from synthkit import hookimpl
from synthkit.api import (
    Batch,
    Column,
    IngestSink,
    Reservation,
    SeqState,
    SinkReport,
    SinkSpec,
    iso_seconds,
)
from synthkit.errors import PluginError
from synthkit.plugins import build_plugins
from synthkit.testing import run_cli
from tests.test_docs import with_example
from tests.test_ingestion_db import END, SCENARIO, prepared

STATIONARY = str(Path(__file__).resolve().parents[1] / "scenarios" / "stationary_only_v1.yaml")


def _with(module_name: str, *specs: SinkSpec):  # returns Plugins
    module = types.ModuleType(module_name)
    module.synthkit_register_sinks = hookimpl(lambda: list(specs))
    plugins = build_plugins()
    plugins.register(module, module_name)
    return plugins


# ------------------------------------------------------------------- options, named and checked


def test_a_sink_option_is_checked_by_the_sinks_model_and_the_error_names_it(tmp_path):
    plugins = with_example("sink_plugin")
    out = tmp_path / "e.jsonl.gz"
    base = ["telematics", "generate", "--events", "500", "--out", str(out)]
    res = run_cli([*base, "--sink-option", "level=12"], plugins)
    assert (
        res.exit_code == 2
        and "--sink-option level='12'" in res.stderr
        and "less than or equal to 9" in res.stderr
    )
    assert (
        "options of 'jsonl_gz': level (int, default 9)" in res.stderr
        and "Traceback" not in res.stderr
    )
    res = run_cli([*base, "--sink-option", "colour=red"], plugins)
    assert (
        res.exit_code == 2
        and "colour='red': is not an option of this sink (sink 'jsonl_gz')" in res.stderr
    )
    res = run_cli([*base, "--sink-option", "level"], plugins)
    assert res.exit_code == 2 and "is not KEY=VALUE" in res.stderr
    assert not out.exists()
    fast = run_cli([*base, "--sink-option", "level=1"], plugins)
    best = run_cli([*base[:-1], str(tmp_path / "b.jsonl.gz")], plugins)
    assert fast.exit_code == best.exit_code == 0, fast.stderr + best.stderr
    assert gzip.decompress(out.read_bytes()) == gzip.decompress(
        (tmp_path / "b.jsonl.gz").read_bytes()
    )
    assert out.stat().st_size > (tmp_path / "b.jsonl.gz").stat().st_size  # level 1 really was used


def test_every_producing_command_takes_sink_and_sink_option():
    for command in (
        ["export-csv"],
        ["bootstrap"],
        ["import-csv"],
        ["run"],
        ["telematics", "generate"],
        ["telematics", "stream"],
        ["telematics", "publish"],
        ["ingest", "listen"],
    ):
        res = run_cli([*command, "--help"])
        assert res.exit_code == 0 and "--sink" in res.stdout and "--sink-option" in res.stdout, (
            command
        )


def test_a_factory_that_breaks_its_kinds_contract_is_named():
    class NotAFileSink:  # the old duck-typed shape: no FileSink base
        def __init__(self, target, options): ...

    plugins = _with("odd_sink", SinkSpec("odd", NotAFileSink, extensions=(".odd",)))
    res = run_cli(["telematics", "generate", "--events", "10", "--out", "x.odd"], plugins)
    assert res.exit_code == 2
    assert (
        "sink 'odd': its factory returned a NotAFileSink, not a synthkit.api.FileSink" in res.stderr
    )


def test_a_url_out_goes_to_the_ingest_sink_claiming_its_scheme_and_is_not_a_file(tmp_path):
    seen: list[str] = []

    class Memory(IngestSink):
        def __init__(self, target, options):
            seen.append(target.url)
            self.n = 0

        def open(self, columns): ...

        def write(self, batch):
            self.n += batch.n

        def close(self):
            return SinkReport("memory", self.n, outcomes={"stored:OK": self.n})

        def abort(self): ...

    plugins = _with("memory_sink", SinkSpec("memory", Memory, kind="ingest", schemes=("mem",)))
    res = run_cli(
        ["telematics", "generate", "--events", "1000", "--out", "mem://bucket/x"], plugins
    )
    assert res.exit_code == 0, res.stderr  # before: the output_writable check refused the "path"
    summary = json.loads(res.stdout)
    assert (
        seen == ["mem://bucket/x"]
        and summary["outcomes"] == {"stored:OK": 1000}
        and summary["sink"] == "memory"
    )
    res = run_cli(["telematics", "generate", "--events", "10", "--out", "gopher://x/y"], plugins)
    assert (
        res.exit_code == 2
        and "no sink it can drive takes gopher:// URLs" in res.stderr
        and "mem://" in res.stderr
    )
    with pytest.raises(PluginError, match="only an ingest or a broker sink claims URL schemes"):
        SinkSpec("bad", Memory, schemes=("x",))


# -------------------------------------------------------------- export-csv through the registry


def test_export_csv_writes_through_any_file_sink_and_the_readers_say_what_they_read(tmp_path):
    out = tmp_path / "o"
    base = [
        "--scenario",
        STATIONARY,
        "--state-file",
        str(tmp_path / "s.json"),
        "export-csv",
        "--end-at",
        END,
        "--output-root",
        str(out),
    ]
    csv = json.loads(run_cli([*base, "--run-id", "c"]).stdout)
    res = run_cli([*base, "--run-id", "j", "--sink", "jsonl"])
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    rows = Path(summary["rows"])
    assert rows.name == "telemetry_rows.jsonl" and summary["row_count"] == csv["row_count"]
    manifest = json.loads((rows.parent / "manifest.json").read_text())
    assert (
        manifest["rows_format"] == "jsonl"
        and manifest["rows_sha256"] == hashlib.sha256(rows.read_bytes()).hexdigest()
    )
    assert len(rows.read_text().splitlines()) == csv["row_count"]
    for command in ("analyze-csv", "import-csv"):
        res = run_cli([command, "--artifact-dir", str(rows.parent)])
        assert (
            res.exit_code == 2
            and f"its rows are jsonl (telemetry_rows.jsonl); {command} reads csv artifacts"
            in res.stderr
        )
    res = run_cli([*base, "--run-id", "m", "--sink", "mqtt"])
    assert (
        res.exit_code == 2
        and "sink 'mqtt' is a broker sink; export-csv needs a file sink" in res.stderr
    )
    res = run_cli([*base, "--run-id", "n", "--sink-option", "x=1"])
    assert (
        res.exit_code == 2
        and "--sink-option x='1': is not an option of this sink (sink 'csv')" in res.stderr
    )
    assert (
        not (out / "stationary_only_v1" / "m").exists()
        and not (out / "stationary_only_v1" / "n").exists()
    )


def test_the_docs_sink_works_from_every_file_command(tmp_path):
    plugins = with_example("sink_plugin")
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
            "g",
            "--sink",
            "jsonl_gz",
        ],
        plugins,
    )
    assert res.exit_code == 0, res.stderr
    rows = Path(json.loads(res.stdout)["rows"])
    assert rows.name == "telemetry_rows.jsonl.gz"
    assert json.loads(gzip.decompress(rows.read_bytes()).splitlines()[0])["device_id"]


# ----------------------------------------------------------- seqs reserved only for what is handed


def _failing_ingest(after_batches: int) -> SinkSpec:
    class Failing(IngestSink):
        def __init__(self, target, options):
            self.batches = 0

        def open(self, columns): ...

        def write(self, batch):
            if self.batches >= after_batches:
                raise OSError(28, "No space left on device")
            self.batches += 1

        def close(self):
            return SinkReport("failing", 0)

        def abort(self): ...

    return SinkSpec("failing", Failing, kind="ingest")


def test_a_bootstrap_whose_sink_fails_at_once_leaves_the_state_file_as_it_was(tmp_path):
    scenario = tmp_path / "ingest_t.yaml"
    scenario.write_text(SCENARIO)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    prepared(url, scenario)
    state = tmp_path / "seq.json"
    plugins = _with("failing_sink", _failing_ingest(0))
    res = run_cli(
        [
            "--scenario",
            str(scenario),
            "--state-file",
            str(state),
            "bootstrap",
            "--db-url",
            url,
            "--sink",
            "failing",
        ],
        plugins,
    )
    assert res.exit_code != 0 and "No space left on device" in res.stderr
    assert not state.exists()  # before: every device's whole window was reserved
    state.write_text(json.dumps({"version": 1, "devices": {"TANK-01": 41}}) + "\n")
    before = state.read_bytes()
    res = run_cli(
        [
            "--scenario",
            str(scenario),
            "--state-file",
            str(state),
            "bootstrap",
            "--db-url",
            url,
            "--sink",
            "failing",
        ],
        plugins,
    )
    assert res.exit_code != 0 and state.read_bytes() == before


def test_a_bootstrap_whose_sink_fails_later_keeps_exactly_what_it_took(tmp_path, monkeypatch):
    import synthkit_reservoir.ingestion as ingestion

    monkeypatch.setattr(ingestion, "BLOCK_ROWS", 100)  # several batches from a small scenario
    scenario = tmp_path / "ingest_t.yaml"
    scenario.write_text(SCENARIO)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    prepared(url, scenario)
    state = tmp_path / "seq.json"
    handed: list[Batch] = []
    spec = _failing_ingest(1)
    original = spec.factory

    class Recording(original):  # type: ignore[misc, valid-type]
        def write(self, batch):
            handed.append(batch)
            super().write(batch)

    plugins = _with("failing_sink", SinkSpec("failing", Recording, kind="ingest"))
    res = run_cli(
        [
            "--scenario",
            str(scenario),
            "--state-file",
            str(state),
            "bootstrap",
            "--db-url",
            url,
            "--sink",
            "failing",
            "--commit-batch-size",
            "100",
        ],
        plugins,
    )
    assert res.exit_code != 0 and len(handed) == 2
    last: dict[str, int] = {}
    for row in handed[0].rows():  # the sink took the first; its write raised on the second
        last[row["device_id"]] = max(last.get(row["device_id"], -1), row["seq"])
    assert json.loads(state.read_text())["devices"] == last


def test_a_reservation_reserves_ahead_and_gives_back_only_its_own(tmp_path):
    path = tmp_path / "s.json"
    SeqState(path, {"A": 9}).save()
    with SeqState.held(path) as state:
        r = Reservation(state, ["A", "B"], ahead=np.array([100, 100]), ceiling=np.array([60, 500]))
        r.hand(np.array([0, 1]), np.array([10, 0]))
        assert json.loads(path.read_text())["devices"] == {
            "A": 60,
            "B": 99,
        }  # ahead, capped by the ceiling
        r.hand(np.array([1]), np.array([5]))
        r.reserve(np.array([1]), np.array([300]))  # reserved, then the sink refused it
        assert json.loads(path.read_text())["devices"] == {"A": 60, "B": 399}
        r.settle()
        assert json.loads(path.read_text())["devices"] == {"A": 10, "B": 5}
    with SeqState.held(path) as state:
        Reservation(
            state, ["A", "C"], ahead=np.array([50, 50])
        ).settle()  # nothing handed: nothing moves
        state.give_back("A", 3)  # never below what the file said when this run began
        state.save()
    assert json.loads(path.read_text())["devices"] == {"A": 10, "B": 5}


# ---------------------------------------------------------------------------------- typed columns


def test_columns_declare_their_value_types():
    n = 3
    times = np.array([1_767_225_600, 1_767_225_900, 1_767_226_200])
    batch = Batch(
        [
            Column("device_id", "label", np.zeros(n, np.int64), labels=("T-1",)),
            Column("seq", "int", np.arange(n)),
            Column("level_pct", "decimal", np.array([1.25, 2.5, 3.0]), decimals=2),
            Column("received_at", "fixed", iso_seconds(times), type="timestamp"),
            Column("car_value", "label", np.array([0, 1, 0]), labels=(18000, 42000)),
            Column("has_trailer", "label", np.array([0, 1, 1]), labels=(False, True)),
            Column("score", "label", np.array([0, 1, 0]), labels=(0.5, 1)),
            Column("event_id", "fixed", np.frombuffer(b"abcdefghi", np.uint8).reshape(3, 3)),
        ]
    )
    types_ = {c.name: c.value_type for c in batch.columns}
    assert types_ == {
        "device_id": "enum",
        "seq": "int",
        "level_pct": "float",
        "received_at": "timestamp",
        "car_value": "int",
        "has_trailer": "bool",
        "score": "float",
        "event_id": "text",
    }
    stamps = batch.column("received_at").timestamps()
    assert (stamps.astype(np.int64) == times).all()
    assert batch.slice(1, 3).column("received_at").value_type == "timestamp"  # kept by slicing
    with pytest.raises(ValueError, match="type must be one of"):
        Column("x", "int", np.zeros(1, np.int64), type="uuid")


def test_the_families_declare_timestamps_and_numbers_not_labels(tmp_path):
    from synthkit_telematics.config import TelematicsConfig
    from synthkit_telematics.generator import TelematicsGenerator

    plugins = build_plugins()
    from datetime import UTC, datetime

    gen = TelematicsGenerator(
        TelematicsConfig(drivers=5, seed=1, start=datetime(2026, 1, 5, tzinfo=UTC)),
        plugins.event_types(),
    )
    batch = next(iter(gen.batches(100)))
    kinds = {c.name: c.value_type for c in batch.columns}
    assert (
        kinds["ts"] == "timestamp" and kinds["car_value"] == "int" and kinds["driver_id"] == "enum"
    )
    assert kinds["speed_mph"] == "float" and kinds["event_type"] == "enum"
    stamps = batch.column("ts").timestamps()
    assert str(stamps.dtype) == "datetime64[ms]" and str(stamps[0]).startswith("2026-01-05")


def test_bootstrap_and_import_csv_hand_a_sink_the_same_row_layout(tmp_path):
    """Before: bootstrap handed 26 columns, import-csv 18 others in another order."""
    seen: dict[str, list[tuple[str, str]]] = {}

    class Recorder(IngestSink):
        def __init__(self, target, options):
            self.n = 0

        def open(self, columns):
            self.columns = columns

        def write(self, batch):
            seen.setdefault(self.name, [(c.name, c.value_type) for c in batch.columns])
            self.n += batch.n

        def close(self):
            return SinkReport("recorder", self.n, outcomes={"stored:OK": self.n})

        def abort(self): ...

    scenario = tmp_path / "ingest_t.yaml"
    scenario.write_text(SCENARIO)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    prepared(url, scenario)
    for command in ("bootstrap", "import-csv"):
        Recorder.name = command
        plugins = _with(
            "recorder", SinkSpec("recorder", Recorder, kind="ingest", capabilities=("dry_run",))
        )
        if command == "bootstrap":
            args = [
                "--scenario",
                str(scenario),
                "--state-file",
                str(tmp_path / "b.json"),
                "bootstrap",
            ]
        else:
            art = run_cli(
                [
                    "--scenario",
                    str(scenario),
                    "--state-file",
                    str(tmp_path / "e.json"),
                    "export-csv",
                    "--end-at",
                    END,
                    "--run-id",
                    "r",
                    "--output-root",
                    str(tmp_path / "o"),
                ]
            )
            args = [
                "import-csv",
                "--artifact-dir",
                json.loads(art.stdout)["artifact_dir"],
                "--apply",
            ]
        res = run_cli([*args, "--db-url", url, "--sink", "recorder"], plugins)
        assert res.exit_code == 0, res.stderr
    assert seen["bootstrap"] == seen["import-csv"]
    assert ("received_at", "timestamp") in seen["bootstrap"] and ("mode", "enum") in seen[
        "bootstrap"
    ]
