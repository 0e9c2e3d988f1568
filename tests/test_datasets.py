"""Datasets and executors (issue 28): a run's shards written as parts of one dataset, the
manifest written last; shards on Dask workers (a local cluster, and a scheduler of the test's
own whose worker is killed mid-part); the shards' state files side by side."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthkit.api import ConfigError, Part, PartFile, SeqState, Shard, seal
from synthkit.executor import shard_argv
from tests.conftest import BIN, ROOT

FAULTS = ROOT / "scenarios" / "faults_demo_v1.yaml"
CITY = ROOT / "scenarios" / "demo_city_v1.yaml"
END = "2026-02-12T10:00:00Z"


def synthkit(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([str(BIN / "synthkit"), *args], capture_output=True, text=True,
                         timeout=600)  # fmt: skip
    assert res.returncode == code, res.stderr
    return res


def test_a_shards_command_line_is_the_runs_without_the_executors_flags():
    argv = ["--scenario", "s.yaml", "export-csv", "--shards", "4", "--executor=dask",
            "--workers", "2", "--scheduler", "tcp://h:8786", "--run-id", "x"]  # fmt: skip
    assert shard_argv(argv, Shard(3, 4)) == [
        "--scenario", "s.yaml", "export-csv", "--run-id", "x", "--shard", "3/4",
    ]  # fmt: skip


def test_without_dask_the_dask_executor_says_how_to_get_it(monkeypatch):
    from synthkit.executor import Executor, run_shards

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were not installed
    with pytest.raises(ConfigError, match=r"pip install 'synthkit\[dask\]'"):
        run_shards(Executor("dask"), ["telematics", "generate"], 2, lambda n: None)
    with pytest.raises(ConfigError, match="--workers is for --executor processes or dask"):
        Executor("inline", workers=2)
    with pytest.raises(ConfigError, match="is not an executor"):
        Executor("spark")


def test_the_shards_summaries_are_one_runs():
    from synthkit.api import merge_summaries

    one = {"command": "run", "run_id": "a", "shard": "1/2", "emitted": 3, "complete": True,
           "devices": {"A": {"emitted": 3}}, "warnings": [], "late_seconds_max": 0.5,
           "elapsed_seconds": 2.0, "messages_per_second": 10, "interrupted": False}  # fmt: skip
    two = {"command": "run", "run_id": "b", "shard": "2/2", "emitted": 4, "complete": False,
           "devices": {"B": {"emitted": 4}}, "warnings": ["x"], "late_seconds_max": 0.2,
           "elapsed_seconds": 1.0, "messages_per_second": 10, "interrupted": False}  # fmt: skip
    assert merge_summaries([one, two]) == {
        "command": "run", "run_ids": ["a", "b"], "emitted": 7, "complete": False,
        "devices": {"A": {"emitted": 3}, "B": {"emitted": 4}}, "warnings": ["x"],
        "late_seconds_max": 0.5, "elapsed_seconds": 2.0, "messages_per_second": 20,
        "interrupted": False,
    }  # fmt: skip


def test_shards_hold_their_own_state_side_by_side_and_a_whole_run_reads_them_all(tmp_path):
    """Two shards of one run hold the state together (each its own file); a whole-fleet run,
    or a shard of another count, is refused meanwhile; afterwards every run sees both."""
    main = tmp_path / "st" / "state.json"
    with (
        SeqState.held(main, shard=Shard(1, 2)) as one,
        SeqState.held(main, shard=Shard(2, 2)) as two,
    ):
        with pytest.raises(ConfigError, match="held by another synthkit process"):
            with SeqState.held(main):
                pass
        with pytest.raises(ConfigError, match=r"shard [12]/2 is running"):
            with SeqState.held(main, shard=Shard(1, 4)):
                pass
        one.advance("A", 41)
        two.advance("B", 7)
        one.save()
        two.save()
    assert sorted(p.name for p in (tmp_path / "st" / "state.json.shards").glob("*.json")) == [
        "1-of-2.json", "2-of-2.json",
    ]  # fmt: skip
    assert (SeqState.load(main).next_seq("A"), SeqState.load(main).next_seq("B")) == (42, 8)
    with SeqState.held(main) as whole:  # a whole-fleet run counts on from both
        assert whole.next_seq("A") == 42 and whole.next_seq("B") == 8
        whole.advance("A", 50)
        whole.save()
    with SeqState.held(main, shard=Shard(2, 2)) as again:  # and a shard from the whole run's
        assert again.next_seq("A") == 51 and again.next_seq("B") == 8
    for lock in [*tmp_path.glob("st/*.lock"), *tmp_path.glob("st/*/*.lock")]:
        assert lock.read_bytes() == b""  # kept beside a state file, naming no holder


def test_a_dataset_is_sealed_only_whole_and_of_one_run(tmp_path):
    about = {"run": 1}
    for k in (1, 3):
        (tmp_path / f"p{k}").write_text("x" * k)
        Part(Shard(k, 3), tmp_path, about).record([PartFile(f"p{k}", "h", k, k)], {"k": k})
    with pytest.raises(ConfigError, match=r"1 of 3 shard\(s\) not written yet \(2/3\)"):
        seal(tmp_path, verify=False)
    with pytest.raises(ConfigError, match="part part-00002-of-00003 of another run"):
        (tmp_path / "_parts" / "part-00002-of-00003.json").write_text(
            '{"shard": "2/3", "about": {}}'
        )
        Part(Shard(2, 3), tmp_path, about).done()
    (tmp_path / "p2").write_text("xx")
    Part(Shard(2, 3), tmp_path, about).record([PartFile("p2", "h", 3, 2)], {})
    with pytest.raises(ConfigError, match="not the size its part record says"):
        seal(tmp_path, verify=False)  # p2 has 2 bytes, its record says 3
    Part(Shard(2, 3), tmp_path, about).record([PartFile("p2", "h", 2, 2)], {})
    assert not (tmp_path / "dataset.json").exists()
    assert seal(tmp_path, verify=False)["rows"] == 6
    with pytest.raises(ConfigError, match="is a sealed dataset"):
        Part(Shard(1, 3), tmp_path, about).done()


def _rows(directory: Path, pattern: str) -> list[str]:
    lines: list[str] = []
    for path in sorted(directory.glob(pattern)):
        lines.extend(path.read_text().splitlines()[1:])  # csv: each part has its header
    return sorted(lines)


@pytest.mark.slow
def test_export_shards_on_a_dask_cluster_are_the_inline_dataset_and_the_single_export(tmp_path):
    """--shards 4 on a two-worker LocalCluster writes the dataset that --executor inline
    writes, byte for byte (dataset.json too), its rows and labels the single export's."""

    def export(root: str, *extra: str) -> dict:
        return json.loads(synthkit("--scenario", str(FAULTS), "--state-file", str(tmp_path / "s.json"),
                                   "export-csv", "--output-root", str(tmp_path / root), "--end-at",
                                   END, "--run-id", "r", *extra).stdout)  # fmt: skip

    export("whole")
    inline = export("inline", "--shards", "4")
    on_dask = export("dask", "--shards", "4", "--executor", "dask", "--workers", "2")
    export("processes", "--shards", "4", "--executor", "processes", "--workers", "2")
    assert on_dask["executor"] == "dask" and len(on_dask["peak_rss_mb"]) == 2
    names = ("whole", "inline", "dask", "processes")
    base = {name: tmp_path / name / "faults_demo_v1" / "r" for name in names}
    for name in ("dask", "processes"):
        assert (base[name] / "dataset.json").read_bytes() == (
            base["inline"] / "dataset.json"
        ).read_bytes()
    assert on_dask["rows"] == inline["rows"] == len(_rows(base["whole"], "telemetry_rows.csv"))
    assert _rows(base["dask"], "part-*/telemetry_rows.csv") == _rows(
        base["whole"], "telemetry_rows.csv"
    )
    labels = sorted(
        line
        for p in base["dask"].glob("part-*/telemetry_rows.csv.labels.jsonl")
        for line in p.read_text().splitlines()
    )
    whole = (base["whole"] / "telemetry_rows.csv.labels.jsonl").read_text().splitlines()
    assert labels == sorted(whole) and labels
    verified = json.loads(synthkit("dataset", "verify", str(base["dask"])).stdout)
    assert verified["complete"] and verified["shards"] == 4
    assert not (tmp_path / "s.json").exists() and not list(tmp_path.glob("s.json*"))


