"""analyze-csv on real exports, clean and hand-broken: every defect caught and named by line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from synthkit.plugins import build_plugins
from synthkit.testing import run_cli
from tests.conftest import ROOT

END = "2026-02-12T10:00:00Z"


@pytest.fixture(scope="module")
def plugins():
    return build_plugins()


@pytest.fixture(scope="module")
def clean_export(tmp_path_factory, plugins) -> Path:
    root = tmp_path_factory.mktemp("exports")
    res = run_cli(
        [
            "--scenario",
            str(ROOT / "scenarios/demo_city_v1.yaml"),
            "--state-file",  # its own: a module's fixture runs in no test's directory
            str(root / "state.json"),
            "export-csv",
            "--run-id",
            "clean",
            "--end-at",
            END,
            "--output-root",
            str(root),
        ],
        plugins,
    )
    assert res.exit_code == 0, res.stderr
    return Path(json.loads(res.stdout)["artifact_dir"])


def analyze(plugins, artifact: Path) -> dict:
    """analysis.json and the summary agree; exit 0 when QC passed, 3 when it did not (issue 15:
    it exited 0 with qc_passed false, so a script could not tell)."""
    res = run_cli(["analyze-csv", "--artifact-dir", str(artifact)], plugins)
    out = json.loads(res.stdout)
    assert res.exit_code == (0 if out["qc_passed"] else 3), res.stderr
    if not out["qc_passed"]:
        assert res.stderr.strip().splitlines()[-1].startswith("incomplete: QC failed")
    assert json.loads((artifact / "analysis.json").read_text()) == out
    return out


def broken_copy(clean: Path, tmp_path: Path, edit) -> Path:
    """A copy of the artifact whose CSV lines went through ``edit`` (manifest untouched)."""
    target = tmp_path / "broken"
    shutil.copytree(clean, target)
    csv_path = target / "telemetry_rows.csv"
    lines = csv_path.read_text().splitlines(keepends=True)
    csv_path.write_text("".join(edit(lines)))
    (target / "analysis.json").unlink(missing_ok=True)
    return target


def test_a_clean_export_passes(clean_export, plugins):
    out = analyze(plugins, clean_export)
    assert out["qc_passed"] is True
    for key in (
        "seq_gap_count",
        "seq_duplicate_count",
        "invalid_row_count",
        "invalid_timestamp_count",
        "level_out_of_bounds_count",
        "manifest_mismatch_count",
    ):
        assert out[key] == 0, key
    assert out["problems"] == [] and out["truncated_last_line"] is False
    assert out["device_count"] == 42 and out["row_count"] > 100_000
    metrics = out["metrics"]["by_archetype"]
    assert set(metrics) == {
        "stationary_archetype_a",
        "stationary_archetype_c",
        "mobile_high_efficiency",
        "mobile_fragmented_high_loss",
    }


def test_metrics_show_the_archetype_tendencies(clean_export, plugins):
    m = analyze(plugins, clean_export)["metrics"]["by_archetype"]
    a, c = m["stationary_archetype_a"], m["stationary_archetype_c"]
    assert c["runout_prob"] > a["runout_prob"]
    assert c["supply_fragmentation_index"] > a["supply_fragmentation_index"]
    assert a["autonomy_days_est"] > c["autonomy_days_est"]
    # a count per device, its mean per archetype: named apart (52 and 52.0 read as one figure)
    assert "supply_events" not in a and isinstance(a["supply_events_per_device"], float)
    by_device = analyze(plugins, clean_export)["metrics"]["by_device"]
    assert all(
        isinstance(d["supply_events"], int) for d in by_device.values() if "supply_events" in d
    )
    he, fl = m["mobile_high_efficiency"], m["mobile_fragmented_high_loss"]
    assert he["liters_per_km"] > fl["liters_per_km"]
    assert he["mobile_nrw_liters"] < fl["mobile_nrw_liters"]


def _find(lines: list[str], device: str, seq: int) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(f"{device},{seq},"))


def _set(line: str, column: int, value: str) -> str:
    cells = line.rstrip("\n").split(",")
    cells[column] = value
    return ",".join(cells) + "\n"


def drop_row(ls: list[str]) -> tuple[list[str], int]:
    i = _find(ls, "CITY-A-001", 7)
    rest = ls[:i] + ls[i + 1 :]
    return rest, _find(rest, "CITY-A-001", 8) + 1  # noticed where the sequence resumes


def repeat_row(ls: list[str]) -> tuple[list[str], int]:
    i = _find(ls, "CITY-A-002", 9)
    return ls[: i + 1] + [ls[i]] + ls[i + 1 :], i + 2


def edit_cell(row: int, column: int, value: str):
    def edit(ls: list[str]) -> tuple[list[str], int]:
        return [*ls[:row], _set(ls[row], column, value), *ls[row + 1 :]], row + 1

    return edit


def extra_cell(ls: list[str]) -> tuple[list[str], int]:
    return [*ls[:12], ls[12].replace(",", ",,", 1), *ls[13:]], 13


def time_without_zone(ls: list[str]) -> tuple[list[str], int]:
    """The row's own time, its Z dropped: a time the exact pass refuses."""
    cells = ls[5].split(",")
    return [*ls[:5], _set(ls[5], 2, cells[2].removesuffix("Z")), *ls[6:]], 6


