"""The device-model contract (issue 12): a model names its family and one of that family's
modes, declares the columns it emits, and its extra columns reach the output. Each test
is one of the issue's findings: before, a new mode was `internal error: ValueError:
tuple.index(x)`, an archetype's mode was not checked against its model's, an archetype on
the telematics driver validated and then crashed on export, extra columns vanished, and a
model without raw readings was a KeyError."""

from __future__ import annotations

import csv
import types
from pathlib import Path

import numpy as np
from synthkit_reservoir.models.stationary.params import StationaryTankParams
from synthkit_reservoir.models.stationary.plugin import COLUMNS as TANK_COLUMNS

from synthkit import hookimpl
from synthkit.plugins import build_plugins
from synthkit.records import Archetype, DeviceModel, FieldSpec
from synthkit.testing import run_cli

END = "2026-02-12T10:00:00Z"
SALINITY = FieldSpec("salinity_ppm", "decimal", 2)
PUMPS = FieldSpec("pump_cycles", "int")


class _SaltyTank:
    """The stationary tank plus two columns of its own (or, with ``drop``, minus one)."""

    def __init__(self, devices, seed, step_seconds, drop=None, undeclared=False):
        from synthkit_reservoir.models.stationary.model import StationaryFleet

        self.inner = StationaryFleet(devices, seed, step_seconds)
        self.labels, self.max_samples = getattr(self.inner, "labels", {}), self.inner.max_samples
        self.drop, self.undeclared = drop, undeclared

    def emit(self, block):
        out = self.inner.emit(block)
        out["salinity_ppm"] = 300.0 + out["level_pct"]
        out["pump_cycles"] = block.row_tick % 7
        if self.undeclared:
            out["turbidity"] = np.zeros(block.rows)
        if self.drop:
            del out[self.drop]
        return out


def _plugin(**model: object) -> types.ModuleType:
    """A plugin module registering one model and one archetype on it."""
    mode = model.pop("archetype_mode", None)
    spec = DeviceModel(
        **{
            "name": "salty_tank",
            "mode": "STATIONARY",
            "family": "reservoir",
            "factory": _SaltyTank,
            "parameters": StationaryTankParams,
            "columns": (*TANK_COLUMNS, SALINITY, PUMPS),
            **model,
        }
    )
    module = types.ModuleType("salty_plugin")
    module.synthkit_register_device_models = hookimpl(lambda: [spec])
    module.synthkit_register_archetypes = hookimpl(
        lambda: [Archetype("salty", mode or spec.mode, spec.name, defaults={})]
    )
    return module


def _plugins(module: types.ModuleType):
    plugins = build_plugins()
    plugins.register(module, "salty_plugin")
    return plugins


def _scenario(tmp_path: Path, archetype: str = "salty") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(
        "scenario_id: s\nseed: 7\nbootstrap: {days: 1, step_minutes: 60}\ndevices:\n"
        f"  - {{device_id: SALT-1, archetype: {archetype}}}\n"
        "  - {device_id: PLAIN-1, archetype: stationary_archetype_a}\n"
    )
    return path


def _export(tmp_path: Path, plugins, scenario: Path):
    return run_cli(
        [
            "--scenario",
            str(scenario),
            "--state-file",
            str(tmp_path / "st.json"),
            "export-csv",
            "--run-id",
            "r",
            "--end-at",
            END,
            "--output-root",
            str(tmp_path / "out"),
        ],
        plugins,
    )


