"""A listener's presence, and a run that starts before its listener.

A listener, once its subscription is granted, says so on stderr, writes ``--ready-file`` if
asked (a script waits for it before it publishes), and leaves a note beside the state file
(``<state>.listeners/<client id>.json``: its pid, broker, subscription and store) until it
stops. ``run --db-url`` looks for such a note; when no listener of that store, broker and
subscription is running, it makes the listener's persistent session itself (subscribe, then
leave), so the broker keeps what the run publishes for the listener that starts later. It
never connects under the id of a listener that is running: that would take its session.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from synthkit.api import (
    AtomicFile,
    ConfigError,
    Endpoint,
    PluginError,
    Plugins,
    SourceTarget,
    process_alive,
    stderr,
    store_identity,
)


def default_client_id(store: str, topic: str) -> str:
    """One persistent session per (database, subscription), ``store`` the database's
    identity (``SinkSpec.identity``: ``urls.store_identity``): two listeners of different databases never
    take each other's session or queued messages, whatever the URLs look like; a restarted
    listener of the same one resumes its own."""
    digest = hashlib.sha256(f"{store}\n{topic}".encode()).hexdigest()[:12]
    return f"synthkit-listener-{digest}"


def listeners_dir(state_file: Path) -> Path:
    """The notes of running listeners that go with a state file: ``<dir>/<stem>.listeners``."""
    return state_file.with_name(state_file.stem + ".listeners")


class Presence:
    """What a listener does once subscribed (``on_ready``) and when it stops (``remove``)."""

    def __init__(
        self, state_file: Path | None, ready_file: Path | None, note: dict[str, Any]
    ) -> None:
        self.note = {"pid": os.getpid(), **note}
        self.path = (
            listeners_dir(state_file) / f"{note['client_id']}.json"
            if state_file is not None
            else None
        )
        self.ready_file = ready_file

    def on_ready(self) -> None:
        note = self.note
        if note["broker"]:
            stderr().print(
                f"listening: subscribed to {note['subscription']} at {note['broker']} as {note['client_id']} "
                "(what is published from now on is stored)",
                highlight=False,
                soft_wrap=True,
            )
        else:
            stderr().print(
                f"listening: reading from the {note.get('source')} source", highlight=False
            )
        body = (json.dumps(note, indent=1) + "\n").encode()
        for path in (self.path, self.ready_file):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                out = AtomicFile(path)
                out.write(body)
                out.commit()

    def remove(self) -> None:
        for path in (self.path, self.ready_file):
            if path is not None:
                path.unlink(missing_ok=True)


def running_listener(
    state_file: Path, broker: str, subscription: str, store: str
) -> dict[str, Any] | None:
    """The note of a running listener of ``store`` subscribed to ``subscription`` at ``broker``."""
    folder = listeners_dir(state_file)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            note = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (
            isinstance(note, dict)
            and (note.get("broker"), note.get("subscription"), note.get("store"))
            == (broker, subscription, store)
            and process_alive(note.get("pid"))
        ):
            return note
    return None


def hold_for_listener(
    plugins: Plugins, state_file: Path, endpoint: Endpoint, subscription: str, url: str
) -> dict[str, Any]:
    """Make sure the broker keeps what a run publishes for the listener of ``url``'s store:
    a running listener's note, else its persistent session made now. The summary's part."""
    store = store_identity(url)
    note = running_listener(state_file, endpoint.address, subscription, store)
    if note is not None:
        return {"listener": note["client_id"], "listener_running": True}
    client_id = default_client_id(store, subscription)
    try:
        source = plugins.open_source(
            "mqtt",
            SourceTarget(endpoint, subscription, client_id),
            needed_by="run --db-url",
        )
        held = source.subscribe_ahead()
    except (ConfigError, PluginError) as exc:  # the run itself still publishes; its summary says so
        return {
            "listener": client_id,
            "listener_running": False,
            "warning": f"no listener session made for {store} ({exc}): what this run publishes before a "
            "listener subscribes is not kept for it",
        }
    return {"listener": client_id, "listener_running": False, "session_held": held}
