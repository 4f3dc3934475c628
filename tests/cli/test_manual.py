"""The manual page: the same help as `--help`, readable by man, and `clm help` says where."""

import os
import re
import shutil
import subprocess

import pytest

needs_man = pytest.mark.skipif(
    shutil.which("man") is None and not os.environ.get("CI"), reason="no man here"
)


def _manual_path(clm) -> str:
    said = clm("help").stdout
    assert "The manual, every command and topic in one page: `man clm`" in said
    return re.search(r"^  man (\S+clm\.1)$", said, re.MULTILINE).group(1)


def test_clm_help_points_to_the_manual(clm):
    assert os.path.isfile(_manual_path(clm))


@needs_man
def test_man_shows_every_commands_help(clm):
    page = _manual_path(clm)
    # Without a preloaded libfaketime: man-db's seccomp sandbox refuses the semaphores
    # faketime opens, so `faketime … pytest` would fail here for a reason that isn't clm's.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    env |= {"MANWIDTH": "80", "LANG": "C.UTF-8"}
    result = subprocess.run(
        ["man", "--warnings", "-l", page], capture_output=True, text=True, env=env, check=True
    )
    assert result.stderr == ""  # groff has nothing to say about the roff
    shown = re.sub(".\b", "", result.stdout)  # bold and underline are overstruck in a pipe
    assert "clm - customer lifecycle management in the terminal" in shown
    # Click wrapped the commands' help to fit 80 columns with man's indent (examples and the
    # completion's start-up lines are verbatim, never wrapped).
    commands = shown[shown.index("\nCOMMANDS\n") : shown.index("\nHELP TOPICS\n")]
    wide = [line for line in commands.splitlines() if len(line) > 80]
    assert all("Example" in line or "completions/clm.fish" in line for line in wide), wide
    # A command's help, as --help prints it at the manual's width, options with plain hyphens.
    assert "   clm customer add\n" in shown
    assert "--renewal-within" in shown and "\u2010" not in shown
    assert "Example: clm help dates" in shown
    assert "~/.config/clm/config.toml" in shown
