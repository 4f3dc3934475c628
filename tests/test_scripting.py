"""For scripts: add commands print what they made on stdout, --fields picks columns, and a
reader that goes away (`| head -1`) ends clm quietly with exit 0."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ON_PG


@pytest.mark.parametrize(
    ("args", "handle", "sentence"),
    [
        (("customer", "add", "Globex"), "globex", "Added globex (Globex)"),
        (("task", "add", "acme", "Call"), "1", "Added task {} to acme"),
        (("milestone", "add", "acme", "QBR", "--due", "+1m"), "1", "Added milestone {} to acme"),
        (("cta", "open", "acme", "--type", "risk", "--reason", "q"), "1", "Opened CTA {} on acme"),
        (("user", "add", "zoe", "--team", "sales"), "zoe", "Added user zoe"),
        (("stage", "add", "pilot", "--after", "onboarding"), "pilot", "Added stage pilot"),
        (("holiday", "add", "2026-12-25", "Christmas"), "2026-12-25", "Added holiday"),
        (
            ("rule", "add", "slow", "--from", "onboarding", "--when", "days_in_stage >= 9",
             "--cta", "risk:slow"),
            "slow",
            "Added rule slow",
        ),
    ],
    ids=lambda value: value[0] if isinstance(value, tuple) else "",
)  # fmt: skip
def test_add_commands_print_the_new_handle_on_stdout(team, args, handle, sentence):
    team("customer", "add", "Acme", "--slug", "acme")
    result = team(*args)
    made = result.stdout.removesuffix("\n")
    if handle.isdigit():  # an id: the one the sentence names
        assert made.isdigit()
    else:
        assert made == handle
    assert result.stderr.startswith(sentence.format(made))


def test_fields_pick_and_order_the_columns_in_every_format(team):
    team("customer", "add", "Acme", "--arr", "1200")
    assert team("customer", "list", "--fields", "arr,slug", "-f", "csv").stdout == (
        "arr,slug\n1200,acme\n"
    )
    assert team.json("customer", "list", "--fields", "slug,stage") == [
        {"slug": "acme", "stage": "onboarding"}
    ]
    table = team("customer", "--fields", "slug,uuid").stdout.splitlines()
    assert table[0].split() == ["slug", "uuid"]  # a column the table hides, asked for
    shown = team.json("customer", "show", "acme", "--fields", "slug,arr,timeline")
    assert list(shown) == ["slug", "arr", "timeline"]
    page = team("customer", "show", "acme", "--fields", "slug,arr").stdout
    assert page == "Acme (acme)\nslug  acme\nARR   1,200\n"


def test_an_unknown_field_names_the_ones_there_are(team):
    assert team.error("user", "list", "--fields", "handle,nmae") == (
        "Error: unknown field 'nmae' in --fields: use some of handle, name, email, team, "
        "default_owner, notify, digest, webhook, uuid"
    )


def test_every_list_and_show_takes_fields(clm):
    from tests.cli.test_app import COMMANDS

    for path in COMMANDS:
        if path[-1] in ("list", "show") and path[0] != "model":
            assert "--fields" in clm(*path, "--help").stdout, path


@pytest.fixture(scope="module")
def big_book(tmp_path_factory) -> Path:
    """3,000 customers imported: every format's listing is far more than a pipe holds (64 KiB).
    (Imported, not `clm demo`: the demo's daily ticks took minutes a format under load.)"""
    book = tmp_path_factory.mktemp("pipe") / "big.db"
    rows = "".join(f"customer-{i:05},Customer {i},onboarding,{1000 + i}\n" for i in range(3000))
    csv = book.with_suffix(".csv")
    csv.write_text("slug,name,stage,arr\n" + rows)
    for args in (["init"], ["import", "customers", str(csv)]):
        subprocess.run(
            [sys.executable, "-m", "clm", "--db", str(book), "--today", "2026-11-23", *args],
            capture_output=True, check=True,
        )  # fmt: skip
    return book


@pytest.mark.skipif(ON_PG, reason="a book of files; the pipe is the point")
@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_a_closed_pipe_ends_clm_quietly_with_exit_0(big_book, fmt):
    env = os.environ | {"CLM_DB": str(big_book)}
    clm = subprocess.Popen(
        [sys.executable, "-m", "clm", "customer", "list", "-f", fmt],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    head = subprocess.run(["head", "-1"], stdin=clm.stdout, capture_output=True, check=True)
    clm.stdout.close()  # only head holds the pipe now: when it exits, the pipe is closed
    assert clm.wait(timeout=60) == 0
    assert clm.stderr.read() == b""
    first = head.stdout.decode()
    assert first.startswith("[" if fmt == "json" else "slug")
    if fmt == "json":
        json.loads(first.rstrip().rstrip(",") + "]")


@pytest.mark.skipif(ON_PG, reason="a book of files; the console script's own ending is the point")
def test_the_console_script_delivers_all_its_output_and_exit_status(big_book):
    """It ends without Python's teardown (clm/__main__.py): what is still buffered comes out."""
    env = os.environ | {"CLM_DB": str(big_book)}
    listed = subprocess.run(
        [sys.executable, "-m", "clm", "customer", "list", "-f", "csv"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert (listed.returncode, listed.stderr) == (0, "")
    lines = listed.stdout.splitlines()
    assert len(lines) == 3001
    assert lines[-1].startswith("customer-02999,Customer 2999,")
    missing = subprocess.run(
        [sys.executable, "-m", "clm", "customer", "show", "nobody"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr.startswith("Error: no customer 'nobody'")
    assert missing.stderr.count("\n") == 1
