"""What import-csv reads: an export-csv artifact directory, or a dataset of its shards
(``dataset.json``), each part checked in full before the database is touched."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthkit.api import ConfigError, is_dataset, open_dataset, part_files
from synthkit_reservoir.csvread import BadRow, check_csv
from synthkit_reservoir.export import CSV_NAME, MANIFEST_NAME, require_csv


@dataclass(frozen=True)
class Artifact:
    """One export's rows: its directory, manifest and CSV."""

    directory: Path
    manifest: dict[str, Any]
    csv: Path

    def labels(self) -> str:
        """The export's fault labels (its manifest's notes name the file), "" without faults."""
        faults = (self.manifest.get("notes") or {}).get("faults") or {}
        name = ((faults.get("tables") or {}).get("labels") or {}).get("file")
        return str((self.directory / name).resolve()) if name else ""


def artifact_parts(artifact_dir: Path) -> list[Artifact]:
    """The artifact, or each part of the dataset in shard order, every CSV checked against
    its manifest (and the dataset's) and every row parsed."""
    if not is_dataset(artifact_dir):
        return [verify_artifact(artifact_dir)]
    parts = []
    for shard, path, entry in part_files(artifact_dir, open_dataset(artifact_dir)):
        part = verify_artifact(path.parent)
        if part.manifest.get("csv_sha256") != entry["sha256"]:
            raise ConfigError(
                f"{path}: part {shard} is not the one {artifact_dir / 'dataset.json'} lists "
                "(its sha256 differs)",
                hint="the part was written again after the dataset was sealed; export it again",
            )
        parts.append(part)
    return parts


def verify_artifact(artifact_dir: Path) -> Artifact:
    """The manifest, after checking the CSV against its csv_sha256 and parsing every row
    (one pass, before any database work): a bad row stops the import before its first write."""
    manifest_path, csv_path = artifact_dir / MANIFEST_NAME, artifact_dir / CSV_NAME
    if not manifest_path.is_file():
        raise ConfigError(
            f"{manifest_path}: missing", hint="point --artifact-dir at an export-csv output"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        require_csv(manifest, artifact_dir, "import-csv")
        expected = manifest["csv_sha256"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"{manifest_path}: unreadable manifest ({exc})", hint="re-run export-csv"
        ) from None
    if not csv_path.is_file():
        raise ConfigError(
            f"{csv_path}: missing", hint="point --artifact-dir at an export-csv output"
        )
    bad: BadRow | None = None
    try:
        actual = check_csv(csv_path)
    except BadRow as exc:
        actual, bad = exc.sha256, exc
    if actual != expected:
        raise ConfigError(
            f"import-csv failed with manifest csv_sha256 mismatch: {csv_path} has "
            f"{actual[:16]}..., the manifest says {str(expected)[:16]}...",
            hint="CSV or manifest changed after export; regenerate the export, then re-run analyze/import",
        )
    if bad is not None:
        raise bad.error(csv_path)
    return Artifact(artifact_dir, manifest, csv_path)