def test_a_models_extra_columns_reach_the_export_after_the_layout(tmp_path):
    res = _export(tmp_path, _plugins(_plugin()), _scenario(tmp_path))
    assert res.exit_code == 0, res.stderr
    with open(tmp_path / "out" / "s" / "r" / "telemetry_rows.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    assert header[-2:] == ["salinity_ppm", "pump_cycles"]
    salty = [r for r in rows if r["device_id"] == "SALT-1"]
    plain = [r for r in rows if r["device_id"] == "PLAIN-1"]
    assert salty and plain
    for r in salty:
        assert float(r["salinity_ppm"]) == round(300.0 + float(r["level_pct"]), 2)
        assert 0 <= int(r["pump_cycles"]) < 7
    assert all(
        r["salinity_ppm"] == "" and r["pump_cycles"] == "" for r in plain
    )  # absent, not 0 or -1


def test_without_extra_columns_the_export_keeps_the_layout(tmp_path):
    plain = tmp_path / "plain.yaml"
    plain.write_text(
        "scenario_id: s\nseed: 7\nbootstrap: {days: 1, step_minutes: 60}\ndevices:\n"
        "  - {device_id: PLAIN-1, archetype: stationary_archetype_a}\n"
    )
    assert _export(tmp_path, build_plugins(), plain).exit_code == 0
    header = (tmp_path / "out" / "s" / "r" / "telemetry_rows.csv").read_text().splitlines()[0]
    assert header.endswith(",latitude,longitude,speed_kmh,point_id")


def test_a_model_with_a_mode_its_family_lacks_is_left_out_naming_it(tmp_path):
    res = _export(tmp_path, _plugins(_plugin(mode="FLOATING")), _scenario(tmp_path))
    assert res.exit_code == 2, res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    assert (
        "device model 'salty_tank': mode 'FLOATING' is not one of family 'reservoir'" in res.stderr
    )
    assert not (tmp_path / "out").exists()


def test_a_model_of_an_uninstalled_family_is_left_out_naming_it():
    plugins = _plugins(_plugin(family="weather"))
    assert "salty_tank" not in plugins.device_models()
    assert any("family 'weather' is not installed" in f.error for f in plugins.failures)


def test_an_archetype_whose_mode_is_not_its_models_is_refused_at_validate(tmp_path):
    plugins = _plugins(_plugin(archetype_mode="MOBILE"))
    res = run_cli(["--scenario", str(_scenario(tmp_path)), "validate"], plugins)
    assert res.exit_code == 2
    assert (
        "archetype 'salty' ((local)) is MOBILE, but its device model 'salty_tank' is STATIONARY"
        in res.stderr
    )


def test_an_archetype_on_the_telematics_driver_is_refused_at_validate_and_export(tmp_path):
    module = types.ModuleType("driver_archetype")
    module.synthkit_register_archetypes = hookimpl(
        lambda: [Archetype("driverish", "DRIVER", "telematics_driver")]
    )
    plugins = build_plugins()
    plugins.register(module, "driver_archetype")
    scenario = _scenario(tmp_path, archetype="driverish")
    for args in (
        ["validate"],
        ["export-csv", "--end-at", END, "--output-root", str(tmp_path / "out")],
    ):
        res = run_cli(
            ["--scenario", str(scenario), "--state-file", str(tmp_path / "st.json"), *args], plugins
        )
        assert res.exit_code == 2, res.stderr
        assert (
            "needs device model 'telematics_driver', which is a telematics model, not a reservoir one"
            in res.stderr
        )
        assert "pick a reservoir archetype" in res.stderr
    assert not (tmp_path / "out").exists()


def test_a_model_that_lacks_a_column_the_payload_needs_is_refused_at_validate(tmp_path):
    columns = tuple(c for c in (*TANK_COLUMNS, SALINITY, PUMPS) if c.name != "raw_readings")
    plugins = _plugins(
        _plugin(columns=columns, factory=lambda *a: _SaltyTank(*a, drop="raw_readings"))
    )
    res = run_cli(["--scenario", str(_scenario(tmp_path)), "validate"], plugins)
    assert res.exit_code == 2
    assert "does not declare the column(s) the reservoir payload needs: raw_readings" in res.stderr
    assert "KeyError" not in res.stderr


def test_a_model_emitting_a_column_it_did_not_declare_fails_naming_it(tmp_path):
    plugins = _plugins(_plugin(factory=lambda *a: _SaltyTank(*a, undeclared=True)))
    res = _export(tmp_path, plugins, _scenario(tmp_path))
    assert res.exit_code == 2
    assert "device model 'salty_tank' emitted undeclared column(s) turbidity" in res.stderr
    assert not (tmp_path / "out" / "s" / "r").exists()  # nothing half-written
