"""The tree shows the layers: imports point down (CLI -> commands -> rendering -> domain ->
storage -> base) and no package of a layer imports another that imports it back. The
contracts live in pyproject.toml ([tool.importlinter]); this runs them, so the suite fails on
an upward import or a cycle."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_imports_point_down_and_no_package_cycles():
    run = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports; "
         "raise SystemExit(lint_imports(no_cache=True, no_logo=True))"],
        cwd=ROOT, capture_output=True, text=True, env=os.environ | {"NO_COLOR": "1"},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_every_package_says_what_lives_there_and_what_it_may_import():
    for init in (ROOT / "clm").rglob("__init__.py"):
        doc = init.read_text().lstrip()
        assert doc.startswith('"""'), f"{init.relative_to(ROOT)} has no docstring"
