"""Regenerate the README's pictures: real clm output on the demo book, saved as SVG.

Usage (from the repo root): python docs/make_pictures.py
Each picture is one command run on `clm demo` as of 2026-11-23; add a line to PICTURES for
another (e.g. a report), then show it in README.md.
"""

import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
TODAY = "2026-11-23"
WIDTH = 112
# A uuid differs in every demo book: shown as one fixed value, so a picture changes only when
# what clm shows does.
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# (file under docs/, the clm arguments after the global ones). A command that writes an SVG
# itself (`--svg -`: the lifecycle poster) is kept as it writes it, not as a terminal shows it.
PICTURES = [
    ("agenda.svg", ["--as", "alice"]),
    ("lifecycle.svg", ["model", "show", "--svg", "-"]),
    ("customers.svg", ["customer", "list"]),
    ("customer.svg", ["customer", "show", "aperture-corp"]),
]


def run(db: Path, args: list[str]) -> str:
    """`clm ARGS` on the demo book, coloured as on a terminal."""
    env = os.environ | {"CLICOLOR_FORCE": "1", "COLUMNS": str(WIDTH), "CLM_TODAY": TODAY}
    env["CLM_CONFIG"] = str(db.parent / "no-config.toml")  # nobody's own settings
    for name in ("NO_COLOR", "CLM_USER", "CLM_DB", "CLM_PAGER"):
        env.pop(name, None)
    command = [sys.executable, "-m", "clm", "--db", str(db), *args]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return UUID.sub("0d3e5f1a-7b2c-4d8e-9f60-a1b2c3d4e5f6", output)


def picture(output: str, title: str) -> str:
    from rich.console import Console
    from rich.text import Text

    console = Console(record=True, width=WIDTH, file=io.StringIO(), force_terminal=True)
    console.print(Text.from_ansi(output.rstrip("\n")))
    return console.export_svg(title=title)


def drawn() -> dict[str, str]:
    """Every picture as clm draws it today: {file name: SVG} (tests/test_docs.py compares)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.db"
        run(db, ["demo"])
        return {
            name: run(db, args)
            if "--svg" in args
            else picture(run(db, args), " ".join(["clm", *args]))
            for name, args in PICTURES
        }


def main() -> None:
    for name, svg in drawn().items():
        path = DOCS / name
        if not path.exists() or path.read_text() != svg:
            path.write_text(svg)
            print(f"wrote docs/{name}")


if __name__ == "__main__":
    main()
