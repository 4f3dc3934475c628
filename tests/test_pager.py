"""Long output on a terminal goes through a pager: $CLM_PAGER, then the config file's pager,
then $PAGER, then less -FRX;
--no-pager and a pipe write straight out. A real terminal (a pty), a fake pager script."""

import os
import pty
import subprocess
import sys

import pytest

pytestmark = pytest.mark.sqlite_only("a book in a file, read by a process on a pty")

FAKE_PAGER = "import sys; open(sys.argv[1], 'w').write(sys.stdin.read())"


@pytest.fixture
def run(tmp_path, db_path, clm):
    """`clm ARGS` on a pty with PAGER (and CLM_PAGER if given) saving what it is sent."""
    clm("customer", "add", "Acme Corp")

    def run(*args, clm_pager=False, config_pager=False, piped=False, pager: str | None = None):
        script = tmp_path / "pager.py"
        script.write_text(FAKE_PAGER)
        env = os.environ | {"PAGER": pager or f"{sys.executable} {script} {tmp_path / 'PAGER'}"}
        if clm_pager:
            env["CLM_PAGER"] = f"{sys.executable} {script} {tmp_path / 'CLM_PAGER'}"
        if config_pager:
            clm("config", "set", "pager", f"{sys.executable} {script} {tmp_path / 'CONFIG_PAGER'}")
        main, terminal = pty.openpty()
        result = subprocess.run(
            [sys.executable, "-m", "clm", *args],
            stdout=subprocess.PIPE if piped else terminal, stderr=subprocess.PIPE, env=env,
            timeout=60, check=True,
        )  # fmt: skip
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal's other end closed
                break
            if not chunk:
                break
            shown += chunk
        os.close(main)
        names = ("PAGER", "CLM_PAGER")
        paged = {
            name: (tmp_path / name).read_text()
            for name in (*names, "CONFIG_PAGER") if (tmp_path / name).exists()
        }  # fmt: skip
        return (result.stdout if piped else shown).decode(), paged

    return run


def test_a_listing_on_a_terminal_goes_to_the_pager(run):
    shown, paged = run("customer", "list")
    assert shown == ""
    assert list(paged) == ["PAGER"] and "acme-corp" in paged["PAGER"]
    assert "─" in paged["PAGER"]  # laid out for the terminal, not the pipe's plain table


def test_clm_pager_beats_pager(run):
    _, paged = run("customer", "show", "acme-corp", clm_pager=True)
    assert list(paged) == ["CLM_PAGER"] and "Acme Corp" in paged["CLM_PAGER"]


def test_the_config_files_pager_beats_pager_and_clm_pager_beats_it(run, tmp_path):
    _, paged = run("customer", "list", config_pager=True)
    assert list(paged) == ["CONFIG_PAGER"] and "acme-corp" in paged["CONFIG_PAGER"]
    (tmp_path / "CONFIG_PAGER").unlink()
    _, paged = run("customer", "list", config_pager=True, clm_pager=True)
    assert list(paged) == ["CLM_PAGER"]


@pytest.mark.parametrize(
    "args", [("--no-pager", "customer", "list"), ("customer", "list", "--no-pager")]
)
def test_no_pager_writes_to_the_terminal(run, args):
    shown, paged = run(*args)
    assert paged == {} and "acme-corp" in shown


@pytest.mark.parametrize("pager", ["cat", " "])
def test_cat_or_an_empty_pager_is_no_pager(run, pager):
    shown, paged = run("customer", "list", pager=pager)
    assert paged == {} and "acme-corp" in shown


def test_never_in_a_pipe(run):
    shown, paged = run("customer", "list", piped=True)
    assert paged == {} and shown.startswith("slug")
