"""One test per hook specification, each registering a small test plugin in a fresh manager."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import numpy as np
import pytest
import typer

from synthkit import hookimpl, hookspecs
from synthkit.batch import Batch
from synthkit.brokers import Endpoint
from synthkit.contracts import FileSink
from synthkit.engine import deliver
from synthkit.errors import PluginError
from synthkit.events import EventType
from synthkit.plugins import KINDS, build_plugins
from synthkit.records import (
    Archetype,
    Command,
    DeviceModel,
    Family,
    FieldSpec,
    Finding,
    PreflightCheck,
    SinkReport,
    SinkSpec,
)

ROOT = Path(__file__).resolve().parents[1]


def _builtin_plus(plugin: object, name: str):
    plugins = build_plugins()
    plugins.register(plugin, name, distribution="test-dist", version="9.9")
    return plugins


def test_synthkit_register_event_types(run_synthkit, tmp_path):
    class Horn:
        @hookimpl
        def synthkit_register_event_types(self):
            def generate(ctx):
                return {"horn_db": ctx.uniform(0, 90, 120)}

            return [
                EventType("horn", 1.0, (FieldSpec("horn_db", "decimal", 1),), generate=generate)
            ]

    plugins = _builtin_plus(Horn(), "horn")
    out = tmp_path / "e.jsonl"
    res = run_synthkit(
        ["telematics", "generate", "--events", "500", "--weight", "horn=5", "--out", str(out)],
        plugins=plugins,
    )
    assert res.exit_code == 0, res.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    horns = [r for r in rows if r["event_type"] == "horn"]
    assert len(horns) > 100 and all(90 <= r["horn_db"] <= 120 for r in horns)
    assert all("horn_db" not in r for r in rows if r["event_type"] != "horn")


def test_synthkit_register_sinks(run_synthkit, tmp_path):
    received: list[int] = []

    class Counting(FileSink):
        def open(self, columns):
            received.append(-len(columns))

        def write(self, batch: Batch):
            received.append(batch.n)

        def close(self):
            return SinkReport("counting", sum(x for x in received if x > 0), target="memory")

        def abort(self):
            received.append(0)

    class CountingPlugin:
        @hookimpl
        def synthkit_register_sinks(self):
            return [
                SinkSpec("counting", lambda target, options: Counting(), extensions=(".count",))
            ]

    plugins = _builtin_plus(CountingPlugin(), "counting")
    res = run_synthkit(
        ["telematics", "generate", "--events", "1234", "--out", str(tmp_path / "x.count")],
        plugins=plugins,
    )
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["format"] == "counting"
    assert received[0] < 0 and sum(x for x in received if x > 0) == 1234


def test_synthkit_register_checks(run_synthkit, tmp_path):
    class NoMondays:
        @hookimpl
        def synthkit_register_checks(self):
            def run(path, context):
                yield Finding("no_mondays", "error", "not on a Monday", "try tomorrow", str(path))

            return [PreflightCheck("no_mondays", ("output",), run)]

    plugins = _builtin_plus(NoMondays(), "no_mondays")
    out = tmp_path / "e.jsonl"
    res = run_synthkit(["telematics", "generate", "--out", str(out)], plugins=plugins)
    assert res.exit_code == 2
    assert "not on a Monday (try tomorrow)" in res.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_synthkit_register_commands(run_synthkit):
    app = typer.Typer()

    @app.command()
    def hello(name: str = "fleet") -> None:
        typer.echo(f"hello {name}")

    class Hello:
        @hookimpl
        def synthkit_register_commands(self):
            return [Command("greet", app, help="Say hello.")]

    plugins = _builtin_plus(Hello(), "greet")
    res = run_synthkit(["greet", "hello", "--name", "trucks"], plugins=plugins)
    assert res.exit_code == 0 and res.stdout.strip() == "hello trucks"

    class Thief:
        @hookimpl
        def synthkit_register_commands(self):
            return [Command("plugins", app)]

    res = run_synthkit(["plugins"], plugins=_builtin_plus(Thief(), "thief"))
    assert res.exit_code == 2
    assert "would replace synthkit's own 'plugins' command" in res.stderr
    assert "test-dist 9.9" in res.stderr


def test_synthkit_register_archetypes(run_synthkit):
    class Tanks:
        @hookimpl
        def synthkit_register_archetypes(self):
            return [
                Archetype(
                    "Big-Tank",
                    "STATIONARY",
                    "tank",
                    {"capacity_liters": 5000},
                    ("higher autonomy_days_est",),
                )
            ]

    plugins = _builtin_plus(Tanks(), "tanks")
    assert plugins.archetypes()["big_tank"].defaults == {"capacity_liters": 5000}
    listed = json.loads(run_synthkit(["plugins", "--json"], plugins=plugins).stdout)
    entry = next(p for p in listed["plugins"] if p["name"] == "tanks")
    assert entry["registers"] == {"archetypes": ["big_tank"]}
    assert entry["distribution"] == "test-dist"


def test_synthkit_register_device_models():
    class Model:
        @hookimpl
        def synthkit_register_device_models(self):
            return [
                DeviceModel(
                    "tank",
                    "STATIONARY",
                    factory=dict,
                    parameters={"capacity": 1},
                    family="reservoir",
                )
            ]

    plugins = _builtin_plus(Model(), "model")
    models = plugins.device_models()
    assert models["tank"].factory(a=1) == {"a": 1}
    assert "telematics_driver" in models  # the built-in one is still there
    assert set(plugins.device_models(family="reservoir")) == {
        "tank",
        "stationary_tank",
        "mobile_truck",
    }


def test_synthkit_register_families():
    class Weather:
        @hookimpl
        def synthkit_register_families(self):
            return [Family("weather", ("FIXED", "BUOY"))]

        @hookimpl
        def synthkit_register_device_models(self):
            return [DeviceModel("buoy", "BUOY", factory=dict, family="weather")]

    plugins = _builtin_plus(Weather(), "weather")
    assert set(plugins.families()) == {"reservoir", "telematics", "weather"}
    assert set(plugins.device_models(family="weather")) == {"buoy"}
    with pytest.raises(PluginError, match="modes must be non-empty upper-case names"):
        Family("bad", ("fixed",))


def test_synthkit_register_transforms(run_synthkit, tmp_path):
    from synthkit.api import Batch, Transform, TransformSpec

    class Halve(Transform):  # every other row
        def __init__(self, options, seed):
            self.seed = seed

        def apply(self, batch: Batch) -> Batch:
            return Batch([c.take(slice(0, None, 2)) for c in batch.columns])

    class HalvePlugin:
        @hookimpl
        def synthkit_register_transforms(self):
            return [TransformSpec("halve", Halve)]

    plugins = _builtin_plus(HalvePlugin(), "halve")
    res = run_synthkit(
        [
            "--transform",
            "halve",
            "telematics",
            "generate",
            "--events",
            "1000",
            "--out",
            str(tmp_path / "x.jsonl"),
        ],
        plugins=plugins,
    )
    assert res.exit_code == 0, res.stderr
    assert len((tmp_path / "x.jsonl").read_text().splitlines()) < 1000


def test_synthkit_register_fault_types(run_synthkit, tmp_path):
    """A plugin's fault type is named in a scenario, its parameters checked by its model, and
    two plugins registering one name is refused naming both."""
    from synthkit.api import Fault, FaultParams, FaultType

    class Zeroed(Fault):  # every hit record's temperature reads 0
        def __init__(self, params):
            self.params = params

        def apply(self, batch, hit, draws):
            from dataclasses import replace

            column = batch.column("temperature_c")
            values = np.where(hit.rows, 0.0, column.values)
            changed = hit.rows & (column.values != 0)
            return Batch(
                [replace(c, values=values) if c is column else c for c in batch.columns]
            ), changed

    class Params(FaultParams):
        strength: int = 1

    class ZeroPlugin:
        @hookimpl
        def synthkit_register_fault_types(self):
            return [FaultType("zeroed", Zeroed, Params, group="sensor")]

    plugins = _builtin_plus(ZeroPlugin(), "zero")
    assert plugins.fault_types()["zeroed"].params is Params
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "scenario_id: z\nbootstrap: {days: 1}\ndevices:\n"
        "  - {device_id: Z-1, archetype: stationary_archetype_a}\n"
        "faults:\n  - {type: zeroed, strenght: 2}\n"
    )
    res = run_synthkit(["--scenario", str(scenario), "validate"], plugins=plugins)
    assert res.exit_code == 2 and "did you mean 'strength'?" in res.stderr
    scenario.write_text(scenario.read_text().replace("strenght", "strength"))
    res = run_synthkit(
        ["--scenario", str(scenario), "--state-file", str(tmp_path / "st.json"), "export-csv",
         "--output-root", str(tmp_path / "out"), "--end-at", "2026-01-02T00:00:00Z"],
        plugins=plugins,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    out = Path(json.loads(res.stdout)["csv"])
    temperatures = {line.split(",")[19] for line in out.read_text().splitlines()[1:]}
    assert temperatures == {"0.0"}
    twice = _builtin_plus(ZeroPlugin(), "zero")
    twice.register(ZeroPlugin(), "zero-again", distribution="other-dist", version="1")
    with pytest.raises(PluginError, match="zeroed"):
        twice.fault_types()


def test_synthkit_register_sources():
    from synthkit.api import Source, SourceSpec, SourceTarget, message_batch

    class Canned(Source):
        def __init__(self, target, options):
            self.acked: list[int] = []

        def open(self): ...

        def batches(self, stop):
            yield message_batch(["d/A/t", "d/B/t"], ["A", "B"], [b"{}", b"x"], 1_767_225_600)

        def delivered(self, batch):
            self.acked.append(batch.n)

        def close(self):
            return {"reconnects": 0, "warnings": []}

    class CannedPlugin:
        @hookimpl
        def synthkit_register_sources(self):
            return [SourceSpec("canned", Canned)]

    plugins = _builtin_plus(CannedPlugin(), "canned")
    source = plugins.open_source(
        "canned", SourceTarget(Endpoint("x://h:1"), "d/+/t", "me"), needed_by="test"
    )
    batch = next(source.batches(None))
    assert [r["client"] for r in batch.rows()] == ["A", "B"] and batch.column(
        "payload"
    ).value_type == "bytes"
    with pytest.raises(PluginError, match="unknown source 'nope'"):
        plugins.open_source(
            "nope", SourceTarget(Endpoint("x://h:1"), "d/+/t", "me"), needed_by="test"
        )


def _life_cycle(tmp_path, run_synthkit, args):
    seen: list[tuple[str, object]] = []

    class Watcher:
        @hookimpl
        def synthkit_run_started(self, plan):
            seen.append(("started", plan.command))

        @hookimpl
        def synthkit_run_finished(self, plan, summary):
            seen.append(("finished", summary["command"]))

        @hookimpl
        def synthkit_run_failed(self, plan, error):
            seen.append(("failed", type(error).__name__))

    res = run_synthkit(args, plugins=_builtin_plus(Watcher(), "watcher"))
    return res, seen


def test_synthkit_run_started(run_synthkit, tmp_path):
    res, seen = _life_cycle(
        tmp_path,
        run_synthkit,
        ["telematics", "generate", "--events", "10", "--out", str(tmp_path / "a.jsonl")],
    )
    assert res.exit_code == 0 and seen[0] == ("started", "telematics generate")


def test_synthkit_run_finished(run_synthkit, tmp_path):
    res, seen = _life_cycle(
        tmp_path,
        run_synthkit,
        ["telematics", "generate", "--events", "10", "--out", str(tmp_path / "a.jsonl")],
    )
    assert res.exit_code == 0 and seen == [
        ("started", "telematics generate"),
        ("finished", "telematics generate"),
    ]


def test_synthkit_run_failed(run_synthkit, tmp_path):
    res, seen = _life_cycle(
        tmp_path, run_synthkit, ["telematics", "publish", "--events", "3", "--port", "9"]
    )
    assert res.exit_code == 2 and seen == [
        ("started", "telematics publish"),
        ("failed", "ConfigError"),
    ]


def test_every_hook_has_a_test_named_after_it():
    specs = {
        n for n, _ in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("synthkit_")
    }
    tests = {n.removeprefix("test_") for n in globals() if n.startswith("test_synthkit_")}
    assert specs == tests
    assert {h for h, _ in KINDS.values()} == {
        s for s in specs if s.startswith("synthkit_register_")
    }


def test_every_hook_is_documented_with_its_signature():
    docs = (ROOT / "docs" / "plugins.md").read_text()
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("synthkit_"):
            signature = f"{name}{inspect.signature(fn)}".replace("'", "")
            assert signature in docs, f"docs/plugins.md lacks the signature {signature}"


def test_record_names_are_normalised_and_validated():
    class Bad:
        @hookimpl
        def synthkit_register_sinks(self):
            return [SinkSpec("no spaces allowed", lambda t: None)]

    plugins = build_plugins(entry_points=False)
    plugins.register(Bad(), "bad")
    with pytest.raises(PluginError, match="invalid registration name"):
        plugins.sinks()


def test_registration_hook_returning_wrong_type_is_reported():
    class Wrong:
        @hookimpl
        def synthkit_register_event_types(self):
            return [{"name": "x"}]

    plugins = build_plugins(entry_points=False)
    plugins.register(Wrong(), "wrong", distribution="wrong-dist", version="1.0")
    assert plugins.event_types() == {}  # left out, and reported
    [failure] = plugins.failures
    assert failure.entry_point == "wrong" and failure.distribution == "wrong-dist"
    assert "returned dict, expected EventType" in failure.error


def test_registration_hook_returning_wrong_type_is_fatal_when_strict(monkeypatch):
    class Wrong:
        @hookimpl
        def synthkit_register_event_types(self):
            return [{"name": "x"}]

    monkeypatch.setenv("SYNTHKIT_STRICT_PLUGINS", "1")
    plugins = build_plugins(entry_points=False)
    plugins.register(Wrong(), "wrong", distribution="wrong-dist", version="1.0")
    with pytest.raises(PluginError, match=r"plugin 'wrong'.*wrong-dist 1.0.*returned dict"):
        plugins.event_types()


def test_registration_hooks_go_through_pm_hook_with_wrappers_and_attribution(monkeypatch):
    """Registration hooks are called the pluggy way (``pm.hook``): a plugin's wrapper sees
    the call, the first registered plugin owns a name, and a duplicate names both plugins."""
    seen = []

    class First:
        @hookimpl
        def synthkit_register_event_types(self):
            return [EventType("shared", 1.0, attributes=lambda rng: {})]

    class Second:
        @hookimpl(tryfirst=True)
        def synthkit_register_event_types(self):
            return [EventType("own", 1.0, attributes=lambda rng: {})]

    class Watcher:
        @hookimpl(wrapper=True)
        def synthkit_register_event_types(self):
            result = yield
            seen.append(sorted(r.plugin for r in result))
            return result

    plugins = build_plugins(entry_points=False)
    for name, plugin in (("first", First()), ("second", Second()), ("watcher", Watcher())):
        plugins.register(plugin, name, distribution=f"{name}-dist", version="1")
    assert list(plugins.event_types()) == ["shared", "own"]  # registration order
    assert seen == [["first", "second"]]
    assert plugins.source_of("event_types", "own") == "second-dist 1"

    class Twin:
        @hookimpl
        def synthkit_register_event_types(self):
            return [EventType("shared", 1.0, attributes=lambda rng: {})]

    plugins.register(Twin(), "twin", distribution="twin-dist", version="2")
    with pytest.raises(
        PluginError,
        match=r"'shared' is registered twice: by plugin 'first' from first-dist 1 and by plugin 'twin' from twin-dist 2",
    ):
        plugins.event_types()


def test_a_raising_registration_hook_leaves_out_its_own_plugin_only():
    class Fine:
        @hookimpl
        def synthkit_register_event_types(self):
            return [EventType("fine", 1.0, attributes=lambda rng: {})]

    class Broken:
        @hookimpl
        def synthkit_register_event_types(self):
            raise RuntimeError("boom")

    plugins = build_plugins(entry_points=False)
    plugins.register(Fine(), "fine")
    plugins.register(Broken(), "broken", distribution="broken-dist", version="3")
    assert list(plugins.event_types()) == ["fine"]
    [failure] = plugins.failures
    assert (failure.entry_point, failure.distribution) == ("broken", "broken-dist")
    assert failure.error == "synthkit_register_event_types raised RuntimeError: boom"


def test_failing_sink_aborts_and_reraises():
    aborted = []

    class Broken:
        def open(self, columns):
            pass

        def write(self, batch):
            raise OSError("disk full")

        def close(self):
            raise AssertionError("close must not be called after a failure")

        def abort(self):
            aborted.append(True)

    from synthkit.batch import Column

    batches = [Batch([Column("a", "int", np.arange(3))]) for _ in range(5)]
    with pytest.raises(OSError, match="disk full"):
        deliver(iter(batches), Broken(), ("a",))
    assert aborted == [True]


def test_hook_docstrings_state_contract():
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("synthkit_"):
            doc = fn.__doc__ or ""
            assert re.search(r"Fires:", doc) and re.search(r"Returns:", doc), name


@pytest.mark.parametrize("name", ["speed_mph", "seq", "weather"])
def test_an_event_type_declaring_a_field_every_event_may_carry_is_refused(
    run_synthkit, tmp_path, name
):
    class Rainy:
        @hookimpl
        def synthkit_register_event_types(self):
            return [EventType("rainy", 1.0, (FieldSpec(name, "int"),), generate=lambda ctx: {})]

    out = tmp_path / "e.jsonl"
    res = run_synthkit(
        ["telematics", "generate", "--events", "50", "--out", str(out)],
        plugins=_builtin_plus(Rainy(), "rainy"),
    )
    assert res.exit_code == 2 and f"'{name}'" in res.stderr and "another name" in res.stderr
    assert not out.exists()
