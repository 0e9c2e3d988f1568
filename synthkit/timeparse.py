"""Times given on the command line: ISO 8601, a naive time taken as UTC, or ``now``."""

from __future__ import annotations

from datetime import UTC, datetime

from synthkit.errors import ConfigError


def parse_utc(value: str, flag: str) -> datetime:
    """``2026-02-12T10:00:00Z`` (or any offset, converted to UTC; no offset means UTC), or
    ``now`` (the current second). Anything else is a :class:`ConfigError` naming ``flag``."""
    text = value.strip()
    if text.lower() == "now":
        return datetime.now(UTC).replace(microsecond=0)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{flag} {value!r} is not an ISO 8601 time", hint="e.g. 2026-02-12T10:00:00Z or now"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
