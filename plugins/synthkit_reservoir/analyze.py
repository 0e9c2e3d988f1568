"""analyze-csv: QC and a profile of one export-csv artifact directory, into analysis.json.

Streams the CSV once (memory holds per-device aggregates only) and checks: the manifest's
csv_sha256 and row counts; every row's column count (a truncated last line included);
timestamps (ISO 8601 UTC, non-decreasing per device); per-device seq gaps, duplicates and
non-monotonic order; modelled level bounds. Problems are counted, and the first few of each
kind are named by line. Archetype metrics (see docs/reservoir.md):

- runout_prob: share of device-days on which the level fell below 5 %;
- autonomy_days_est: mean stored liters / mean daily outflow (days the water would last);
- supply_fragmentation_index: supply events per 1,000 liters supplied;
- liters_per_km: liters delivered per km driven;
- mobile_nrw_liters: liters lost in transit (non-revenue water) over the window.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from synthkit.api import (
    AtomicFile,
    ConfigError,
    Labels,
    is_dataset,
    labels_beside,
    open_dataset,
    part_files,
    progress_bar,
    read_json,
    read_labels,
)
from synthkit_reservoir.analyze_fast import fast_scan
from synthkit_reservoir.analyze_labels import LabelPass, label_pass
from synthkit_reservoir.analyze_report import merge_reports, metrics, profile
from synthkit_reservoir.analyze_scan import ORDER_KINDS, Device, Findings, file_facts, scan
from synthkit_reservoir.csvfile import ExportCsv
from synthkit_reservoir.export import CSV_NAME, MANIFEST_NAME, require_csv

ANALYSIS_NAME = "analysis.json"


def analyze(artifact_dir: Path) -> dict[str, Any]:
    """QC and profile of an export-csv artifact directory, or of a dataset of its shards
    (``dataset.json``: every part checked against it, the parts taken together as one)."""
    if is_dataset(artifact_dir):
        return analyze_dataset(artifact_dir)
    one = _Scan(artifact_dir)
    return _written(artifact_dir, _result(artifact_dir, [one], one.manifest))


def analyze_dataset(directory: Path) -> dict[str, Any]:
    dataset = open_dataset(directory)
    scans = []
    for shard, path, entry in part_files(directory, dataset):
        scan_ = _Scan(path.parent, f"{path.parent.name}: ")
        if scan_.against:
            scan_.against["file"] = f"{path.parent.name}/{scan_.against['file']}"
        if scan_.sha != entry["sha256"] or scan_.total != entry["rows"]:
            scan_.found.add(
                "manifest_mismatch",
                "dataset.json",
                f"part {shard}: {scan_.total} rows, sha256 {scan_.sha}; the dataset's manifest "
                f"says {entry['rows']} rows, sha256 {entry['sha256']}",
            )
        scans.append(scan_)
    result = _result(directory, scans, scans[0].manifest if scans else {})
    result["parts"] = [
        {"artifact_dir": str(s.where), "row_count": s.total, "csv_sha256": s.sha} for s in scans
    ]
    return _written(directory, result)


class _Scan:
    """One artifact's rows read once: problems, per-device aggregates, the label report."""

    def __init__(self, artifact_dir: Path, prefix: str = "") -> None:
        self.where = artifact_dir
        manifest, csv_path = _open(artifact_dir)
        self.manifest = manifest if isinstance(manifest, dict) else {}
        labels_path = labels_beside(csv_path)
        labels = read_labels(labels_path) if labels_path else None
        # a faulted export's seq gaps, repeats and order are checked against its labels
        found = Findings(skip=ORDER_KINDS if labels else frozenset())
        devices: dict[str, Device] = defaultdict(Device)
        rows = int(self.manifest.get("total_rows") or 0)
        # a faulted export's label pass reads the batches the fast pass reads (one read)
        along = LabelPass(labels, manifest, ExportCsv(csv_path)) if labels is not None else None
        with progress_bar("analyze-csv", rows or None) as bar:  # 1.7M rows take seconds
            facts = file_facts(csv_path)  # hashed once, whichever pass decides
            sha, total, truncated = fast_scan(
                csv_path, devices, facts, bar.advance, not labels, along
            )
        against: dict[str, Any] = {}
        if labels is not None and along is not None:
            if sha is None:  # the fast pass gave up part way: the label pass reads on its own
                with progress_bar("analyze-csv (against the labels)", rows or None) as bar:
                    against = label_pass(csv_path, labels, manifest, bar.advance)
            else:
                against = along.report()
            _meant(found, against, labels, manifest)
        if sha is None:  # something is off: the exact pass finds and names it
            devices.clear()
            with progress_bar("analyze-csv (naming each problem)", rows or None) as bar:
                sha, total, truncated = scan(csv_path, found, devices, facts, bar.advance)
        _check_manifest(found, manifest, sha, total, devices, labels)
        found.examples = [prefix + e for e in found.examples]  # a dataset's: which part
        self.found, self.devices, self.against = found, devices, against
        self.sha, self.total, self.truncated = sha, total, truncated


