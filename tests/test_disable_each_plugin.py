"""Disabling any one plugin (issue 12): every command either still works or says what is
missing with exit 2; none ends in an internal error. Before, disabling `mqtt` broke `run`,
`publish` and `ingest listen` with internal errors."""

from __future__ import annotations

import importlib_metadata
import pytest

from synthkit.plugins import GROUP, build_plugins
from synthkit.testing import run_cli
from tests.conftest import ROOT

NAMES = sorted(
    ep.name for ep in importlib_metadata.entry_points(group=GROUP) if ep.dist.name == "synthkit"
)
DEMO = str(ROOT / "scenarios" / "demo_city_v1.yaml")
END = "2026-01-15T00:00:00Z"


def commands(tmp_path):
    common = ["--scenario", DEMO, "--state-file", str(tmp_path / "st.json")]
    return {
        "telematics generate": [
            "telematics",
            "generate",
            "--events",
            "300",
            "--out",
            str(tmp_path / "t.jsonl"),
        ],
        "validate": [*common, "validate"],
        "export-csv": [
            *common,
            "export-csv",
            "--end-at",
            END,
            "--output-root",
            str(tmp_path / "out"),
        ],
        "db init": ["db", "init", "--db-url", f"sqlite:///{tmp_path / 'x.db'}"],
        "run (no broker listening)": [*common, "run", "--iterations", "1", "--port", "1"],
    }


@pytest.mark.parametrize("disabled", NAMES)
def test_with_one_plugin_disabled_every_command_works_or_says_what_is_missing(
    disabled, tmp_path, monkeypatch
):
    monkeypatch.setenv("SYNTHKIT_DISABLE_PLUGINS", disabled)
    plugins = build_plugins()
    assert disabled not in {name for name, _ in plugins.pm.list_name_plugin()}
    for what, args in commands(tmp_path).items():
        res = run_cli(args, build_plugins())
        assert res.exit_code in (0, 2, 3), (
            f"{what} without {disabled}: {res.exit_code} {res.stderr}"
        )
        assert "internal error" not in res.stderr and "Traceback" not in res.stderr, (
            f"{what} without {disabled}"
        )
        if res.exit_code == 2:
            assert res.stderr.strip(), f"{what} without {disabled} failed silently"


def test_the_commands_that_need_a_plugin_name_it(tmp_path, monkeypatch):
    cases = {
        "jsonl": ("telematics generate", "cannot tell the format"),
        "stationary_tank": ("validate", "needs device model 'stationary_tank'"),
        "stationary_archetype_a": ("export-csv", "unknown archetype 'stationary_archetype_a'"),
        "mqtt": ("run (no broker listening)", "install (or enable) synthkit's mqtt sink plugin"),
    }
    for disabled, (what, words) in cases.items():
        monkeypatch.setenv("SYNTHKIT_DISABLE_PLUGINS", disabled)
        res = run_cli(commands(tmp_path)[what], build_plugins())
        assert res.exit_code == 2 and words in res.stderr, (disabled, res.stderr)
