"""The one error family the CLI turns into a single line and exit code 2."""

from __future__ import annotations


class SynthkitError(Exception):
    """Bad input or state that the user can fix: printed as one line, exit code 2, no traceback.

    ``hint`` says how to fix it; the CLI prints ``error: <message> (<hint>)``.
    """

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(SynthkitError):
    """A flag, option file or scenario value is invalid."""


class PluginError(SynthkitError):
    """A plugin failed to load, misdeclared a hook or clashed with another plugin."""


class PreflightError(SynthkitError):
    """A preflight check reported an error, so nothing was generated or written."""


class OutputError(SynthkitError):
    """An output could not be written (disk full, file size limit, permissions); nothing
    half-written is left behind."""


class IncompleteRun(SynthkitError):
    """The command ran, but did not do all it was asked (rows rejected, nothing new stored,
    preflight errors without --strict, messages not acknowledged): its JSON summary is on
    stdout with the reasons in ``warnings``, and it exits 3 so scripts notice."""

    exit_code = 3


def article(word: str) -> str:
    """``"an ingest"``, ``"a file"``: for messages that name a kind."""
    return ("an " if word[:1] in "aeiou" else "a ") + word


class DeliveryStopped(Exception):
    """Raised by an ingest sink's ``write`` when its endpoint gave up (retries spent): none of
    that batch was delivered, and nothing more can be. The run stops; ``deliver`` then closes
    the sink (not abort: what it delivered stays delivered) and its report says why it
    stopped (``details["stopped"]``), so the command ends with its summary and exit 3."""
