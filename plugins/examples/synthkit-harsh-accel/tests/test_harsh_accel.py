"""How a plugin author tests an event type with synthkit's pytest plugin."""

from __future__ import annotations

import json

import synthkit_harsh_accel

pytest_plugins = ["synthkit.testing"]


def test_registers_harsh_accel(synthkit_plugins):
    synthkit_plugins.register(synthkit_harsh_accel, "harsh_accel")
    assert "harsh_accel" in synthkit_plugins.event_types()


def test_generated_rows_carry_accel_g(installed_plugins, run_synthkit, tmp_path):
    if "harsh_accel" not in installed_plugins.event_types():  # not pip-installed: add it here
        installed_plugins.register(synthkit_harsh_accel, "harsh_accel")
    out = tmp_path / "events.jsonl"
    result = run_synthkit(
        [
            "telematics",
            "generate",
            "--events",
            "2000",
            "--weight",
            "harsh_accel=1",
            "--out",
            str(out),
        ],
        plugins=installed_plugins,
    )
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    accel = [r for r in rows if r["event_type"] == "harsh_accel"]
    assert accel and all(0.3 <= r["accel_g"] <= 1.0 for r in accel)
