"""How the reference database is named: its default URL (``SinkSpec.default_url``: the main
job needs no server) and the flag a message repeats (which database a URL reaches is the
core's ``synthkit.api.store_identity``). No SQLAlchemy here, so a live run that names its
store loads no driver."""

from __future__ import annotations

from synthkit.api import redact

DEFAULT_URL = "sqlite:///.tmp/synthkit.db"  # embedded: a fresh machine has no server


def url_flag(url: str) -> str:
    """`` --db-url URL`` (redacted) for a command a message tells the user to run against
    ``url``; "" for the default database (a bare command already means it)."""
    return "" if url == DEFAULT_URL else f" --db-url {redact(url)}"
