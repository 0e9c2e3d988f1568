"""synthkit: deterministic, scenario-driven synthetic telemetry, built from plugins."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("synthkit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

from synthkit.hookspecs import hookimpl

__all__ += ["hookimpl"]
