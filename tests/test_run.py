"""A run is one object with one owner (synthkit.run): the command starts it, its delivery
opens the sink behind the transforms, and the command ends it with its summary. Nothing else
ends a run: printing a summary only prints, and no run state outlives its object."""

from __future__ import annotations

import types

import pytest

from synthkit import hookimpl
from synthkit.conformance import sample_batches
from synthkit.console import emit_json
from synthkit.contracts import FileTarget
from synthkit.engine import deliver
from synthkit.errors import IncompleteRun
from synthkit.plugins import build_plugins
from synthkit.run import Run, RunPlan


def _watched() -> tuple[object, list[tuple[str, object]]]:
    events: list[tuple[str, object]] = []
    module = types.ModuleType("watcher")
    module.synthkit_run_started = hookimpl(lambda plan: events.append(("started", plan.command)))
    module.synthkit_run_finished = hookimpl(
        lambda plan, summary: events.append(("finished", dict(summary)))
    )
    module.synthkit_run_failed = hookimpl(
        lambda plan, error: events.append(("failed", type(error).__name__))
    )
    plugins = build_plugins()
    plugins.register(module, "watcher")
    return plugins, events


def _delivery(run: Run, path):
    spec = run.plugins.sinks()["jsonl"]
    return run.open_sink(spec, FileTarget(path), (), RunPlan("test", seed=7))


def test_the_summary_ends_the_run_and_printing_alone_ends_nothing(tmp_path, capsys):
    plugins, events = _watched()
    with Run(plugins, "test") as run:
        delivery = _delivery(run, tmp_path / "out.jsonl")
        batches = sample_batches(rows=300)
        report = deliver(batches, delivery, batches[0].names)
        emit_json({"printed": "only"})  # a command's JSON: printed, nothing fired
        assert events == [("started", "test")]
        run.finish({"rows": report.records}, [])
    assert events == [
        ("started", "test"),
        ("finished", {"rows": 300, "warnings": [], "complete": True}),
    ]
    assert '"rows": 300' in capsys.readouterr().out
    assert delivery.columns == tuple(batches[0].names)  # what the sink was opened with


def test_a_failure_in_the_run_aborts_its_sink_and_fires_failed(tmp_path):
    plugins, events = _watched()
    out = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError, match="generator broke"), Run(plugins, "test") as run:
        delivery = _delivery(run, out)
        batches = sample_batches(rows=300)
        delivery.open(batches[0].names)
        delivery.write(batches[0])
        raise RuntimeError("generator broke")
    assert not out.exists() and list(tmp_path.iterdir()) == []  # aborted: nothing half-written
    assert events == [("started", "test"), ("failed", "RuntimeError")]


def test_a_run_that_writes_no_summary_finishes_with_an_empty_one(tmp_path):
    plugins, events = _watched()
    with Run(plugins, "test") as run:
        batches = sample_batches(rows=30)
        deliver(batches, _delivery(run, tmp_path / "out.jsonl"), batches[0].names)
    assert events == [("started", "test"), ("finished", {})]


def test_problems_make_the_run_incomplete_after_its_summary(tmp_path, capsys):
    plugins, events = _watched()
    with pytest.raises(IncompleteRun, match="2 rows refused"), Run(plugins, "test") as run:
        batches = sample_batches(rows=30)
        deliver(batches, _delivery(run, tmp_path / "out.jsonl"), batches[0].names)
        run.finish({"rows": 30}, ["2 rows refused"])
    finished = [e for e in events if e[0] != "started"]
    assert finished == [
        ("finished", {"rows": 30, "warnings": ["2 rows refused"], "complete": False})
    ]
    assert '"complete": false' in capsys.readouterr().out


def test_a_run_that_never_opened_its_sink_fires_nothing(tmp_path):
    plugins, events = _watched()
    with pytest.raises(ValueError), Run(plugins, "test") as run:
        _delivery(run, tmp_path / "out.jsonl")
        raise ValueError("refused before the first batch")
    assert events == []