@pytest.mark.slow
def test_import_csv_of_a_dataset_stores_what_the_single_import_stores(tmp_path):
    """import-csv --apply of a dataset: every part checked first, then stored as one run;
    the database holds the single import's rows, and reconcile finds each part's record."""
    common = ["--scenario", str(CITY), "export-csv", "--output-root", str(tmp_path / "out"),
              "--end-at", END]  # fmt: skip
    synthkit("--state-file", str(tmp_path / "e.json"), *common, "--run-id", "one")
    synthkit("--state-file", str(tmp_path / "e.json"), *common, "--run-id", "four",
             "--shards", "4")  # fmt: skip
    stored = {}
    for name in ("one", "four"):
        url = f"sqlite:///{tmp_path}/{name}.db"
        synthkit("--scenario", str(CITY), "--db-url", url, "db", "init")
        synthkit("--scenario", str(CITY), "--db-url", url, "db", "register")
        out = json.loads(synthkit("--scenario", str(CITY), "--state-file",
                                  str(tmp_path / f"{name}.json"), "import-csv", "--artifact-dir",
                                  str(tmp_path / "out" / "demo_city_v1" / name), "--db-url", url,
                                  "--apply").stdout)  # fmt: skip
        assert out["status_counts"] == {"stored:NEW": out["row_count"]}
        with sqlite3.connect(tmp_path / f"{name}.db") as conn:
            stored[name] = sorted(conn.execute(
                "SELECT mqtt_client_id, seq, received_at, payload FROM telemetry").fetchall())  # fmt: skip
    assert len(stored["one"]) > 100_000 and stored["four"] == stored["one"]
    assert len(out["run_ids"]) == 4
    check = json.loads(synthkit("--state-file", str(tmp_path / "four.json"), "reconcile",
                                "--db-url", f"sqlite:///{tmp_path}/four.db").stdout)  # fmt: skip
    assert check["complete"] and check["stored"] == len(stored["one"])
    assert (tmp_path / "four.json").read_bytes() == (tmp_path / "one.json").read_bytes()


