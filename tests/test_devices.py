"""The core resolves every family's devices the same way (synthkit.devices): archetype ->
model -> parameters, groups expanded, each problem located at its entry's field, with "did
you mean" for a misspelt archetype or parameter. A cold-chain family with a mapping of
parameter defaults gets the same answers the reservoir's pydantic parameters get."""

from __future__ import annotations

import types

import pytest

from synthkit import hookimpl
from synthkit.devices import Declared, group_ids, resolve_devices
from synthkit.errors import PluginError
from synthkit.located import LocatedProblems, Problems
from synthkit.plugins import build_plugins
from synthkit.records import Archetype, DeviceModel, Family, FieldSpec
from synthkit.yamlfile import load_yaml

FLEET = """\
coldchain:
  - {archetype: reefer_truk}
  - {archetype: reefer_truck, parameter_overrides: {setpoint_cc: 4}}
  - {archetype: reefer_truck, id_pattern: "R-{n:,}", count: 3, first: 999}
  - {archetype: reefer_truck, device_id: R-1}
  - {archetype: reefer_truck, device_id: R-1}
  - {archetype: stationary_archetype_a}
  - {archetype: reefer_truck, mode: STATIONARY}
  - {archetype: reefer_warm}
"""


def _plugins():
    module = types.ModuleType("coldchain")
    module.synthkit_register_families = hookimpl(lambda: [Family("coldchain", ("MOBILE",))])
    module.synthkit_register_device_models = hookimpl(
        lambda: [
            DeviceModel(
                "reefer",
                "MOBILE",
                factory=dict,
                parameters={"setpoint_c": 4.0, "door_openings_per_hour": 2},
                family="coldchain",
                columns=(FieldSpec("temperature_c", "float"),),
            ),
            DeviceModel("reefer_bare", "MOBILE", factory=dict, family="coldchain"),
        ]
    )
    module.synthkit_register_archetypes = hookimpl(
        lambda: [
            Archetype("reefer_truck", "MOBILE", "reefer", {"setpoint_c": -18.0}),
            Archetype("reefer_warm", "MOBILE", "reefer_bare"),
        ]
    )
    plugins = build_plugins()
    plugins.register(module, "coldchain")
    return plugins


def _resolve(tmp_path, text: str, **kwargs):
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    doc = load_yaml(path)
    problems = Problems(doc)
    declared = []
    for i, entry in enumerate(doc.data["coldchain"]):
        pattern = entry.get("id_pattern")
        first = int(entry.get("first", 1))
        ids = (
            group_ids(pattern, first, int(entry["count"]))
            if pattern
            else [entry.get("device_id", f"C-{i}")]
        )
        declared.append(
            Declared(
                ("coldchain", i),
                entry["archetype"],
                ids,
                entry.get("parameter_overrides", {}),
                entry.get("mode"),
                ids_field="id_pattern" if pattern else None,
                first=first,
            )
        )
    resolved = resolve_devices(
        declared,
        family="coldchain",
        plugins=_plugins(),
        problems=problems,
        required_columns=("temperature_c",),
        **kwargs,
    )
    return resolved, problems


def test_every_problem_is_located_with_its_fix(tmp_path):
    resolved, problems = _resolve(tmp_path, FLEET)
    path = tmp_path / "fleet.yaml"
    assert problems.lines == [
        f"{path}:2: coldchain[0].archetype: unknown archetype 'reefer_truk' (did you mean 'reefer_truck'?)",
        f"{path}:3: coldchain[1].parameter_overrides.setpoint_cc: unknown parameter 'setpoint_cc' "
        "for model 'reefer' (did you mean 'setpoint_c'?)",
        f"{path}:4: coldchain[2].id_pattern: gives 'R-1,000' (n=1000), which is not a device id "
        "(ids are letters, digits and _ . : - only, at most 128 characters)",
        f"{path}:6: coldchain[4]: device_id 'R-1' is already declared at {path}:5 "
        "(device ids must be unique (after upper-casing))",
        f"{path}:7: coldchain[5].archetype: archetype 'stationary_archetype_a' needs device model "
        "'stationary_tank', which is a reservoir model, not a coldchain one (pick a coldchain archetype)",
        f"{path}:8: coldchain[6].mode: archetype 'reefer_truck' is MOBILE, not STATIONARY "
        "(set mode: MOBILE or pick a STATIONARY archetype)",
        f"{path}:9: coldchain[7].archetype: device model 'reefer_bare' ((local)) does not declare "
        "the column(s) the coldchain payload needs: temperature_c (DeviceModel.columns) "
        "(report it to the plugin's authors, or pick another archetype)",
    ]
    assert [r.device_id for r in resolved] == ["R-1"]
    # a mapping of defaults: the archetype's values on top, names checked
    assert resolved[0].params == {"setpoint_c": -18.0, "door_openings_per_hour": 2}
    with pytest.raises(LocatedProblems):
        problems.raise_any()


