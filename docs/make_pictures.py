"""Regenerate the README's pictures: real clm output on the demo book, saved as SVG, and an
email digest (its HTML, and that rendered by headless Chromium as a PNG).

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
    """Every picture as clm draws it today: {file name: SVG, or the digest's HTML}
    (tests/test_docs.py compares)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.db"
        run(db, ["demo"])
        pictures = {
            name: run(db, args)
            if "--svg" in args
            else picture(run(db, args), " ".join(["clm", *args]))
            for name, args in PICTURES
        }
        return pictures | {DIGEST_HTML: digest_html(db)}  # (last: it changes the book)


# The email digest: alice's on the demo book's 2026-11-30, a day with reminders, a customer won
# and handed to her, and a health drop that opens a CTA with its playbook's tasks. Its HTML
# part, as the tick's outbox row makes it (the code that sends it), is kept as text (compared
# by tests/test_docs.py like the SVGs); the README shows it rendered by headless Chromium as
# a PNG, which is made again only when that HTML changes (a raster depends on the fonts).
DIGEST_HTML, DIGEST_PNG = "digest.html", "digest.png"
DIGEST_DAY = "2026-11-30"
DIGEST_STEPS = [
    ["--today", "2026-11-29", "tick", "--quiet", "--no-send"],  # the book the day before
    ["user", "edit", "alice", "--email", "alice@example.com", "--notify", "email"],
    ["--today", DIGEST_DAY, "customer", "move", "globex-corp", "onboarding", "--reason", "won"],
    ["--today", DIGEST_DAY, "customer", "edit", "vandelay-corp", "--health", "32", "--until",
     "2026-12-31", "--reason", "sponsor left"],
    ["--today", DIGEST_DAY, "tick", "--quiet", "--no-send"],  # queued, as cron's tick would
]  # fmt: skip


def digest_html(db: Path) -> str:
    """Alice's digest's HTML part, made by the code that sends it, from the demo book `db`."""
    import json
    import sqlite3
    from datetime import date

    from clm.domain.notify.digest import html_part

    for args in DIGEST_STEPS:
        run(db, args)
    conn = sqlite3.connect(db)
    try:
        [(payload,)] = conn.execute(
            "SELECT payload FROM outbox JOIN users ON users.id = outbox.user_id "
            "WHERE handle = 'alice' AND day = ?",
            (DIGEST_DAY,),
        )
    finally:
        conn.close()
    return html_part("alice", date.fromisoformat(DIGEST_DAY), json.loads(payload))


def screenshot(html: Path, png: Path) -> None:
    """`html` as a mail client's reading pane shows it, 720 pixels wide, saved to `png`."""
    import shutil

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("docs/digest.png needs chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--force-device-scale-factor=1", "--window-size=720,600",
             f"--user-data-dir={profile}", f"--screenshot={png}", html.as_uri()],
            check=True, capture_output=True,
        )  # fmt: skip


def main() -> None:
    changed = set()
    for name, text in drawn().items():
        path = DOCS / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.add(name)
            print(f"wrote docs/{name}")
    if DIGEST_HTML in changed or not (DOCS / DIGEST_PNG).exists():
        screenshot(DOCS / DIGEST_HTML, DOCS / DIGEST_PNG)
        print(f"wrote docs/{DIGEST_PNG}")


if __name__ == "__main__":
    main()