@pytest.mark.slow
def test_a_shard_that_fails_leaves_no_manifest_and_a_shard_run_again_keeps_its_part(tmp_path):
    common = ["--scenario", str(FAULTS), "--state-file", str(tmp_path / "s.json"), "export-csv",
              "--output-root", str(tmp_path / "out"), "--end-at", END, "--run-id", "r"]  # fmt: skip
    res = synthkit(*common, "--shards", "64", code=2)  # a small fleet leaves some shard empty
    assert re.search(r"shard \d+/64: shard \d+/64 holds none", res.stderr)
    assert "no manifest was written" in res.stderr and "Traceback" not in res.stderr
    assert not list(tmp_path.glob("out/*/r/dataset.json"))
    first = json.loads(synthkit(*common, "--shard", "1/2").stdout)
    again = json.loads(synthkit(*common, "--shard", "1/2").stdout)  # Dask may run a task twice
    first.pop("notes")  # the run's notes on its transforms: this run wrote nothing
    assert again.pop("kept") is True and again == first
    # shard 2 of another window writes its part (nothing says which run a directory is for
    # until it is sealed), and sealing then refuses the mix
    synthkit(*common[:-4], "--end-at", "2026-02-13T10:00:00Z", "--run-id", "r", "--shard", "2/2")
    mixed = synthkit("dataset", "seal", str(tmp_path / "out" / "faults_demo_v1" / "r"), code=2)
    assert "a part of another run" in mixed.stderr
    res = synthkit(*common[:-4], "--end-at", "2026-02-13T10:00:00Z", "--run-id", "r",
                   "--shard", "1/2", code=2)  # fmt: skip
    assert "holds a part part-00001-of-00002 of another run" in res.stderr


