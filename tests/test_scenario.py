"""Scenario files: every rule of the seed's section 7, located errors, device groups, the
templates, and parameter_overrides checked against the device model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthkit_reservoir.scenario import ScenarioError, load_scenario

from synthkit.plugins import build_plugins
from tests.conftest import ROOT

TEMPLATES = sorted((ROOT / "scenarios").glob("*.yaml"))
HOURS = ", ".join(["1.0"] * 24)


@pytest.fixture(scope="module")
def plugins():
    return build_plugins()


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(path: Path, plugins) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(path), plugins)
    return info.value.problems


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.stem)
def test_templates_validate_strictly(template, sh, tmp_path):
    # in an empty directory: no default database, so the database checks are skipped (said)
    res = sh("synthkit", "--scenario", str(template), "--strict", "validate", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["command"] == "validate" and out["errors"] == [] and out["database"] is None
    assert len(out["warnings"]) == 1 and out["warnings"][0].startswith("database checks skipped")
    assert out["scenario_id"] == template.stem
    assert len(out["devices_validated"]) >= 2


def test_the_three_seed_templates_exist():
    assert {p.stem for p in TEMPLATES} >= {"demo_city_v1", "stationary_only_v1", "mobile_only_v1"}


def test_every_problem_is_listed_with_file_line_and_field(tmp_path, plugins):
    path = write(
        tmp_path,
        f"""\
scenario_id: broken
seed: 42
timezone: Europe/Lisbon
devices:
  - device_id: tank1
    archetype: stationary_archetype_a
    cadence_seconds: 30
  - device_id: tank2
    archetype: stationary_archetype_a
    cadense_seconds: 300
  - device_id: tank3
    archetype: stationary_archetype_a
    dynamics:
      demand:
        hourly_weights: [1.0, 1.0]
        weekday_multipliers: [1, 1, 1, 1, 1, 1, 0]
      supply:
        hourly_volume_multipliers: [{HOURS}]
  - device_id: truck1
    archetype: mobile_high_efficiency
    mode: MOBILE
  - device_id: tank4
    archetype: stationary_archetype_a
    speedup: nan
""",
    )
    found = problems(path, plugins)
    text = "\n".join(found)
    expected = [
        (3, "timezone", "Input should be 'UTC'"),
        (7, "devices[0].cadence_seconds", "greater than or equal to 60"),
        (10, "devices[1].cadense_seconds", "did you mean 'cadence_seconds'?"),
        (15, "devices[2].dynamics.demand.hourly_weights", "24 values"),
        (16, "devices[2].dynamics.demand.weekday_multipliers", "> 0"),
        (19, "devices[3]", "route_id is required when mode is MOBILE"),
        (24, "devices[4].speedup", "unknown field"),
    ]
    for line, field, words in expected:
        assert any(p.startswith(f"{path}:{line}: {field}:") and words in p for p in found), (
            f"no problem at line {line} for {field} with {words!r} in:\n{text}"
        )
    assert len(found) == len(expected)


def test_cross_references(tmp_path, plugins):
    path = write(
        tmp_path,
        """\
scenario_id: xrefs
devices:
  - device_id: Tank-1
    archetype: stationary_archetyp_a
  - device_id: TANK-1
    archetype: stationary_archetype_c
  - group: fleet
    count: 3
    id_pattern: "tank-{n}"
    archetype: stationary_archetype_c
  - device_id: truck1
    archetype: mobile_high_efficiency
    route_id: nowhere
  - device_id: truck2
    archetype: mobile_high_efficiency
    route_id: thin
  - device_id: tank9
    archetype: mobile_high_efficiency
    mode: STATIONARY
routes:
  - route_id: thin
    points:
      - {point_id: depot, kind: BASE, latitude: 1.0, longitude: 2.0}
      - {point_id: well, kind: refill, latitude: 1.1, longitude: 2.0}
    transitions:
      - {from_kind: BASE, to_kind: REFILL, probability: 0.5}
      - {from_kind: BASE, to_kind: CLIENT, probability: 0.4}