def truncate_last(ls: list[str]) -> tuple[list[str], int]:
    return [*ls[:-1], ls[-1][: len(ls[-1]) // 2]], len(ls)


CASES = {
    # name: (edit returning (lines, the 1-based line that is wrong), counter, words)
    "gap": (drop_row, "seq_gap_count", "CITY-A-001: seq jumps 6 -> 8"),
    "duplicate": (repeat_row, "seq_duplicate_count", "CITY-A-002: seq 9 repeated"),
    "bad_timestamp": (
        edit_cell(5, 2, "2026-13-40T99:00:00Z"),
        "invalid_timestamp_count",
        "received_at '2026-13-40T99:00:00Z' is not YYYY-MM-DDTHH:MM:SSZ",
    ),
    "level_out_of_range": (
        edit_cell(9, 7, "104.50"),
        "level_out_of_bounds_count",
        "level_pct 104.5",
    ),
    # cells the fast pass must not prove clean (NaN compares false with every bound; a time
    # without its zone parses as one), so that the exact pass names them
    "level_nan": (edit_cell(9, 7, "nan"), "level_out_of_bounds_count", "level_pct nan"),
    "time_without_zone": (
        time_without_zone,
        "invalid_timestamp_count",
        "is not YYYY-MM-DDTHH:MM:SSZ",
    ),
    "wrong_column_count": (
        extra_cell,
        "invalid_row_count",
        "wrong column count: 27 columns, the header has 26",
    ),
    "truncated_last_line": (truncate_last, "invalid_row_count", "truncated last line"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hand_broken_csvs_are_caught_and_named(case, clean_export, tmp_path, plugins):
    edit, counter, words = CASES[case]
    wrong_line = []

    def apply(lines: list[str]) -> list[str]:
        edited, line = edit(lines)
        wrong_line.append(line)
        return edited

    out = analyze(plugins, broken_copy(clean_export, tmp_path, apply))
    assert out["qc_passed"] is False
    assert out[counter] == 1, out
    assert out["manifest_mismatch_count"] >= 1  # the file changed: its hash no longer matches
    assert f"line {wrong_line[0]}: " + words in [p.split(" (")[0] for p in out["problems"]] or any(
        p.startswith(f"line {wrong_line[0]}: ") and words in p for p in out["problems"]
    ), (wrong_line, out["problems"])
    assert out["truncated_last_line"] is (case == "truncated_last_line")
    # the hash mismatch is the manifest's finding, not a CSV line's (it read "line 0")
    assert not any(p.startswith("line 0") for p in out["problems"]), out["problems"]
    assert any(p.startswith("manifest.json: csv_sha256 ") for p in out["problems"]), out["problems"]


def test_missing_or_wrong_artifact_dir(tmp_path, plugins):
    res = run_cli(["analyze-csv", "--artifact-dir", str(tmp_path / "nope")], plugins)
    assert res.exit_code == 2 and "no such artifact directory" in res.stderr
    (tmp_path / "empty").mkdir()
    res = run_cli(["analyze-csv", "--artifact-dir", str(tmp_path / "empty")], plugins)
    assert res.exit_code == 2 and "manifest.json: missing" in res.stderr


def test_the_fast_and_the_exact_pass_agree_on_a_clean_file(clean_export):
    """Clean files take the vectorised pass; broken ones the exact one. On a clean file both
    must produce the same aggregates, device by device."""
    from collections import defaultdict

    from synthkit_reservoir.analyze_fast import fast_scan
    from synthkit_reservoir.analyze_scan import Device, Findings, scan

    csv_path = clean_export / "telemetry_rows.csv"
    fast: dict = defaultdict(Device)
    exact: dict = defaultdict(Device)
    fast_result = fast_scan(csv_path, fast)
    findings = Findings()
    exact_result = scan(csv_path, findings, exact)
    assert fast_result[0] is not None  # the clean file was proven clean by the fast pass
    assert fast_result == exact_result and not findings.counts
    assert set(fast) == set(exact)
    for name, dev in exact.items():
        other = fast[name]
        assert (
            other.rows,
            other.supply_events,
            other.days,
            other.runout_days,
            other.mode,
            other.archetype,
        ) == (dev.rows, dev.supply_events, dev.days, dev.runout_days, dev.mode, dev.archetype)
        for field in ("liters_sum", "inflow", "outflow", "loss", "km"):
            assert getattr(other, field) == pytest.approx(getattr(dev, field), rel=1e-9), (
                name,
                field,
            )


@pytest.mark.parametrize("case", list(CASES))
def test_every_broken_case_is_refused_by_the_fast_pass(case, clean_export, tmp_path):
    from collections import defaultdict

    from synthkit_reservoir.analyze_fast import fast_scan
    from synthkit_reservoir.analyze_scan import Device

    edit = CASES[case][0]
    artifact = broken_copy(clean_export, tmp_path, lambda lines: edit(lines)[0])
    assert fast_scan(artifact / "telemetry_rows.csv", defaultdict(Device))[0] is None
