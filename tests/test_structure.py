"""The structure rule (issue 12): a plugin package imports the core's public API, never another
plugin's modules. Walks the import graph of plugins/ as the code has it."""

from __future__ import annotations

import ast
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"

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
    assert cross_plugin_imports() == set(), "a plugin imports another plugin's modules"


def test_the_walk_sees_imports_inside_functions(tmp_path):
    """The check must not be fooled by an import written where it runs (lazy imports)."""
    pkg = tmp_path / "synthkit_a"
    pkg.mkdir()
    (pkg / "m.py").write_text("def f():\n    from synthkit_b.x import y\n    return y\n")
    assert cross_plugin_imports(tmp_path) == {("synthkit_a/m.py", "synthkit_b.x")}
