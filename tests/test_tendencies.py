"""Issue 11: the archetypes' documented tendencies hold whatever the seed, cadence or window
(a sample of benchmarks/bench_tendencies.py, which measures all 400 cases), and the CLI's
analyze-csv shows them on the issue's own reproduction."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from synthkit.testing import run_cli

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_tendencies", ROOT / "benchmarks" / "bench_tendencies.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_tendency_holds_on_a_sample_of_seeds_cadences_and_windows():
    bench = _bench()
    result = bench.shares(seeds=6, cadences=[60, 3600], windows=[14, 30])
    assert result["cases"] == 24
    assert all(share >= bench.BAR for share in result["share"].values()), result


def test_analyze_csv_shows_c_running_out_more_than_a(tmp_path):
    """The reproduction: a 30-day export at a 600 s cadence, seed 7, default parameters, gave
    runout_prob 0.0 for both stationary archetypes."""
    text = _bench().SCENARIO.format(seed=7, cadence=600, days=30)
    path = tmp_path / "four.yaml"
    path.write_text(text)
    res = run_cli(
        [
            "--scenario",
            str(path),
            "export-csv",
            "--run-id",
            "r",
            "--end-at",
            "2026-02-12T10:00:00Z",
            "--output-root",
            str(tmp_path / "out"),
        ]
    )
    assert res.exit_code == 0, res.stderr
    res = run_cli(["analyze-csv", "--artifact-dir", json.loads(res.stdout)["artifact_dir"]])
    assert res.exit_code == 0, res.stderr
    m = json.loads(res.stdout)["metrics"]["by_archetype"]
    a, c = m["stationary_archetype_a"], m["stationary_archetype_c"]
    assert (
        c["runout_prob"] > a["runout_prob"]
        and c["supply_fragmentation_index"] > a["supply_fragmentation_index"]
    )
    assert a["autonomy_days_est"] > c["autonomy_days_est"]
    he, fl = m["mobile_high_efficiency"], m["mobile_fragmented_high_loss"]
    assert (
        he["liters_per_km"] > fl["liters_per_km"]
        and fl["mobile_nrw_liters"] > he["mobile_nrw_liters"]
    )
