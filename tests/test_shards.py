"""`--shard K/N` (issue 28, first part): shard K of N takes the streams a hash of their id
gives it; the N shards' outputs together are the single run's, row for row, labels too."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from synthkit.api import ConfigError, Shard
from tests.conftest import BIN

WORLD = Path(__file__).resolve().parents[1] / "scenarios" / "telematics" / "world_v1.yaml"


def test_a_shard_is_a_stable_share_of_the_streams():
    ids = [f"D{d:04d}" for d in range(1000)]
    shards = [Shard.parse(f"{k}/4") for k in range(1, 5)]
    held = [set(s.of(ids)) for s in shards if s is not None]
    assert set().union(*held) == set(range(1000)) and sum(map(len, held)) == 1000
    assert all(200 < len(h) < 300 for h in held)  # a hash spreads them
    more = [*ids, *(f"D{d:04d}" for d in range(1000, 1500))]  # adding streams moves none
    assert [set(s.of(more)) & set(range(1000)) for s in shards if s is not None] == held
    assert Shard.parse(None) is None
    for bad in ("0/4", "5/4", "2", "a/b", "1/0"):
        with pytest.raises(ConfigError, match="is not a shard"):
            Shard.parse(bad)


def generate(tmp: Path, name: str, *args: str) -> dict:
    res = subprocess.run(
        [str(BIN / "synthkit"), "telematics", "generate", "--out", str(tmp / name), *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def rows_of(path: Path) -> list[str]:
    """A file's records as text lines, whatever the sink (a CSV's header left out)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [json.dumps(r, sort_keys=True, default=str) for r in pq.read_table(path).to_pylist()]
    lines = path.read_text().splitlines()
    return lines[1:] if path.suffix == ".csv" else lines


