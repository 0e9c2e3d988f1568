"""A transform's whole life (begin, apply, taken, end) and its notes: what it knows that is
not data (ground-truth labels, counters) is written with the run's outputs, whole or not at
all, and names only records the sink took."""

from __future__ import annotations

import contextlib
import json
import re
import types

import numpy as np
import pytest

from synthkit import hookimpl
from synthkit.batch import Batch
from synthkit.conformance import sample_batches
from synthkit.contracts import FileSink, FileTarget, StreamTarget, Transform
from synthkit.engine import deliver
from synthkit.errors import ConfigError, DeliveryStopped, PluginError
from synthkit.files import TEMP_SUFFIX
from synthkit.notes import Notes
from synthkit.plugins import build_plugins
from synthkit.records import SinkReport, SinkSpec, TransformSpec
from synthkit.run import Run, RunPlan


class Tagger(Transform):
    """Labels every row it passes on; keeps a log of its life."""

    note_tables = ("labels",)

    def __init__(self, options, seed) -> None:
        self.life: list[str] = []

    def begin(self, plan) -> None:
        self.life.append("begin")

    def apply(self, batch: Batch) -> Batch:
        self.life.append(f"apply {batch.n}")
        return batch

    def taken(self, batch: Batch, notes: Notes) -> None:
        self.life.append(f"taken {batch.n}")
        notes.add("labels", ({"seq": int(s)} for s in batch.column("seq").values))
        notes.count("rows", batch.n)

    def end(self, notes: Notes) -> None:
        self.life.append("end")
        notes.count("ended")


class Refusing(FileSink):
    """A file sink whose endpoint gives up at its ``refuse``-th batch (DeliveryStopped: what it
    took stays, the run closes) or fails (``fail``: the run aborts)."""

    def __init__(self, target: FileTarget, options, refuse: int = 0, fail: int = 0) -> None:
        self.target, self.refuse, self.fail = target, refuse, fail
        self.batches = self.records = 0

    def open(self, columns) -> None:
        self.file = self.target.atomic_file()

    def write(self, batch: Batch) -> None:
        self.batches += 1
        if self.batches == self.refuse:
            raise DeliveryStopped("the endpoint gave up")
        if self.batches == self.fail:
            raise OSError("disk gone")
        self.file.write(b"%d\n" % batch.n)
        self.records += batch.n

    def close(self) -> SinkReport:
        self.file.commit()
        return SinkReport("refusing", records=self.records, bytes=self.file.bytes)

    def abort(self) -> None:
        self.file.abort()


def _plugins(**sink_args):
    made: list[Tagger] = []

    def tagger(options, seed):
        made.append(Tagger(options, seed))
        return made[-1]

    module = types.ModuleType("notes_test")
    module.synthkit_register_transforms = hookimpl(lambda: [TransformSpec("tagger", tagger)])
    module.synthkit_register_sinks = hookimpl(
        lambda: [SinkSpec("refusing", lambda t, o: Refusing(t, o, **sink_args), kind="file")]
    )
    plugins = build_plugins()
    plugins.register(module, "notes_test")
    return plugins, made


@contextlib.contextmanager
def _run(plugins, target, sink="jsonl", notes_dir=None):
    with Run(plugins, "test", transforms=("tagger",), notes_dir=notes_dir) as run:
        yield run, run.open_sink(plugins.sinks()[sink], target, (), RunPlan("test", seed=3))


def _labels(path) -> list[int]:
    return [json.loads(line)["seq"] for line in path.read_text().splitlines()]


def test_notes_appear_beside_the_output_with_it_and_name_every_record_taken(tmp_path, capsys):
    plugins, made = _plugins()
    out = tmp_path / "out.jsonl"
    batches = sample_batches(rows=300)
    with _run(plugins, FileTarget(out)) as (run, delivery):
        deliver(batches, delivery, batches[0].names)
        run.finish({"rows": 300})
    assert made[0].life == ["begin", "apply 100", "taken 100"] * 1 + [
        "apply 100",
        "taken 100",
        "apply 100",
        "taken 100",
        "end",
    ]
    assert _labels(tmp_path / "out.jsonl.labels.jsonl") == list(range(300))
    manifest = json.loads((tmp_path / "out.jsonl.notes.json").read_text())
    assert manifest == {
        "tagger": {
            "counters": {"ended": 1, "rows": 300},
            "tables": {"labels": {"file": "out.jsonl.labels.jsonl", "rows": 300}},
        }
    }
    summary = json.loads(capsys.readouterr().out)
    assert summary["notes"] == [{"manifest": "out.jsonl.notes.json", "transforms": manifest}]