""",
    )
    found = problems(path, plugins)
    # the schema is checked first: cross-references of a scenario that does not parse would
    # only add noise, so the one schema problem is reported, at the route
    assert len(found) == 1, found
    assert (
        found[0] == f"{path}:21: routes[0]: transition probabilities from BASE sum to 0.9, not 1.0"
    )


def test_cross_reference_problems_after_a_valid_schema(tmp_path, plugins):
    path = write(
        tmp_path,
        """\
scenario_id: xrefs
devices:
  - device_id: Tank-1
    archetype: stationary_archetype_a
  - group: fleet
    count: 3
    id_pattern: "tank-{n}"
    archetype: stationary_archetype_c
  - device_id: truck1
    archetype: mobile_high_efficiency
    route_id: nowhere
  - device_id: truck2
    archetype: mobile_high_efficiency
    route_id: thin
  - device_id: tank9
    archetype: mobile_high_efficiency
    mode: STATIONARY
  - device_id: tank10
    archetype: stationary_archetype_a
    parameter_overrides:
      capacity_litres: 900
  - device_id: tank11
    archetype: stationary_archetype_a
    parameter_overrides:
      capacity_liters: -5
routes:
  - route_id: thin
    points:
      - {point_id: depot, kind: BASE, latitude: 1.0, longitude: 2.0}
      - {point_id: well, kind: refill, latitude: 1.1, longitude: 2.0}
""",
    )
    found = problems(path, plugins)
    text = "\n".join(found)
    assert any(":5: devices[1]: device_id 'TANK-1' is already declared at" in p for p in found), (
        text
    )
    assert any(":11: devices[2].route_id: unknown route 'nowhere'" in p for p in found), text
    assert any(
        "routes[0].points: route 'thin' is used by MOBILE devices but has no CLIENT point" in p
        for p in found
    ), text
    assert any(
        ":17: devices[4].mode: archetype 'mobile_high_efficiency' is MOBILE, not STATIONARY" in p
        for p in found
    ), text
    assert any(
        ":21: devices[5].parameter_overrides.capacity_litres: unknown parameter "
        "'capacity_litres' for model 'stationary_tank' (did you mean 'capacity_liters'?)" in p
        for p in found
    ), text
    assert any(
        ":25: devices[6].parameter_overrides.capacity_liters: Input should be greater than 0" in p
        for p in found
    ), text
    assert len(found) == 6, text


def test_device_ids_are_normalised_and_groups_expand(tmp_path, plugins):
    path = write(
        tmp_path,
        """\
scenario_id: groups
devices:
  - device_id: e2e-tank-1
    archetype: Stationary-Archetype-A
  - group: block_c
    count: 3
    first: 7
    id_pattern: "blk-{n:03d}"
    archetype: stationary_archetype_c
    cadence_seconds: 600
""",
    )
    loaded = load_scenario(str(path), plugins)
    assert [d.device_id for d in loaded.devices] == ["E2E-TANK-1", "BLK-007", "BLK-008", "BLK-009"]
    assert {d.group for d in loaded.devices[1:]} == {"block_c"}
    assert loaded.devices[1].cadence_seconds == 600 and loaded.devices[0].mode == "STATIONARY"


def test_a_ten_thousand_device_fleet_as_groups(tmp_path, plugins):
    path = write(
        tmp_path,
        """\
scenario_id: big
devices:
  - group: a
    count: 6000
    id_pattern: "A-{n:05d}"
    archetype: stationary_archetype_a
  - group: c
    count: 4000
    id_pattern: "C-{n:05d}"
    archetype: stationary_archetype_c
""",
    )
    loaded = load_scenario(str(path), plugins)
    assert len(loaded.devices) == 10_000
    assert len({d.device_id for d in loaded.devices}) == 10_000


def test_overrides_merge_over_archetype_defaults(tmp_path, plugins):
    path = write(
        tmp_path,
        """\
scenario_id: merge
devices:
  - device_id: t1
    archetype: stationary_archetype_c
    parameter_overrides:
      supply_events_per_day: 9
