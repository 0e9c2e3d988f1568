"""Issue 26: a faulted run checked against its ground truth. ``analyze-csv`` reports what a
faulted export shows (seq gaps, repeats, records out of order, stuck readings, drift) beside
what its labels say was meant, and fails QC only on what they do not explain; ``synthkit
score`` scores a detector's output against the labels (precision, recall, F1 per type, per
record and per event)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthkit.testing import run_cli
from tests.test_faults import export, scenario

BLOCK = """\
  - {type: drop, devices: {group: north}, share: 0.2}
  - {type: dropout, devices: [S-03], window: {start: 2026-01-01T10:00:00Z, end: 2026-01-01T12:00:00Z}}
  - {type: duplicate, devices: all, every: 9, copies: 2}
  - {type: late, devices: [N-02], share: 0.3, delay: 40m}
  - type: stuck_at
    name: frozen
    devices: [N-01]
    column: raw_*
    value: 1234
    window: {start: 2026-01-01T06:00:00Z, end: 2026-01-01T09:00:00Z}
  - {type: drift, devices: [S-01, S-02], column: temperature_c, per_day: 40}
"""


@pytest.fixture(scope="module")
def faulted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("truth")
    rows, labels, csv_path = export(tmp, scenario(tmp, BLOCK), "faulted")
    return rows, labels, csv_path


def analyze(directory: Path) -> tuple[int, dict]:
    res = run_cli(["analyze-csv", "--artifact-dir", str(directory)])
    assert res.exit_code in (0, 3), res.stderr
    return res.exit_code, json.loads(res.stdout)


def effects(labels: list[dict], effect: str) -> int:
    return sum(
        x.get("copies", 1) if effect == "repeated" else 1 for x in labels if x["effect"] == effect
    )


def test_analyze_csv_sees_what_the_labels_meant_and_passes(faulted):
    _, labels, csv_path = faulted
    code, result = analyze(csv_path.parent)
    assert code == 0 and result["qc_passed"], result["problems"]
    seen = result["labels"]
    dropped, repeated, delayed = (effects(labels, e) for e in ("dropped", "repeated", "delayed"))
    assert dropped and repeated and delayed
    # every dropped record is a gap in its device's seqs, every repeat an extra copy
    assert seen["seq_gaps"] == {
        "seen": dropped, "labelled": dropped, "meant": dropped, "unexplained": 0, "not_seen": 0,
    }  # fmt: skip
    assert seen["repeated_records"]["meant"] == repeated == seen["repeated_records"]["seen"]
    # a record held 40 minutes at a 5-minute cadence is overtaken: out of order, and meant
    assert seen["out_of_order"]["unexplained"] == 0
    assert 0 < seen["out_of_order"]["meant"] <= delayed
    stuck = seen["stuck_runs"]
    # a record repeated after the sensor stuck has a label per copy: counted once here
    stuck_at = {(x["stream"], x["seq"]) for x in labels if x["fault"] == "stuck_at"}
    assert stuck["labelled_records"] == len(stuck_at) > 0
    assert stuck["labelled_records_in_a_run"] == stuck["labelled_records"]
    assert stuck["runs_labelled"] == 5  # raw_1..raw_5 of N-01
    (drift,) = seen["drift"]
    assert drift["per_day"] == 40 and abs(drift["seen_per_day"] - 40) < 8
    # the manifest's planned rows per device, less drops plus repeats, match the file
    assert result["manifest_mismatch_count"] == 0


def test_what_the_labels_do_not_explain_fails_qc_and_is_named(faulted, tmp_path):
    _, labels, csv_path = faulted
    copy = tmp_path / "artifact"
    copy.mkdir()
    for f in csv_path.parent.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    # the label of one dropped record lost: its gap is now a problem, named by device and seq
    lines = (copy / (csv_path.name + ".labels.jsonl")).read_text().splitlines()
    gone = next(i for i, x in enumerate(lines) if json.loads(x)["effect"] == "dropped")
    lost = json.loads(lines[gone])
    # and a drop labelled that never happened: the file still holds that record
    kept = next(x for x in map(json.loads, lines) if x["effect"] == "changed")
    fake = {**kept, "fault": "drop", "effect": "dropped", "name": "drop-1"}
    lines = lines[:gone] + lines[gone + 1 :] + [json.dumps(fake)]
    (copy / (csv_path.name + ".labels.jsonl")).write_text("\n".join(lines) + "\n")
    code, result = analyze(copy)
    assert code == 3 and not result["qc_passed"]
    assert result["seq_gap_count"] == 1
    assert f"seq gaps not labelled: {lost['stream']} seq {lost['seq']}" in result["problems"]
    assert result["label_mismatch_count"] == 1
    assert result["labels"]["seq_gaps"]["not_seen"] == 1


def test_an_export_without_faults_is_analyzed_as_before(tmp_path):
    _, labels, csv_path = export(tmp_path, scenario(tmp_path), "plain")
    code, result = analyze(csv_path.parent)
    assert labels == [] and code == 0 and "labels" not in result


def write_lines(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def score(labels: Path, detections: Path) -> dict:
    res = run_cli(["score", "--labels", str(labels), "--detections", str(detections)])
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


def label(stream: str, seq: int, fault: str, name: str) -> dict:
    return {"stream": stream, "seq": seq, "at": "2026-01-01T00:00:00Z", "fault": fault,
            "effect": "changed", "name": name}  # fmt: skip


def test_score_counts_records_and_events_by_hand(tmp_path):
    # stuck_at: one event of A 10..13 and one of B 5..6; spike: A 20 alone
    truth = [label("A", s, "stuck_at", "frozen") for s in range(10, 14)]
    truth += [label("B", 5, "stuck_at", "frozen"), label("B", 6, "stuck_at", "frozen")]
    truth += [label("A", 20, "spike", "spikes")]
    labels = write_lines(tmp_path / "x.labels.jsonl", truth)
    # the detector finds A 11..12 (one event, two records) and flags C 1..2 as stuck (wrong),
    # and A 20 as a spike
    flagged = [{"stream": "A", "seq": s, "fault": "stuck_at"} for s in (11, 12)]
    flagged += [{"device_id": "C", "seq": s, "fault": "stuck_at"} for s in (1, 2)]
    flagged += [{"stream": "A", "seq": 20, "type": "spike"}]
    result = score(labels, write_lines(tmp_path / "d.jsonl", flagged))
    stuck = result["by_type"]["stuck_at"]
    assert stuck["records"] == {"labelled": 6, "flagged": 4, "found": 2, "precision": 0.5,
                                "recall": round(2 / 6, 4), "f1": 0.4}  # fmt: skip
    # events: 2 labelled, 1 found; 2 flagged (A 11..12, C 1..2), 1 right
    assert stuck["events"]["labelled"] == 2 and stuck["events"]["found"] == 1
    assert stuck["events"]["precision"] == 0.5 and stuck["events"]["recall"] == 0.5
    assert result["by_type"]["spike"]["records"]["f1"] == 1.0
    assert result["any"]["records"]["found"] == 3


def test_a_detector_that_names_no_type_gets_recall_per_type(tmp_path):
    truth = [label("A", 1, "stuck_at", "f"), label("A", 2, "spike", "s")]
    labels = write_lines(tmp_path / "x.labels.jsonl", truth)
    detections = tmp_path / "d.csv"
    detections.write_text("device_id,seq\nA,1\nA,9\n")
    result = score(labels, detections)
    assert not result["typed"]
    assert result["by_type"]["stuck_at"]["records"]["recall"] == 1.0
    assert result["by_type"]["stuck_at"]["records"]["precision"] is None
    assert result["by_type"]["spike"]["records"]["recall"] == 0.0
    assert result["any"]["records"]["precision"] == 0.5


def test_a_detector_fed_the_truth_scores_one_on_a_faulted_export(faulted, tmp_path):
    _, labels, csv_path = faulted
    detections = write_lines(tmp_path / "d.jsonl", labels)
    result = score(csv_path.parent, detections)
    for kind, row in result["by_type"].items():
        for part in ("records", "events"):
            assert (row[part]["precision"], row[part]["recall"]) == (1.0, 1.0), (kind, part)


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        ('{"stream": "A", "seq": 1}\n{"stream": "A", "seq": "x"}\n', "d.jsonl", "d.jsonl:2"),
        ('{"stream": "A"}\n', "d.jsonl", "needs a stream"),
        ("stream,seq\nA,1\nA,\n", "d.csv", "d.csv:3: a detection without 'seq'"),
        ("stream,seq\nA,one\n", "d.csv", "not a CSV of detections"),
    ],
)
def test_a_bad_detections_file_is_one_located_answer(tmp_path, content, name, expected):
    labels = write_lines(tmp_path / "x.labels.jsonl", [label("A", 1, "spike", "s")])
    (tmp_path / name).write_text(content)
    res = run_cli(["score", "--labels", str(labels), "--detections", str(tmp_path / name)])
    assert res.exit_code == 2, res.stdout
    assert expected in res.stderr and "Traceback" not in res.stderr


def test_a_bad_labels_file_is_one_located_answer(tmp_path):
    labels = tmp_path / "x.labels.jsonl"
    labels.write_text(
        '{"stream": "A", "seq": 1, "fault": "spike", "effect": "changed"}\n{"stream": "A"\n'
    )
    res = run_cli(["score", "--labels", str(labels), "--detections", str(labels)])
    assert res.exit_code == 2 and "x.labels.jsonl:2" in res.stderr