def test_a_failed_run_leaves_no_notes_and_no_temp_file(tmp_path):
    plugins, made = _plugins(fail=2)
    batches = sample_batches(rows=300)
    with (
        pytest.raises(OSError, match="disk gone"),
        _run(plugins, FileTarget(tmp_path / "out.txt"), sink="refusing") as (run, delivery),
    ):
        deliver(batches, delivery, batches[0].names)
    assert list(tmp_path.iterdir()) == []  # neither output, nor labels, nor a temp file
    assert "end" not in made[0].life  # a failed run's transforms are never ended


def test_a_record_the_sink_refused_is_never_labelled(tmp_path):
    """The endpoint gives up at the second batch: the run closes with what it took, and the
    labels name the first batch's records only."""
    plugins, made = _plugins(refuse=2)
    batches = sample_batches(rows=300)
    with _run(plugins, FileTarget(tmp_path / "out.txt"), sink="refusing") as (run, delivery):
        deliver(batches, delivery, batches[0].names)
    assert _labels(tmp_path / "out.txt.labels.jsonl") == list(range(100))
    assert made[0].life[-2:] == ["apply 100", "end"]  # applied to batch 2, never told taken
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]


def test_a_sink_with_no_file_needs_a_notes_dir_before_anything_is_written(tmp_path):
    plugins, _ = _plugins()
    stream = (tmp_path / "stream.jsonl").open("wb")
    batches = sample_batches(rows=30)
    with (
        pytest.raises(ConfigError, match="--notes-dir") as err,
        _run(plugins, StreamTarget(stream), sink="stdout") as (run, delivery),
    ):
        deliver(batches, delivery, batches[0].names)
    assert "'tagger'" in str(err.value)
    stream.close()
    assert (tmp_path / "stream.jsonl").read_bytes() == b""
    notes = tmp_path / "notes" / "new"  # made when the run needs it
    for _ in range(2):  # a second run into the same directory keeps the first one's notes
        with (
            (tmp_path / "stream.jsonl").open("wb") as stream,
            _run(plugins, StreamTarget(stream), sink="stdout", notes_dir=notes) as (run, delivery),
        ):
            deliver(batches, delivery, batches[0].names)
    first, second = sorted(notes.glob("*.notes.json"), key=lambda p: len(p.name))
    assert re.fullmatch(r"test-\d{8}T\d{6}Z(-2)?\.notes\.json", first.name)
    for manifest in (first, second):
        base = manifest.name.removesuffix(".notes.json")
        assert _labels(notes / f"{base}.labels.jsonl") == list(range(30))
    assert len(list(notes.iterdir())) == 4


def test_a_table_not_declared_is_refused_naming_the_transform(tmp_path):
    plugins, made = _plugins()
    batches = sample_batches(rows=30)
    with (
        pytest.raises(PluginError, match="'tagger' wrote notes to 'other'"),
        _run(plugins, FileTarget(tmp_path / "o.jsonl")) as (run, delivery),
    ):
        made[0].taken = lambda batch, notes: notes.add("other", [{"x": 1}])
        deliver(batches, delivery, batches[0].names)
    assert list(tmp_path.iterdir()) == []


def test_batches_are_written_as_json_lines_by_the_encoder_and_numpy_values_are_plain(tmp_path):
    plugins, made = _plugins()
    batches = sample_batches(rows=30, parts=1)

    def taken(batch: Batch, notes: Notes) -> None:
        notes.add("labels", Batch([batch.column("seq"), batch.column("device_id")]))
        notes.add("labels", [{"seq": np.int64(99), "at": np.array([1, 2])}])

    with _run(plugins, FileTarget(tmp_path / "o.jsonl")) as (run, delivery):
        made[0].taken = taken
        deliver(batches, delivery, batches[0].names)
    lines = [json.loads(x) for x in (tmp_path / "o.jsonl.labels.jsonl").read_text().splitlines()]
    assert lines[0] == {
        "seq": 0,
        "device_id": batches[0]
        .column("device_id")
        .labels[batches[0].column("device_id").values[0]],
    }
    assert lines[-1] == {"seq": 99, "at": [1, 2]} and len(lines) == 31
