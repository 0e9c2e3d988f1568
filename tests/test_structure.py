"""The structure rule (issue 12): a plugin package imports the core's public API, never another
plugin's modules. Walks the import graph of plugins/ as the code has it."""

from __future__ import annotations

import ast
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"

# What is still to be cut (issue 12): the reference database reads the reservoir family's
# payload layout directly until that layout is a contract of the core's public API. The
# list may only shrink; a new cross-plugin import fails this test.
NOT_YET_CUT = {
    ("synthkit_reference_db/ingest.py", "synthkit_reservoir.payload"),
    ("synthkit_reference_db/sink.py", "synthkit_reservoir.payload"),
    ("synthkit_reference_db/store.py", "synthkit_reservoir.payload"),
}


def cross_plugin_imports(root: Path = PLUGINS) -> set[tuple[str, str]]:
    found = set()
    for package in sorted(root.glob("synthkit_*")):
        for path in package.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top.startswith("synthkit_") and top != package.name:
                        found.add((str(path.relative_to(root)), name))
    return found


def test_no_plugin_imports_another_plugin():
    found = cross_plugin_imports()
    assert found - NOT_YET_CUT == set(), "a plugin imports another plugin's modules"
    assert found == NOT_YET_CUT, f"cut already, drop it from NOT_YET_CUT: {NOT_YET_CUT - found}"


def test_the_walk_sees_imports_inside_functions(tmp_path):
    """The check must not be fooled by an import written where it runs (lazy imports)."""
    pkg = tmp_path / "synthkit_a"
    pkg.mkdir()
    (pkg / "m.py").write_text("def f():\n    from synthkit_b.x import y\n    return y\n")
    assert cross_plugin_imports(tmp_path) == {("synthkit_a/m.py", "synthkit_b.x")}
