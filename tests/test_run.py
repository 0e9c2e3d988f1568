"""A run is one object with one owner (synthkit.run): the command starts it, its delivery
opens the sink behind the transforms, and the command ends it with its summary. Nothing else
ends a run: printing a summary only prints, and no run state outlives its object."""

from __future__ import annotations

import types

import pytest
import typer

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


def test_no_run_state_lives_in_a_process_global():
    """The plugin manager and the global options live on the invocation's root context
    (``plugins_of``, ``global_options``): no core module keeps a ContextVar or a cached
    process-wide manager for commands to reach around their arguments."""
    import ast
    from pathlib import Path

    core = Path(__file__).resolve().parents[1] / "synthkit"
    held = []
    for path in sorted(core.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "ContextVar":
                held.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Name) and node.id in ("get_plugins", "current_options"):
                held.append(f"{path.name}:{node.lineno} {node.id}")
    assert held == []


def test_an_app_built_for_a_manager_runs_its_commands_with_it():
    """typer's own runner, no synthkit.cli.run around it: the commands see the manager the
    app was built for, and one invocation's --db-url is not the next one's."""
    import json

    from typer.testing import CliRunner

    from synthkit.cli import build_app
    from synthkit.context import global_options, plugins_of

    plugins = build_plugins(entry_points=False)
    seen: list[tuple[object, str]] = []
    extra = typer.Typer()

    @extra.command("where")
    def where(ctx: typer.Context) -> None:
        seen.append((plugins_of(ctx), global_options(ctx).database()))

    module = types.ModuleType("probe")
    from synthkit.records import Command, SinkSpec

    module.synthkit_register_commands = hookimpl(lambda: [Command("probe", extra)])
    store = SinkSpec("store", object, kind="ingest", default_url="sqlite:///default.db")
    module.synthkit_register_sinks = hookimpl(lambda: [store])
    plugins.register(module, "probe")
    app, runner = build_app(plugins), CliRunner()
    listing = runner.invoke(app, ["plugins", "--json"])
    assert [p["name"] for p in json.loads(listing.stdout)["plugins"]] == ["probe"]
    assert runner.invoke(app, ["--db-url", "sqlite:///a.db", "probe", "where"]).exit_code == 0
    assert runner.invoke(app, ["probe", "where"], env={"SYNTHKIT_DB_URL": ""}).exit_code == 0
    assert seen[0] == (plugins, "sqlite:///a.db")
    assert seen[1] == (plugins, "sqlite:///default.db")  # the sink's default, not the last one's


def test_a_commands_database_is_its_flag_then_the_global_one_then_the_environment(monkeypatch):
    from synthkit_reservoir.database.urls import DEFAULT_URL

    from synthkit.context import GlobalOptions
    from synthkit.plugins import build_plugins

    monkeypatch.delenv("SYNTHKIT_DB_URL", raising=False)
    plugins = build_plugins()  # the default store is the one an installed ingest sink offers
    assert GlobalOptions(plugins=plugins).database() == DEFAULT_URL
    assert not GlobalOptions().names_database()
    monkeypatch.setenv("SYNTHKIT_DB_URL", "sqlite:///env.db")
    given = GlobalOptions(db_url="sqlite:///global.db")
    assert GlobalOptions().database() == "sqlite:///env.db" and GlobalOptions().names_database()
    assert given.database() == "sqlite:///global.db"
    assert given.database("sqlite:///flag.db") == "sqlite:///flag.db"
