"""Ctrl+C and SIGTERM as a flag: long-running commands stop between units of work, so no
exception can cut a line, a message or a transaction in half."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event that Ctrl+C or SIGTERM sets while the block runs; the previous handlers come
    back afterwards. Off the main thread signals cannot be caught, so the event is only set
    by whoever else holds it."""
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
