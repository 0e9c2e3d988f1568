"""Signals that end a command.

Two ways to stop, both leaving nothing half-written:
- :func:`terminate_like_ctrl_c` (installed by the CLI's entry point): SIGTERM and SIGHUP
  raise :class:`Terminated`, a ``KeyboardInterrupt``, in the main thread, so every cleanup
  that Ctrl+C runs (temp files removed, sinks aborted) runs for them too;
- :func:`stop_on_signals`: long-running commands turn Ctrl+C, SIGTERM and SIGHUP into a flag
  and stop between units of work, so no exception can cut a line, a message or a
  transaction in half.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl+C raises KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


received: list[int] = []  # signals that raised Terminated in this process


def _raise_terminated(signum: int, _frame: object) -> None:
    received.append(signum)
    raise Terminated(signum)


def raise_lost_signal(mark: int) -> None:
    """Between units of work on the main thread: a Terminated raised since ``mark`` (what
    ``len(received)`` was when the work began) that never reached the code, raised again, so
    the signal ends the command after all. It was lost if the work goes on: raised while the
    main thread ran a C callback (numba's compiler, a ctypes call), which prints an exception
    and drops it."""
    if len(received) > mark:
        raise Terminated(received[-1])


def terminate_like_ctrl_c() -> None:
    """Ctrl+C, SIGTERM and SIGHUP raise :class:`Terminated` from now on, and are remembered
    in :data:`received` (typer turns the exception into a plain return code). A signal
    ignored at start, as SIGHUP under ``nohup``, stays ignored."""
    for sig in STOP_SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, _raise_terminated)


def exit_code(exc: KeyboardInterrupt) -> int:
    """128 + the signal number, as a shell reports a process ended by that signal."""
    return 128 + (exc.signum if isinstance(exc, Terminated) else signal.SIGINT)


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event that Ctrl+C, SIGTERM or SIGHUP sets while the block runs; the previous handlers
    come back afterwards. Off the main thread signals cannot be caught, so the event is only
    set by whoever else holds it."""
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {
            sig: signal.signal(sig, lambda *_: stop.set())
            for sig in STOP_SIGNALS
            if signal.getsignal(sig) is not signal.SIG_IGN
        }
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


PARENT_PID = "SYNTHKIT_PARENT_PID"  # set by an executor for the shard process it starts


def follow_parent() -> None:
    """In a shard an executor started: end (as on SIGTERM, cleaning up) when the executor's
    process dies, so that a killed Dask worker leaves no shard behind writing on (Linux)."""
    import ctypes
    import os
    import sys

    parent = os.environ.pop(PARENT_PID, "")
    if not parent.isdigit() or not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # it died before the line above: nothing will signal
        os.kill(os.getpid(), signal.SIGTERM)