def _result(where: Path, scans: list[_Scan], manifest: dict[str, Any]) -> dict[str, Any]:
    counts: dict[str, int] = defaultdict(int)
    devices: dict[str, Device] = {}
    for s in scans:
        for kind, n in s.found.counts.items():
            counts[kind] += n
        devices.update(s.devices)  # a dataset's parts hold different devices
    total = sum(s.total for s in scans)
    against = merge_reports([s.against for s in scans if s.against])
    return {
        "command": "analyze-csv",
        "artifact_dir": str(where),
        "qc_passed": total > 0 and not any(counts.values()),
        "row_count": total,
        "device_count": len(devices),
        "invalid_row_count": counts["invalid_row"],
        "invalid_timestamp_count": counts["invalid_timestamp"],
        "seq_gap_count": counts["seq_gap"],
        "seq_duplicate_count": counts["seq_duplicate"],
        "seq_non_monotonic_count": counts["seq_non_monotonic"],
        "timestamp_order_count": counts["timestamp_order"],
        "level_out_of_bounds_count": counts["level_out_of_bounds"],
        "manifest_mismatch_count": counts["manifest_mismatch"],
        "truncated_last_line": any(s.truncated for s in scans),
        "csv_sha256": scans[0].sha if len(scans) == 1 else None,
        "label_mismatch_count": counts["label_mismatch"],
        "problems": [p for s in scans for p in s.found.examples],
        **({"labels": against} if against else {}),
        "profile": profile(devices, manifest),
        "metrics": metrics(devices),
    }


def _written(where: Path, result: dict[str, Any]) -> dict[str, Any]:
    out = AtomicFile(where / ANALYSIS_NAME)
    out.write((json.dumps(result, indent=1) + "\n").encode())
    out.commit()
    return result


def _open(artifact_dir: Path) -> tuple[Any, Path]:
    """The artifact's manifest and its CSV's path, or one located error."""
    manifest_path, csv_path = artifact_dir / MANIFEST_NAME, artifact_dir / CSV_NAME
    if not artifact_dir.is_dir():
        raise ConfigError(
            f"{artifact_dir}: no such artifact directory", hint="check --artifact-dir"
        )
    if not manifest_path.is_file():
        raise ConfigError(
            f"{manifest_path}: missing", hint="point --artifact-dir at an export-csv output"
        )
    manifest = read_json(manifest_path, "valid JSON", hint="re-run export-csv")
    if isinstance(manifest, dict):
        require_csv(manifest, artifact_dir, "analyze-csv")
    if not csv_path.is_file():
        raise ConfigError(
            f"{csv_path}: missing", hint="point --artifact-dir at an export-csv output"
        )
    return manifest, csv_path


def _check_manifest(
    found: Findings,
    manifest: Any,
    sha: str | None,
    total: int,
    devices: dict[str, Device],
    labels: Labels | None,
) -> None:
    """The file against its manifest: its sha256, its rows, each device's rows (the plan's,
    less the drops and plus the repeats its labels meant)."""
    expected_sha = manifest.get("csv_sha256")
    if expected_sha != sha:
        found.add(
            "manifest_mismatch",
            MANIFEST_NAME,
            f"csv_sha256 {sha} differs from the manifest's {expected_sha}",
        )
    if manifest.get("total_rows") not in (None, total):
        found.add(
            "manifest_mismatch",
            MANIFEST_NAME,
            f"{total} rows, the manifest says {manifest['total_rows']}",
        )
    meant = _meant_rows(labels) if labels else {}
    for device_id, info in (manifest.get("devices") or {}).items():
        seen = devices[device_id].rows if device_id in devices else 0
        expected = int(info.get("rows") or 0) + meant.get(device_id, 0)
        if seen != expected:
            also = f" ({meant[device_id]:+d} the labels meant)" if meant.get(device_id) else ""
            found.add(
                "manifest_mismatch",
                MANIFEST_NAME,
                f"device {device_id}: {seen} rows, the manifest says {info.get('rows')}{also}",
            )


def _meant(found: Findings, against: dict[str, Any], labels: Labels, manifest: Any) -> None:
    """What the file shows that its labels do not explain, as QC problems of the kinds the
    plain checks use; labelled drops or repeats the file does not show, as label mismatches."""
    kinds = {
        "seq_gaps": "seq_gap",
        "repeated_records": "seq_duplicate",
        "out_of_order": "seq_non_monotonic",
        "outside_span": "seq_non_monotonic",
    }
    for part, kind in kinds.items():
        found.counts[kind] += against[part]["unexplained"]
    for part in ("seq_gaps", "repeated_records"):
        if against[part]["not_seen"]:
            found.add(
                "label_mismatch",
                labels.path.name,
                f"{against[part]['not_seen']} labelled {part.replace('_', ' ')} not in the file",
            )
    found.examples.extend(against.pop("problems"))


def _meant_rows(labels: Labels) -> dict[str, int]:
    """Per device, the rows its labels add to the plan (repeats) or take from it (drops)."""
    change = np.where(labels.effect == "dropped", -1, 0) + np.where(
        labels.effect == "repeated", labels.copies, 0
    )
    per = np.bincount(labels.stream, weights=change, minlength=len(labels.streams))
    return {name: int(n) for name, n in zip(labels.streams, per.tolist()) if n}
