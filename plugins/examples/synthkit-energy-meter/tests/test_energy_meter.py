"""How a family's authors test it with synthkit's pytest plugin: register the family's
plugins on a fresh manager (or rely on `pip install -e .`), then run the real CLI."""

from __future__ import annotations

import csv
import hashlib
import json

import pytest
from synthkit_energy_meter import archetypes, family, model

pytest_plugins = ["synthkit.testing"]

SCENARIO = """\
scenario_id: town_grid
seed: 7
energy_meter:
  interval_minutes: 15
  days: 1
  meters:
    - {id_pattern: "HOME-{n:03d}", count: 5, archetype: household}
    - {meter_id: SHOP-1, archetype: small_shop}
"""


@pytest.fixture
def plugins(installed_plugins):
    if "energy_meter" not in installed_plugins.families():  # not pip-installed: add it here
        for name, module in (
            ("energy_meter", family),
            ("smart_meter", model),
            ("meter_archetypes", archetypes),
        ):
            installed_plugins.register(module, name)
    return installed_plugins


def _export(run_synthkit, plugins, tmp_path, out: str, text: str = SCENARIO):
    scenario = tmp_path / "meters.yaml"
    scenario.write_text(text)
    return run_synthkit(
        [
            "--scenario",
            str(scenario),
            "--state-file",
            str(tmp_path / "state.json"),
            "export",
            "--out",
            str(tmp_path / out),
            "--end-at",
            "2026-03-02T00:00:00Z",
        ],
        plugins=plugins,
    )


def test_the_family_registers_its_mode_model_and_archetypes(plugins):
    assert plugins.families()["energy_meter"].modes == ("GRID",)
    assert set(plugins.device_models(family="energy_meter")) == {"smart_meter"}
    assert {"household", "small_shop"} <= set(plugins.archetypes())


def test_export_writes_each_meter_every_interval_with_a_rising_register(
    run_synthkit, plugins, tmp_path
):
    res = _export(run_synthkit, plugins, tmp_path, "r.csv")
    assert res.exit_code == 0, res.stderr
    with open(tmp_path / "r.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 * 96
    shop = [r for r in rows if r["meter_id"] == "SHOP-1"]
    assert [int(r["seq"]) for r in shop] == list(range(96))
    totals = [float(r["total_kwh"]) for r in shop]
    assert totals == sorted(totals) and totals[0] > 1000.0
    busy = [float(r["power_kw"]) for r in shop if 9 <= int(r["ts"][11:13]) < 18]
    quiet = [float(r["power_kw"]) for r in shop if not 9 <= int(r["ts"][11:13]) < 18]
    assert min(busy) > max(quiet)  # the small_shop archetype's tendency


def test_the_same_scenario_gives_the_same_bytes_in_any_format(run_synthkit, plugins, tmp_path):
    for out in ("a.jsonl", "b.jsonl"):
        (tmp_path / "state.json").unlink(missing_ok=True)
        assert _export(run_synthkit, plugins, tmp_path, out).exit_code == 0
    digest = [
        hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ("a.jsonl", "b.jsonl")
    ]
    assert digest[0] == digest[1]


def test_a_bad_scenario_names_the_line_and_the_fix(run_synthkit, plugins, tmp_path):
    bad = SCENARIO.replace("archetype: small_shop", "archetype: small_shp").replace(
        "days: 1", "days: 0"
    )
    res = _export(run_synthkit, plugins, tmp_path, "r.csv", bad)
    assert res.exit_code == 2
    assert (
        "meters.yaml:5: energy_meter.days: Input should be greater than or equal to 1" in res.stderr
    )
    assert not (tmp_path / "r.csv").exists()
    res = _export(
        run_synthkit,
        plugins,
        tmp_path,
        "r.csv",
        SCENARIO.replace("archetype: small_shop", "archetype: small_shp"),
    )
    assert res.exit_code == 2
    assert (
        "meters.yaml:8: energy_meter.meters[1].archetype: unknown archetype 'small_shp'"
        in res.stderr
    )
    assert "did you mean 'small_shop'?" in res.stderr
    res = _export(  # the core's resolution: parameters checked by name, with "did you mean"
        run_synthkit,
        plugins,
        tmp_path,
        "r.csv",
        SCENARIO.replace(
            "archetype: small_shop}", "archetype: small_shop, parameter_overrides: {peak_kv: 3}}"
        ),
    )
    assert res.exit_code == 2
    assert (
        "meters.yaml:8: energy_meter.meters[1].parameter_overrides.peak_kv: unknown parameter "
        "'peak_kv' for model 'smart_meter' (did you mean 'peak_kw'?)" in res.stderr
    ), res.stderr


def test_synthkit_validate_and_dry_run_read_the_familys_scenario(run_synthkit, plugins, tmp_path):
    """The core's commands, for any family that declares its section and loader: the file's
    energy_meter section picks this family."""
    scenario = tmp_path / "meters.yaml"
    scenario.write_text(SCENARIO)
    common = ["--scenario", str(scenario), "--state-file", str(tmp_path / "state.json")]
    res = run_synthkit([*common, "validate"], plugins=plugins)
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["devices_validated"] == [*(f"HOME-{n:03d}" for n in range(1, 6)), "SHOP-1"]
    assert summary["archetypes"] == {"household": 5, "small_shop": 1}
    assert summary["warnings"] == [] and summary["scenario_id"] == "town_grid"
    start = "2026-03-01T00:15:00Z"  # where the export below starts (1 day back, 15 minutes)
    args = [*common, "dry-run", "--preview-steps", "3", "--start-at", start]
    res = run_synthkit(args, plugins=plugins)
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["writes"] == "none" and not (tmp_path / "state.json").exists()
    shop = {d["device_id"]: d for d in json.loads(res.stdout)["devices"]}["SHOP-1"]
    assert [s["seq"] for s in shop["samples"]] == [0, 1, 2]
    # the preview is the export's first rows of the same window
    assert _export(run_synthkit, plugins, tmp_path, "r.csv").exit_code == 0
    with open(tmp_path / "r.csv", newline="") as fh:
        exported = [r for r in csv.DictReader(fh) if r["meter_id"] == "SHOP-1"][:3]
    assert [(r["ts"], float(r["power_kw"])) for r in exported] == [
        (s["ts"], s["power_kw"]) for s in shop["samples"]
    ]
    assert exported[0]["ts"] == start
