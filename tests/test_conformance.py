"""Issue 13: every built-in sink passes the conformance kit a partner runs on theirs
(``synthkit.testing.check_sink``), and the kit catches the breaches it exists for."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import pytest

from synthkit.api import (
    BrokerTarget,
    Endpoint,
    FileSink,
    FileTarget,
    IngestTarget,
    SinkReport,
    SinkSpec,
    StreamTarget,
)
from synthkit.plugins import build_plugins
from synthkit.testing import check_sink, sample_batches
from tests.test_ingestion_db import SCENARIO, prepared


@pytest.mark.parametrize("name", ["csv", "jsonl"])
def test_the_file_sinks_conform(tmp_path, name):
    check_sink(build_plugins().sinks()[name], lambda run: FileTarget(tmp_path / f"out{run}.{name}"))


def test_the_stdout_sink_conforms():
    streams: dict[int, io.BytesIO] = {}

    def target(run: int) -> StreamTarget:
        return StreamTarget(streams.setdefault(run, io.BytesIO()))

    check_sink(build_plugins().sinks()["stdout"], target)
    assert streams[0].getvalue().count(b"\n") == 5000


@pytest.mark.services
def test_the_mqtt_sink_conforms_on_the_real_broker():
    prefix = f"conf-{uuid.uuid4().hex[:8]}-"
    report = check_sink(
        build_plugins().sinks()["mqtt"],
        lambda run: BrokerTarget(
            Endpoint("mqtt://127.0.0.1:1883"),  # made by hand: the sink reads its URL
            clients=("D-1", "D-2", "D-3", "D-4"),
            topic="synthkit-conformance/{device_id}",
            client_id_prefix=prefix,
        ),
    )
    assert report.outcomes["acknowledged"] == report.outcomes["emitted"] == 5000


def test_the_reference_db_sink_conforms(tmp_path):
    from synthkit_reservoir.engine import FleetRun, export_window
    from synthkit_reservoir.rows import RowBuilder
    from synthkit_reservoir.scenario import load_scenario

    scenario = tmp_path / "ingest_t.yaml"
    scenario.write_text(SCENARIO)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    prepared(url, scenario)
    plugins = build_plugins()
    loaded = load_scenario(str(scenario), plugins)
    window, steps = export_window(loaded, 1_770_000_000)

    def batches():
        run = FleetRun(loaded, loaded.devices, steps, window, [0] * len(loaded.devices))
        builder = RowBuilder(run)
        return [builder.batch(b) for b in run.blocks()]

    report = check_sink(
        plugins.sinks()["reference_db"],
        lambda run: IngestTarget(url, commit_rows=500),
        batches=batches,
    )
    assert dict(report.outcomes) == {"stored:NEW": sum(b.n for b in batches())}


def test_the_kit_catches_a_sink_that_leaves_half_a_file(tmp_path):
    class Sloppy(FileSink):
        def __init__(self, target, options):
            self.path = Path(target.path)

        def open(self, columns):
            self.fh = open(self.path, "wb")  # the breach under test

        def write(self, batch):
            self.fh.write(b"x" * batch.n)

        def close(self):
            self.fh.close()
            return SinkReport("sloppy", os.path.getsize(self.path))

        def abort(self):
            self.fh.close()

    with pytest.raises(AssertionError, match="abort\\(\\) left"):
        check_sink(SinkSpec("sloppy", Sloppy), lambda run: FileTarget(tmp_path / f"s{run}"))


def test_the_kit_catches_a_report_that_miscounts(tmp_path):
    class Miscounting(FileSink):
        def __init__(self, target, options):
            self.target = target

        def open(self, columns):
            self.file = self.target.atomic_file()

        def write(self, batch):
            self.file.write(b"row\n" * batch.n)

        def close(self):
            self.file.commit()
            return SinkReport("miscounting", 1)

        def abort(self):
            self.file.abort()

    with pytest.raises(AssertionError, match="reported 1 records, was handed 5000"):
        check_sink(
            SinkSpec("miscounting", Miscounting), lambda run: FileTarget(tmp_path / f"m{run}")
        )


def test_sample_batches_hold_every_value_type():
    kinds = {c.value_type for b in sample_batches(300) for c in b.columns}
    assert kinds == {"int", "float", "bool", "text", "timestamp", "enum"}