@pytest.mark.slow
def test_a_worker_killed_mid_part_is_retried_and_its_half_part_never_shows(tmp_path):
    """A scheduler and two workers of the test's own; a worker is SIGKILLed while its shard
    writes a part (the shard ends with it), then a shard's own process. Dask runs both tasks
    again, the dataset is sealed with every part once, and it is the inline run's, byte for
    byte; nothing the dead half wrote is left."""
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "3"}
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--scheduler-file", str(sched_file),
                               "--port", "0", "--no-dashboard"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]  # fmt: skip
    try:
        procs.append(subprocess.Popen([str(BIN / "dask"), "worker", "--scheduler-file",
                                       str(sched_file), "--nworkers", "2", "--nthreads", "1",
                                       "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))  # fmt: skip
        from distributed import Client

        deadline = time.monotonic() + 120
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        with Client(scheduler_file=str(sched_file), timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            address = client.scheduler.address
        args = ["telematics", "generate", "--events", "1500000", "--drivers", "40",
                "--options-file", str(ROOT / "scenarios" / "telematics" / "world_v1.yaml")]  # fmt: skip
        run = subprocess.Popen([str(BIN / "synthkit"), *args, "--out", str(tmp_path / "d.jsonl"),
                                "--shards", "2", "--executor", "dask", "--scheduler", address],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        # first a worker (the parent of a shard writing its part), then a shard's own
        # process: Dask runs the one's task elsewhere, and retries the other's
        killed: list[Path] = []
        while len(killed) < 2 and run.poll() is None:
            for temp in (tmp_path / "d.jsonl").glob(".part-*.synthkit-tmp"):
                pid = int(temp.name.split(".")[-2])
                if temp in killed or not Path(f"/proc/{pid}").exists():
                    continue
                worker = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                os.kill(worker if not killed else pid, signal.SIGKILL)  # mid-part
                killed.append(temp)
                break
            time.sleep(0.01)
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
        assert len(killed) == 2, "no part was caught mid-write twice"
        synthkit(*args, "--out", str(tmp_path / "inline.jsonl"), "--shards", "2")
        assert (tmp_path / "d.jsonl" / "dataset.json").read_bytes() == (
            tmp_path / "inline.jsonl" / "dataset.json"
        ).read_bytes()
        assert not any(k.exists() for k in killed) and not list((tmp_path / "d.jsonl").glob(".*"))
        assert json.loads(synthkit("dataset", "verify", str(tmp_path / "d.jsonl")).stdout)[
            "complete"
        ]
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.slow
def test_a_shard_killed_on_processes_stops_the_run_and_running_again_finishes_it(tmp_path):
    """--executor processes: a shard's process SIGKILLed mid-part ends the run with exit 3
    and no manifest; the same command again keeps the part already written, writes the
    missing one, and seals the dataset the inline run writes."""
    args = ["telematics", "generate", "--events", "1200000", "--drivers", "40", "--out"]
    argv = [str(BIN / "synthkit"), *args, str(tmp_path / "d.csv"), "--shards", "2",
            "--executor", "processes"]  # fmt: skip
    run = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    while killed is None and run.poll() is None:
        for temp in (tmp_path / "d.csv").glob(".part-*.synthkit-tmp"):
            os.kill(int(temp.name.split(".")[-2]), signal.SIGKILL)
            killed = temp
            break
        time.sleep(0.005)
    _, err = run.communicate(timeout=300)
    assert killed is not None, "no part was caught mid-write"
    assert run.returncode == 3 and "its process was killed (signal 9)" in err, err
    assert not (tmp_path / "d.csv" / "dataset.json").exists()
    again = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    synthkit(*args, str(tmp_path / "inline.csv"), "--shards", "2")
    assert (tmp_path / "d.csv" / "dataset.json").read_bytes() == (
        tmp_path / "inline.csv" / "dataset.json"
    ).read_bytes()
    assert not list((tmp_path / "d.csv").glob(".*"))
