"""Another commit of the project, installed beside this one, so a benchmark or an output can
be measured on both in the same run.

``tree_python(rev)`` checks REV out in a temporary git worktree and gives it a virtual
environment of its own: the worktree installed editable without dependencies, plus a ``.pth``
line that lends it this environment's installed libraries. Its ``synthkit`` console script
and entry points are REV's own, so a commit that moves plugin modules is measured as it was.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def tree_python(rev: str) -> Iterator[Path]:
    """The interpreter of a temporary environment holding REV; removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="synthkit-tree-"))
    tree, env = base / "tree", base / "venv"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), rev], check=True
    )
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
        python = env / "bin" / "python"
        site = Path(
            subprocess.check_output(
                [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                text=True,
            ).strip()
        )
        # this environment's libraries, after REV's own install (the .pth sorts last)
        (site / "zz_lend_libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(python),
                "install",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "-e",
                str(tree),
            ],
            check=True,
        )
        yield python
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
        )
        shutil.rmtree(base, ignore_errors=True)
