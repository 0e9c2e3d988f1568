"""Turning command-line values into a validated :class:`TelematicsConfig`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import strictyaml
from pydantic import ValidationError

from synthkit.api import ConfigError, parse_utc
from synthkit_telematics.config import TelematicsConfig


def parse_start(value: str | None, *, default_now: bool) -> datetime | None:
    """``--start``: ISO 8601 (a naive time is UTC) or ``now``; unset means now or the default."""
    if value is None:
        return datetime.now(UTC).replace(microsecond=0) if default_now else None
    return parse_utc(value, "--start")


def parse_weights(
    pairs: Sequence[str], weights_file: Path | None, mix: str | None = None
) -> dict[str, float]:
    """``--mix`` first (synthkit_telematics.mixes), then ``--weights-file`` (JSON or YAML
    mapping), then each ``--weight name=value``."""
    from synthkit_telematics.mixes import mix_weights

    weights: dict[str, float] = mix_weights(mix)
    if weights_file is not None:
        weights.update(_read_weights_file(weights_file))
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(
                f"--weight {pair!r} is not NAME=VALUE", hint="e.g. --weight speeding=0.3"
            )
        weights[name.strip()] = _number(raw, f"--weight {pair!r}")
    return weights


def _number(raw: Any, where: str) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {raw!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise ConfigError(f"{where}: weight must be a finite number >= 0, got {raw!r}")
    return value


def _read_weights_file(path: Path) -> dict[str, float]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read weights file {str(path)!r}: {exc.strerror}") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of event type to weight")
        return {str(k): _number(v, f"{path}: {k}") for k, v in data.items()}
    schema = strictyaml.MapPattern(strictyaml.Str(), strictyaml.Str())
    try:
        doc = strictyaml.load(text, schema, label=str(path))
    except strictyaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid weights file: {_first_line(exc)}") from None
    out = {}
    for key, node in doc.items():
        out[str(key)] = _number(node.data, f"{path}:{node.start_line}: {key}")
    return out


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def build_config(**values: Any) -> TelematicsConfig:
    """A :class:`TelematicsConfig`, or one :class:`ConfigError` naming every bad option."""
    clean = {k: v for k, v in values.items() if v is not None}
    try:
        return TelematicsConfig(**clean)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "config"
            problems.append(f"--{field.replace('_', '-')}: {err['msg']}")
        raise ConfigError("; ".join(problems)) from None


def config_from_flags(
    drivers: int,
    seed: int,
    start: str | None,
    default_now: bool,
    extreme_variance: bool,
    weight: list[str] | None,
    weights_file: Path | None,
    base_lat: float | None,
    base_lon: float | None,
    utc_offset: float | None,
    mix: str | None = None,
    options_file: Path | None = None,
) -> TelematicsConfig:
    """The generator options every telematics command shares, as one validated config."""
    from synthkit_telematics.context import read_context

    return build_config(
        drivers=drivers,
        seed=seed,
        start=parse_start(start, default_now=default_now),
        extreme_variance=extreme_variance,
        weights=parse_weights(weight or [], weights_file, mix),
        base_lat=base_lat,
        base_lon=base_lon,
        utc_offset_hours=utc_offset,
        context=read_context(options_file) if options_file is not None else None,
    )


def store_of(ctx: Any) -> str:
    """Where a delivering run's rows end up, when the command is told (``--db-url``, or
    ``$SYNTHKIT_DB_URL``): the store its run record names, for ``synthkit reconcile``."""
    from synthkit.api import global_options, plugins_of

    opts = global_options(ctx)
    if not (opts.db_url or opts.names_database()):
        return ""
    return plugins_of(ctx).store_identity(opts.database())
