"""The fourth family (issue 25's bar): a partner's cold-chain fleet, plugins/examples/
synthkit-coldchain, written against synthkit.api only and installed as its own distribution,
with no command and no file of synthkit's written for it: it validates, previews, exports
to any file sink, runs live through a broker sink, and reconciles and replays byte for byte,
in at most 400 lines of code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.live import install_example, synthkit_with
from tests.test_structure import imports

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "plugins" / "examples" / "synthkit-coldchain"
SCENARIO = """\
scenario_id: depot_north
seed: 5
coldchain:
  interval_seconds: 60
  hours: 6
  units:
    - {id_pattern: "TRUCK-{n:02d}", count: 3, archetype: frozen_truck}
    - {unit_id: ROOM-A, archetype: chilled_room, parameter_overrides: {setpoint_c: 2.0}}
"""
END = "2026-03-02T00:00:00Z"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return install_example(EXAMPLE, tmp_path_factory.mktemp("site"))


def _synthkit(
    site: Path, tmp_path: Path, *args: str, scenario: str = SCENARIO, state: str = "state.json"
):
    return synthkit_with(site, tmp_path, scenario, *args, state=state)


def test_it_is_small_and_speaks_only_the_public_api():
    package = EXAMPLE / "synthkit_coldchain"
    code = [
        line
        for path in package.glob("*.py")
        for line in path.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert len(code) <= 400, len(code)
    used = {name for path in package.glob("*.py") for name in imports(path)}
    assert {n for n in used if n.startswith("synthkit")} <= {
        "synthkit",
        "synthkit.api",
        *(f"synthkit_coldchain.{p.stem}" for p in package.glob("*.py")),
    }


@pytest.mark.slow
def test_its_plugins_are_its_own_and_synthkit_validates_and_previews_it(site, tmp_path):
    listed = json.loads(_synthkit(site, tmp_path, "plugins", "--json").stdout)["plugins"]
    mine = {p["name"]: p["registers"] for p in listed if p["distribution"] == "synthkit-coldchain"}
    assert mine == {
        "coldchain": {"families": ["coldchain"]},
        "reefer_unit": {"device_models": ["reefer_unit"]},
        "coldchain_archetypes": {"archetypes": ["frozen_truck", "chilled_room"]},
    }
    res = _synthkit(site, tmp_path, "validate")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["devices_validated"] == [
        "TRUCK-01",
        "TRUCK-02",
        "TRUCK-03",
        "ROOM-A",
    ]
    res = _synthkit(
        site, tmp_path, "dry-run", "--preview-steps", "5", "--start-at", "2026-03-01T18:01:00Z"
    )
    assert res.returncode == 0, res.stderr
    room = {d["device_id"]: d for d in json.loads(res.stdout)["devices"]}["ROOM-A"]
    assert [s["seq"] for s in room["samples"]] == [0, 1, 2, 3, 4]
    assert (
        all(s["setpoint_c"] == 2.0 for s in room["samples"]) and room["archetype"] == "chilled_room"
    )
    bad = SCENARIO.replace(
        "archetype: chilled_room, parameter_overrides: {setpoint_c",
        "archetype: chiled_room, parameter_overrides: {setpoint",
    )
    res = _synthkit(site, tmp_path, "validate", scenario=bad)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert (
        "scenario.yaml:8: coldchain.units[1].archetype: unknown archetype 'chiled_room' (did you mean 'chilled_room'?)"
        in res.stderr
    )


@pytest.mark.slow
@pytest.mark.parametrize("out", ["c.csv", "c.jsonl", "c.parquet"])
def test_it_exports_to_any_file_sink_whole_and_reproducibly(site, tmp_path, out):
    runs = [
        _synthkit(
            site, tmp_path, "export", "--out", f"{i}{out}", "--end-at", END, state=f"s{i}.json"
        )
        for i in (1, 2)
    ]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    summary = json.loads(runs[0].stdout)
    assert summary["rows"] == 4 * 360 and summary["window"]["end_at"] == END
    assert (tmp_path / f"1{out}").read_bytes() == (tmp_path / f"2{out}").read_bytes()


@pytest.mark.slow
def test_the_model_holds_its_setpoint_and_the_door_warms_the_box(site, tmp_path):
    import csv

    assert _synthkit(site, tmp_path, "export", "--out", "c.csv", "--end-at", END).returncode == 0
    with open(tmp_path / "c.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["unit_id"] == "ROOM-A"]
    temps = [float(r["temperature_c"]) for r in rows]
    assert 0.0 < min(temps) and max(temps) < 4.5  # 2 C +- its band, with short door spikes
    running = [int(r["compressor_on"]) for r in rows]
    assert 0 < sum(running) < len(running)  # the thermostat cycles
    after_door = [
        temps[i + 1] - temps[i]
        for i, r in enumerate(rows[:-1])
        if r["door_open"] == "1" and running[i] == 0
    ]
    assert after_door and sum(after_door) / len(after_door) > 0


@pytest.mark.slow
@pytest.mark.services
def test_it_runs_live_and_is_reconciled_and_replayed_byte_for_byte(site, tmp_path):
    from tests.live import closed_loop, own_prefix

    dropped = {("TRUCK-02", 0), ("ROOM-A", 3), ("ROOM-A", 4)}
    first, again, _ = closed_loop(
        lambda *args: _synthkit(site, tmp_path, *args),
        own_prefix("cold") + "/{unit_id}/status",
        "unit_id",
        5,
        dropped,
    )
    assert len(first) == 20 and set(again) == dropped
    assert {k: again[k] for k in dropped} == {k: first[k] for k in dropped}
    # live and replay both speak the family's own codec (Family.payloads)
    message = json.loads(first[("ROOM-A", 0)][1])
    assert set(message) == {"unit_id", "seq", "ts", "t", "door", "comp"}
