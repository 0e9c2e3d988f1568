"""Issue 24 item 4: a run record holds everything the payload bytes depend on (its transforms
and their options, and where its rows went); replay re-creates exactly that by default."""

from __future__ import annotations

import json
import types
from dataclasses import replace
from pathlib import Path

import numpy as np
from pydantic import Field

from synthkit import hookimpl
from synthkit.api import Batch, SinkOptions, Transform, TransformSpec
from synthkit.plugins import build_plugins
from synthkit.runs import RunLog, runs_dir
from synthkit.testing import run_cli
from tests.test_closed_loop import SCENARIO, delete, rows


class NudgeOptions(SinkOptions):
    by: int = Field(1, ge=0)
    drop: bool = False


class Nudge(Transform):
    """A row-pure transform: each row's signal moves by (seq % 5) * by; with ``drop``, every
    row whose seq % 4 == 3 is dropped (a dropout that replay must re-create, not trip over)."""

    def __init__(self, options: NudgeOptions, seed: int) -> None:
        self.options = options

    def apply(self, batch: Batch) -> Batch:
        seq = batch.column("seq").values
        cols = [
            replace(c, values=c.values + (seq % 5) * self.options.by)
            if c.name == "signal_strength_dbm"
            else c
            for c in batch.columns
        ]
        if self.options.drop:
            kept = np.flatnonzero(seq % 4 != 3)
            cols = [c.take(kept) for c in cols]
        return Batch(cols)


def with_nudge():
    module = types.ModuleType("nudge")
    module.synthkit_register_transforms = hookimpl(
        lambda: [TransformSpec("nudge", Nudge, options=NudgeOptions)]
    )
    plugins = build_plugins()
    plugins.register(module, "nudge")
    return plugins


def test_replay_re_applies_the_runs_transforms_into_the_runs_store(tmp_path):
    """Before: the record had no transform chain, so replay applied whatever --transform said
    now (a dropout ended in `internal error: RuntimeError: replay ... produced 0 rows`), and
    `replay --report` of an ingest run wrote to the default --db-url, not where the run went."""
    url = f"sqlite:///{tmp_path}/a.db"
    path = tmp_path / "loop.yaml"
    path.write_text(SCENARIO.format(count=2))
    plugins = with_nudge()
    chain = [
        "--transform",
        "nudge",
        "--transform-option",
        "nudge.by=3",
        "--transform-option",
        "nudge.drop=true",
    ]
    for args in (
        ["db", "init", "--db-url", url],
        ["--scenario", str(path), "db", "register", "--db-url", url],
    ):
        assert run_cli(args, plugins).exit_code == 0
    boot = run_cli([*chain, "--scenario", str(path), "bootstrap", "--db-url", url], plugins)
    assert boot.exit_code == 0, boot.stderr
    run_id = json.loads(boot.stdout)["run_id"]
    record = RunLog(runs_dir(Path(".tmp/synthetic_sim_seq_state.json"))).load(run_id)
    assert record.transforms == ("nudge",) and record.transform_options == (
        "nudge.by=3",
        "nudge.drop=true",
    )
    before = rows(url)
    assert before and all(s % 4 != 3 for _, s, *_ in before)  # the dropout happened
    delete(url, "mqtt_client_id = 'LOOP-01' AND seq BETWEEN 8 AND 20")
    report = tmp_path / "r.json"
    assert run_cli(["reconcile", "--db-url", url, "--report", str(report)], plugins).exit_code == 3
    # no --db-url, no --transform: the record says both (the default database is elsewhere)
    done = run_cli(["replay", "--report", str(report)], plugins)
    assert done.exit_code == 0, done.stderr
    summary = json.loads(done.stdout)["runs"][0]
    assert summary["transforms"] == ["nudge"] and summary["outcomes"] == {"stored:NEW": 10}
    assert rows(url) == before  # every column, payload bytes included
    assert not Path(".tmp/synthkit.db").exists()
