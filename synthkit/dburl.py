"""Which database: ``--db-url``, else ``SYNTHKIT_DB_URL``, else the embedded SQLite file.

Apart from :mod:`synthkit.database` (engines, errors), which imports SQLAlchemy: a command
that only resolves a URL (``run --db-url``, a preflight deciding whether a database is in
use) must not load a database driver it may never use; a live run's garbage collections
scan every object those ~100 modules leave behind.
"""

from __future__ import annotations

import os

from synthkit.secrets import hide_in_url

ENV_DB_URL = "SYNTHKIT_DB_URL"
DEFAULT_DB_URL = "sqlite:///.tmp/synthkit.db"


def resolve_url(flag: str | None) -> str:
    url = flag or os.environ.get(ENV_DB_URL) or DEFAULT_DB_URL
    hide_in_url(url)  # its secrets are scrubbed from everything printed from now on
    return url
