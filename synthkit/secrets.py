"""Secrets (database passwords) never reach any output: redacted where they are known to be,
and scrubbed from every line the CLI prints as a second line of defence, since a driver's
error message may quote what it was given."""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
# query parameters that carry a secret (libpq: password, sslpassword; others: token, secret)
_SECRET_KEY = re.compile(r"^(password|passwd|pwd|sslpassword|secret|token|api_key)$", re.IGNORECASE)
_MIN_SCRUB = (
    4  # shorter secrets are only redacted where they stand: replacing "a" everywhere mangles text
)

_known: set[str] = set()


def is_secret_key(name: str) -> bool:
    return bool(_SECRET_KEY.match(name.strip()))


def hide(value: str | None) -> None:
    """Remember ``value`` as a secret: :func:`scrub` removes it (and its URL-encoded forms)."""
    if value and len(value) >= _MIN_SCRUB:
        _known.update({value, quote(value, safe=""), quote_plus(value)})


def scrub(text: str) -> str:
    """``text`` with every remembered secret masked."""
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


_USERINFO = re.compile(r"(?P<head>://[^/:@?#]*):(?P<pw>[^@/?#]*)@")
_QUERY = re.compile(r"(?P<key>[?&;\s]|^)(?P<name>[A-Za-z_]+)=(?P<value>[^&;\s#]*)")


def hide_in_url(url: str) -> str:
    """``url`` with the userinfo password and secret query values masked; each hidden value
    is remembered (:func:`hide`). Works on text, so even a URL no parser accepts is safe."""

    def userinfo(m: re.Match[str]) -> str:
        hide(unquote(m["pw"]))
        hide(m["pw"])
        return f"{m['head']}:{MASK}@"

    def query(m: re.Match[str]) -> str:
        if not is_secret_key(m["name"]):
            return m[0]
        hide(unquote(m["value"]))
        hide(m["value"])
        return f"{m['key']}{m['name']}={MASK}"

    return _QUERY.sub(query, _USERINFO.sub(userinfo, url))


def redact(url: str) -> str:
    """``url`` as it may be shown: no password, in the userinfo or in any query parameter."""
    return hide_in_url(url)


def hide_secret(value: str | None) -> None:
    """For plugins: remember ``value`` (a token read from the environment) as a secret, so
    no line synthkit prints ever shows it."""
    hide(value)