@pytest.mark.slow
@pytest.mark.parametrize("ending", ["jsonl", "csv", "parquet"])
def test_four_shards_together_are_the_single_run(tmp_path, ending):
    """Each --shard K/4 writes its part of the dataset --out names; sealed, the parts hold
    the single run's events and labels."""
    args = ("--events", "20003", "--drivers", "37", "--options-file", str(WORLD))
    whole = generate(tmp_path, f"all.{ending}", *args)
    rows: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    for k in range(1, 5):
        part = generate(tmp_path, f"parts.{ending}", *args, "--shard", f"{k}/4")
        assert part["shard"] == f"{k}/4" and part["dataset"] == str(tmp_path / f"parts.{ending}")
        name = tmp_path / f"parts.{ending}" / f"part-{k:05d}-of-00004.{ending}"
        rows.update(rows_of(name))
        labels.update(name.with_name(name.name + ".labels.jsonl").read_text().splitlines())
    assert rows == Counter(rows_of(tmp_path / f"all.{ending}"))
    assert sum(rows.values()) == whole["events"]
    assert labels == Counter((tmp_path / f"all.{ending}.labels.jsonl").read_text().splitlines())
    sealed = subprocess.run([str(BIN / "synthkit"), "dataset", "seal", str(tmp_path / f"parts.{ending}")],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert sealed.returncode == 0, sealed.stderr
    assert json.loads(sealed.stdout)["rows"] == whole["events"]


@pytest.mark.slow
def test_a_bad_shard_is_one_clear_answer(tmp_path):
    res = subprocess.run(
        [str(BIN / "synthkit"), "telematics", "generate", "--out", str(tmp_path / "x.jsonl"),
         "--shard", "5/4"], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 2 and "--shard '5/4' is not a shard" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "x.jsonl").exists()


@pytest.mark.slow
def test_four_export_shards_together_are_the_single_export(tmp_path):
    """export-csv --shard K/N, four processes with one state file: each writes its part of
    the dataset (an artifact analyze-csv passes on its own); sealed, analyze-csv reads the
    dataset as one and finds what it finds in the single export: its rows and labels."""
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "faults_demo_v1.yaml"

    def synthkit(*args: str) -> dict:
        res = subprocess.run([str(BIN / "synthkit"), *args], capture_output=True, text=True,
                             timeout=300)  # fmt: skip
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    def export(state: str, run_id: str, *extra: str) -> dict:
        return synthkit("--scenario", str(scenario), "--state-file", str(tmp_path / state),
                        "export-csv", "--output-root", str(tmp_path / "out"), "--run-id", run_id,
                        "--end-at", "2026-02-12T10:00:00Z", *extra)  # fmt: skip

    export("one.json", "whole")
    for k in range(1, 5):
        export("sharded.json", "parts", "--shard", f"{k}/4")
    (whole,) = (tmp_path / "out").glob("*/whole")
    parts = whole.with_name("parts")
    rows: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    for k in range(1, 5):
        part = parts / f"part-{k:05d}-of-00004"
        lines = (part / "telemetry_rows.csv").read_text().splitlines()
        rows.update(lines[1:])
        labels.update((part / "telemetry_rows.csv.labels.jsonl").read_text().splitlines())
        assert synthkit("analyze-csv", "--artifact-dir", str(part))["qc_passed"]
    single = (whole / "telemetry_rows.csv").read_text().splitlines()
    assert rows == Counter(single[1:])
    assert labels == Counter((whole / "telemetry_rows.csv.labels.jsonl").read_text().splitlines())
    assert synthkit("dataset", "seal", str(parts))["rows"] == len(single) - 1
    one, four = (synthkit("analyze-csv", "--artifact-dir", str(d)) for d in (whole, parts))
    for key in ("artifact_dir", "csv_sha256", "parts"):
        one.pop(key, None), four.pop(key, None)
    one["labels"].pop("file"), four["labels"].pop("file")
    assert four == one and four["qc_passed"] and four["labels"]["records"] > 0


@pytest.mark.slow
def test_four_bootstrap_shards_store_what_the_single_bootstrap_stores(tmp_path):
    """bootstrap --shard K/N with a shared --end-at: the four shards, one after another into
    one SQLite database, store exactly the rows the single bootstrap stores in another."""
    import sqlite3

    scenario = str(Path(__file__).resolve().parents[1] / "scenarios" / "faults_demo_v1.yaml")

    def synthkit(*args: str) -> None:
        res = subprocess.run([str(BIN / "synthkit"), "--scenario", scenario, *args],
                             capture_output=True, text=True, timeout=300)  # fmt: skip
        assert res.returncode == 0, res.stderr

    for name, shards in (("one", [None]), ("four", [f"{k}/4" for k in range(1, 5)])):
        url = f"sqlite:///{tmp_path}/{name}.db"
        synthkit("--db-url", url, "db", "init")
        synthkit("--db-url", url, "db", "register")
        for shard in shards:
            synthkit("--state-file", str(tmp_path / f"{name}.json"), "bootstrap", "--db-url", url,
                     "--end-at", "2026-02-12T10:00:00Z", *(("--shard", shard) if shard else ()))  # fmt: skip

    def stored(name: str) -> list[tuple]:
        with sqlite3.connect(tmp_path / f"{name}.db") as conn:  # every column but the row id
            return sorted(conn.execute(
                "SELECT mqtt_client_id, seq, received_at, reservoir_id, distance_mm, level_pct,"
                " liters, payload FROM telemetry"
            ).fetchall())  # fmt: skip

    one = stored("one")
    assert len(one) > 40_000 and stored("four") == one


@pytest.mark.slow
@pytest.mark.services
def test_live_shards_publish_together_what_the_single_run_publishes(tmp_path):
    """run --shard K/N (and telematics publish --shard K/N) on the machine's broker: the four
    shards' messages, (topic, payload) for each, are the single run's."""
    import uuid

    from tests.live import Subscriber, topic_block

    def fills_all(prefix: str) -> bool:  # a small fleet may leave a shard empty: not this one
        ids = [f"{prefix}-A{n}" for n in range(1, 10)]
        return all(Shard(k, 4).of(ids) for k in range(1, 5))

    prefix = next(
        p for p in ("SH" + uuid.uuid4().hex[:6].upper() for _ in range(1000)) if fills_all(p)
    )
    root = f"sk-test-{prefix.lower()}"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "scenario_id: shards_t\nseed: 5\nspeedup_factor: 60000\n"
        "bootstrap: {days: 1, step_minutes: 5}\ndevices:\n"
        f'  - {{group: a, count: 9, id_pattern: "{prefix}-A{{n}}", archetype: stationary_archetype_a, cadence_seconds: 300}}\n'
        + topic_block(root)
    )

    def heard(*args: str, expect: int, topic: str) -> Counter[tuple[str, bytes]]:
        sub = Subscriber(topic)
        try:
            for shard in args:
                res = subprocess.run([str(BIN / "synthkit"), *shard.split("\x00")],
                                     capture_output=True, text=True, timeout=300)  # fmt: skip
                assert res.returncode == 0, res.stderr
            return Counter(sub.wait(expect))
        finally:
            sub.close()

    run = ["--scenario", str(scenario), "run", "--start-at", "2026-03-01T00:00:00Z",
           "--iterations", "5"]  # fmt: skip
    single = heard("\x00".join(["--state-file", str(tmp_path / "one.json"), *run]),
                   expect=45, topic=f"{root}/+/telemetry")  # fmt: skip
    shards = heard(*("\x00".join(["--state-file", str(tmp_path / "four.json"), *run, "--shard",
                                  f"{k}/4"]) for k in range(1, 5)),
                   expect=45, topic=f"{root}/+/telemetry")  # fmt: skip
    assert shards == single
    spread = heard("\x00".join(["--state-file", str(tmp_path / "two.json"), *run, "--workers", "2"]),
                   expect=45, topic=f"{root}/+/telemetry")  # fmt: skip
    assert spread == single  # run --workers 2: the fleet over two processes, as one run

    publish = ["telematics", "publish", "--drivers", "11", "--events", "60", "--interval", "0",
               "--clock", "simulated", "--start", "2026-01-05T00:00:00Z",
               "--topic", root + "/t/{driver_id}", "--client-id-prefix", root + "-"]  # fmt: skip
    single = heard("\x00".join(["--state-file", str(tmp_path / "t1.json"), *publish]),
                   expect=60, topic=f"{root}/t/+")  # fmt: skip
    shards = heard(*("\x00".join(["--state-file", str(tmp_path / "t4.json"), *publish,
                                  "--shard", f"{k}/4"]) for k in range(1, 5)),
                   expect=60, topic=f"{root}/t/+")  # fmt: skip
    assert shards == single
    spread = heard("\x00".join(["--state-file", str(tmp_path / "t2.json"), *publish,
                                 "--workers", "2"]), expect=60, topic=f"{root}/t/+")  # fmt: skip
    assert spread == single
    records = subprocess.run([str(BIN / "synthkit"), "--state-file", str(tmp_path / "t2.json"),
                              "runs", "--json"], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert records.returncode == 0 and len(json.loads(records.stdout)["runs"]) == 2


@pytest.mark.slow
def test_an_empty_reservoir_shard_is_one_clear_answer(tmp_path):
    """A shard a small fleet leaves empty: exit 2 saying so (not an internal error)."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "scenario_id: empty_shard\nseed: 5\nbootstrap: {days: 1, step_minutes: 5}\ndevices:\n"
        '  - {group: a, count: 1, id_pattern: "ES-A{n}", archetype: stationary_archetype_a}\n'
    )
    (empty,) = [k for k in range(1, 5) if not Shard(k, 4).holds("ES-A1")][:1]
    res = subprocess.run(
        [str(BIN / "synthkit"), "--scenario", str(scenario), "--state-file",
         str(tmp_path / "s.json"), "export-csv", "--output-root", str(tmp_path / "out"),
         "--end-at", "2026-02-12T10:00:00Z", "--shard", f"{empty}/4"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 2 and f"shard {empty}/4 holds none" in res.stderr
    assert "internal error" not in res.stderr and not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.services
@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_a_spread_live_run_stopped_by_sigterm_ends_as_one_run_does(tmp_path, executor):
    """run --workers 2 on the machine's broker (own topics), SIGTERM to the client once both
    shards publish: each shard stops as one run does, and the client ends with their merged
    summary (interrupted, exit 0), every message it counts acknowledged, two run records.
    Under Dask the client had swallowed the signal and waited on shards nobody told."""
    import signal
    import time
    import uuid

    from tests.live import Subscriber, topic_block

    prefix = next(
        p for p in ("SP" + uuid.uuid4().hex[:6].upper() for _ in range(1000))
        if all(Shard(k, 2).of([f"{p}-A{n}" for n in range(1, 13)]) for k in (1, 2))
    )  # fmt: skip
    root = f"sk-test-{prefix.lower()}"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "scenario_id: spread_t\nseed: 5\nspeedup_factor: 600\n"
        "bootstrap: {days: 1, step_minutes: 5}\ndevices:\n"
        f'  - {{group: a, count: 12, id_pattern: "{prefix}-A{{n}}", archetype: stationary_archetype_a, cadence_seconds: 300}}\n'
        + topic_block(root)
    )
    halves = [{f"{prefix}-A{n}" for n in range(1, 13) if Shard(k, 2).holds(f"{prefix}-A{n}")}
              for k in (1, 2)]  # fmt: skip
    sub = Subscriber(f"{root}/+/telemetry")
    try:
        proc = subprocess.Popen(
            [str(BIN / "synthkit"), "--scenario", str(scenario), "--state-file",
             str(tmp_path / "st.json"), "run", "--qos", "1", "--workers", "2",
             "--executor", executor],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # ready: both shards are publishing
            heard = {topic.split("/")[1] for topic, _ in list(sub.messages)}
            if all(heard & half for half in halves) or proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()  # its shards end with it (PR_SET_PDEATHSIG)
        raise
    finally:
        sub.close()
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["interrupted"] is True and summary["workers"] == 2
    assert summary["emitted"] == summary["acknowledged"] > 0 and len(summary["run_ids"]) == 2
    records = subprocess.run([str(BIN / "synthkit"), "--state-file", str(tmp_path / "st.json"),
                              "runs", "--json"], capture_output=True, text=True, timeout=60)  # fmt: skip
    runs = json.loads(records.stdout)["runs"]
    assert sorted(r["run_id"] for r in runs) == sorted(summary["run_ids"])