""",
    )
    params = load_scenario(str(path), plugins).devices[0].params
    assert params.supply_events_per_day == 9.0  # the override
    assert params.capacity_liters == 3000.0  # the archetype's default
    assert params.raw_samples == 5  # the model's default


def test_calibration_needs_distances_in_order(tmp_path, plugins):
    path = write(
        tmp_path,
        """\
scenario_id: cal
devices:
  - device_id: t1
    archetype: stationary_archetype_a
    parameter_overrides: {sensor_empty_distance_mm: 100, sensor_full_distance_mm: 900}
""",
    )
    assert "must be greater than sensor_full_distance_mm" in "\n".join(problems(path, plugins))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a: 1\na: 2\n", ':2: invalid YAML: found duplicate key "a" (remove or rename one'),
        ("a: &x 1\nb: *x\n", ":1: invalid YAML: anchors and aliases are refused"),
        ("a: !!int 1\n", ":1: invalid YAML: the tag tag:yaml.org,2002:int (remove the !tag"),
        ("a: 1\n---\nb: 2\n", ":2: invalid YAML: a second document"),
        ("? [a, b]\n: 1\n", ":1: invalid YAML: a mapping or list used as a key"),
        (
            "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 300)),
            ":65: invalid YAML: nested more than 64 levels deep",
        ),
        ("a: " + "[" * 100 + "]" * 100 + "\n", ":1: invalid YAML: nested more than 64 levels deep"),
        (
            "a: " + "[" * 50000 + "]" * 50000 + "\n",
            ":1: invalid YAML: exceeded maximum nesting depth",
        ),
        ("a: [1, 2\nb: 3\n", ":2: invalid YAML"),
        ("", "the file is empty"),
        ("- just\n- a list\n", "the document must be a mapping"),
    ],
)
def test_bad_yaml_is_one_located_line(tmp_path, sh, text, words):
    path = write(tmp_path, text)
    res = sh("synthkit", "--scenario", str(path), "validate")
    assert res.returncode == 2
    assert words in res.stderr and "Traceback" not in res.stderr
    assert res.stdout == ""


def test_cli_errors_exit_2_with_every_problem(tmp_path, sh):
    path = write(
        tmp_path,
        "scenario_id: x\ndevices:\n  - device_id: a\n    archetype: nope\n"
        "  - device_id: b\n    archetype: stationary_archetype_a\n"
        "    cadence_seconds: 99999\n",
    )
    res = sh("synthkit", "--scenario", str(path), "--strict", "validate")
    assert res.returncode == 2 and res.stdout == ""
    assert (
        f"error: {path}: 2 problems:" in res.stderr
    )  # one pass (issue 24): the range error and the archetype
    assert (
        f"{path}:7: devices[1].cadence_seconds: Input should be less than or equal to 3600"
        in res.stderr
    )
    assert f"{path}:4: devices[0].archetype: unknown archetype 'nope'" in res.stderr
    assert "Traceback" not in res.stderr


def test_missing_scenario_and_missing_file(tmp_path, sh):
    res = sh("synthkit", "validate")
    assert (
        res.returncode == 2
        and "give --scenario path/to/scenario.yaml (before or after the command)" in res.stderr
    )
    res = sh("synthkit", "--scenario", str(tmp_path / "nope.yaml"), "validate")
    assert res.returncode == 2 and "nope.yaml: no such file" in res.stderr


def _one_device(extra: str, root: str = "") -> str:
    return f"scenario_id: r\n{root}devices:\n  - device_id: t1\n    archetype: stationary_archetype_a\n{extra}"


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (_one_device("", "bootstrap: {days: 0}\n"), "bootstrap.days", "greater than or equal to 1"),
        (
            _one_device("", "bootstrap: {days: 366}\n"),
            "bootstrap.days",
            "less than or equal to 365",
        ),
        (
            _one_device("", "bootstrap: {step_minutes: 61}\n"),
            "bootstrap.step_minutes",
            "less than or equal to 60",
        ),
        (_one_device("", "speedup_factor: 0\n"), "speedup_factor", "greater than 0"),
        (
            _one_device("", "speedup_factor: nan\n"),
            "speedup_factor",
            "NaN and infinity are not allowed",
        ),
        (_one_device("", "seed: 1.5\n"), "seed", "valid integer"),
        (
            _one_device("    cadence_seconds: 3601\n"),
            "devices[0].cadence_seconds",
            "less than or equal to 3600",
        ),
        (_one_device("    reservoir_id: not-a-uuid\n"), "devices[0].reservoir_id", "UUID"),
        (
            _one_device("    dynamics: {demand: {target_daily_liters: 0}}\n"),
            "devices[0].dynamics.demand.target_daily_liters",
            "greater than 0",
        ),
        (
            _one_device(
                "    dynamics: {demand: {weekday_multipliers: [1, 1, 1, 1, 1, 1, 1, 1]}}\n"
            ),
            "devices[0].dynamics.demand.weekday_multipliers",
            "give exactly 7 values, Monday first",
        ),
        (
            _one_device(
                f"    dynamics: {{supply: {{hourly_probability_multipliers: [-1, {', '.join(['1'] * 23)}]}}}}\n"
            ),
            "devices[0].dynamics.supply.hourly_probability_multipliers",
            ">= 0; index 0 is -1.0",
        ),
        (
            _one_device("    dynamics: {demand: {target_daily_liters: inf}}\n"),
            "devices[0].dynamics.demand.target_daily_liters",
            "NaN and infinity are not allowed",
        ),
        ("scenario_id: r\ndevices: []\n", "devices", "at least 1 item"),
        (
            "scenario_id: ../up\ndevices:\n  - {device_id: a, archetype: stationary_archetype_a}\n",
            "scenario_id",
            "should match pattern",
        ),
        (
            "scenario_id: r\ndevices:\n  - {device_id: a, archetype: mobile_high_efficiency, mode: MOBILE,"
            " route_id: x, dynamics: {demand: {target_daily_liters: 5}}}\n",
            "devices[0]",
            "dynamics only applies to STATIONARY devices",
        ),
        (
            "scenario_id: r\ndevices:\n  - {device_id: a, archetype: stationary_archetype_a, route_id: x}\n",
            "devices[0].route_id",
            "route_id only applies to MOBILE devices",
        ),
        (
            "scenario_id: r\ndevices:\n  - {device_id: a, archetype: stationary_archetype_a, mode: STATIONARY,"
            " route_id: x}\n",
            "devices[0]",
            "route_id only applies to MOBILE devices",
        ),
        (
            "scenario_id: r\ndevices:\n  - {device_id: a, archetype: mobile_high_efficiency, route_id: q,"
            " dynamics: {demand: {target_daily_liters: 5}}}\nroutes:\n  - route_id: q\n    points:\n"
            "      - {point_id: p, kind: BASE, latitude: 1, longitude: 0}\n",
            "devices[0].dynamics",
            "dynamics only applies to STATIONARY devices",
        ),
        (
            "scenario_id: r\ndevices:\n  - {group: g, count: 2, id_pattern: 'X', archetype: stationary_archetype_a}\n",
            "devices[0].id_pattern",
            "must contain {n}",
        ),
        (
            "scenario_id: r\ndevices:\n  - {device_id: a, archetype: stationary_archetype_a}\nroutes:\n"
            "  - route_id: q\n    points:\n      - {point_id: p, kind: BASE, latitude: 91, longitude: 0}\n",
            "routes[0].points[0].latitude",
            "less than or equal to 90",
        ),
        (
            "scenario_id: r\ndevices:\n  - {device_id: a, archetype: stationary_archetype_a}\nroutes:\n"
            "  - route_id: q\n    points:\n      - {point_id: p, kind: DEPOT, latitude: 1, longitude: 0}\n",
            "routes[0].points[0].kind",
            "Input should be 'BASE', 'REFILL' or 'CLIENT'",
        ),
    ],
)
def test_section_7_rules(tmp_path, plugins, text, field, words):
    found = problems(write(tmp_path, text), plugins)
    assert any(f": {field}: " in p and words in p for p in found), found
