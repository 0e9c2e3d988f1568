"""Whose code raised: the plugin an exception comes from, so an internal error names the
plugin and distribution to report it to instead of blaming synthkit."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

_CORE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def owner_of(
    exc: BaseException, plugins: Iterable[tuple[str, object]], origin: Mapping[str, tuple[str, str]]
) -> str | None:
    """``"plugin 'x' (distribution d v, module m)"`` for the innermost traceback frame that is
    in a plugin's module, or in its package (a plugin module inside a package, or a package
    itself); None when no frame is (the core's, or a library's)."""
    roots: list[tuple[str, str]] = []  # (a module file or a package folder, plugin name)
    for plugin_name, plugin in plugins:
        path = getattr(plugin, "__file__", None)
        if not path:
            continue
        path = os.path.abspath(path)
        roots.append((path, plugin_name))
        if "." in getattr(plugin, "__name__", "") or os.path.basename(path) == "__init__.py":
            roots.append((os.path.dirname(path) + os.sep, plugin_name))
    roots = [r for r in roots if not r[0].startswith(_CORE)]
    roots.sort(
        key=lambda r: (r[0].endswith(os.sep), -len(r[0]))
    )  # files first, then deeper folders
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        filename = os.path.abspath(frame.f_code.co_filename)
        for root, plugin_name in roots:
            if filename == root or (root.endswith(os.sep) and filename.startswith(root)):
                dist, version = origin.get(plugin_name, ("(local)", ""))
                module = frame.f_globals.get("__name__", "?")
                return (
                    f"plugin {plugin_name!r} (distribution {dist} {version}".rstrip()
                    + f", module {module})"
                )
    return None