def test_a_family_adds_its_own_rules_and_keeps_its_entry(tmp_path):
    seen = []

    def check(entry, arch, model, mode) -> bool:
        seen.append((entry.ids[0], arch.name, model.name, mode))
        return entry.ids[0] != "A"

    text = "coldchain:\n  - {archetype: reefer_truck, device_id: A}\n  - {archetype: reefer_truck, device_id: B}\n"
    resolved, problems = _resolve(tmp_path, text, check=check)
    assert problems.lines == []
    assert seen == [
        ("A", "reefer_truck", "reefer", "MOBILE"),
        ("B", "reefer_truck", "reefer", "MOBILE"),
    ]
    assert [(r.device_id, r.mode, r.declared.loc) for r in resolved] == [
        ("B", "MOBILE", ("coldchain", 1))
    ]


def test_an_upper_case_mode_is_required_of_a_family():
    with pytest.raises(PluginError, match="upper-case"):
        Family("coldchain", ("mobile",))


COLD_SCENARIO = """\
scenario_id: cold_1
coldchain:
  - {archetype: reefer_truck, device_id: R-1}
  - {archetype: reefer_truck, device_id: R-2, parameter_overrides: {setpoint_c: -20}}
"""


def _cold_family_plugins():
    """The cold-chain family with a section and a loader: the core's validate reads it."""
    from dataclasses import dataclass, field

    from synthkit.devices import resolve_devices

    @dataclass(frozen=True)
    class Fleet:
        path: str
        devices: tuple
        sha256: str = "0" * 64
        scenario_id: str = "cold_1"
        seed: int = 1
        warnings: tuple = ()

    @dataclass(frozen=True)
    class Truck:
        device_id: str
        archetype: object
        model: object
        mode: str
        facts: dict = field(default_factory=dict)

    def load(path, plugins):
        doc = load_yaml(path)
        problems = Problems(doc)
        declared = [
            Declared(
                ("coldchain", i), e["archetype"], [e["device_id"]], e.get("parameter_overrides", {})
            )
            for i, e in enumerate(doc.data["coldchain"])
        ]
        found = resolve_devices(declared, family="coldchain", plugins=plugins, problems=problems)
        problems.raise_any()
        return Fleet(path, tuple(Truck(r.device_id, r.archetype, r.model, r.mode) for r in found))

    plugins = _plugins()
    module = types.ModuleType("coldchain_reader")
    module.synthkit_register_families = hookimpl(
        lambda: [Family("coldchain_read", ("MOBILE",), section="coldchain", load=load)]
    )
    plugins.register(module, "coldchain_reader")
    return plugins


def test_the_core_validates_any_familys_scenario_by_its_section(tmp_path):
    from synthkit.testing import run_cli

    path = tmp_path / "cold.yaml"
    path.write_text(COLD_SCENARIO)
    res = run_cli(["--scenario", str(path), "validate"], _plugins())  # nobody reads coldchain
    assert res.exit_code == 2
    assert (
        "no installed family reads this scenario (its top-level keys: scenario_id, coldchain)"
        in res.stderr
    )
    assert "devices (reservoir)" in res.stderr  # the sections there are
    res = run_cli(["--scenario", str(path), "validate"], _cold_family_plugins())
    assert res.exit_code == 0, res.stderr
    import json

    summary = json.loads(res.stdout)
    assert summary["devices_validated"] == ["R-1", "R-2"] and summary["archetypes"] == {
        "reefer_truck": 2
    }
    path.write_text(COLD_SCENARIO + "devices: []\n")
    res = run_cli(["--scenario", str(path), "validate"], _cold_family_plugins())
    assert res.exit_code == 2 and "declares the sections of 2 families" in res.stderr
    path.write_text(COLD_SCENARIO)
    res = run_cli(["--scenario", str(path), "dry-run"], _cold_family_plugins())
    assert res.exit_code == 2 and "family 'coldchain_read' has no preview" in res.stderr
