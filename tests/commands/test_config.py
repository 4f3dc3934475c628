"""`clm config`: the config file's settings, under the environment variables and the options;
written atomically and privately, and never holding a password."""

import json
import os
import stat
import subprocess
import sys

import pytest

from clm.storage.config_file import smtp_url
from tests.conftest import ON_PG, dump

KEYS = "database, user, pager, dates, notify.smtp_url"


@pytest.fixture
def config_file(tmp_path):
    return tmp_path / "config" / "config.toml"  # $CLM_CONFIG of every test (conftest)


def test_path_is_clm_config_else_the_user_config_dir(clm, config_file, monkeypatch, tmp_path):
    assert clm("config", "path").stdout == f"{config_file}\n"
    monkeypatch.delenv("CLM_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert clm("config", "path").stdout == f"{tmp_path / 'xdg' / 'clm' / 'config.toml'}\n"
    assert not config_file.exists()


def test_set_get_unset_round_trip(clm, config_file):
    result = clm("config", "set", "user", "Alice")
    assert result.stderr == f"Set user = alice in {config_file}.\n"
    clm("config", "set", "notify.smtp_url", "smtp://mailer@mail.example.com:587")
    assert config_file.read_text() == (
        'user = "alice"\n\n[notify]\nsmtp_url = "smtp://mailer@mail.example.com:587"\n'
    )
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert [p.name for p in config_file.parent.iterdir()] == ["config.toml"]  # no temporary
    assert clm("config", "get", "user").stdout == "alice\n"
    assert clm("config", "unset", "notify.smtp_url").stderr.startswith("Unset notify.smtp_url")
    assert config_file.read_text() == 'user = "alice"\n'  # the empty [notify] goes too
    result = clm("config", "unset", "notify.smtp_url")
    assert result.stderr == f"notify.smtp_url was not set in {config_file}.\n"
    error = clm.error("config", "get", "notify.smtp_url")
    assert error == f"Error: notify.smtp_url is not set: not in CLM_SMTP_URL, nor in {config_file}"


def test_list_says_what_is_in_effect_and_where_from(clm, monkeypatch, tmp_path):
    clm("config", "set", "user", "alice")
    clm("config", "set", "pager", "most")
    monkeypatch.setenv("CLM_PAGER", "less -S")
    monkeypatch.delenv("CLM_DB")
    rows = {row["key"]: row for row in clm.json("config", "list")}
    assert list(rows) == ["database", "user", "pager", "dates", "notify.smtp_url"]
    assert (rows["dates"]["value"], rows["dates"]["from"]) == ("iso", "default")
    assert rows["user"] | {"about": ""} == {
        "key": "user", "value": "alice", "from": "config file", "about": "",
    }  # fmt: skip
    assert (rows["pager"]["value"], rows["pager"]["from"]) == ("less -S", "CLM_PAGER")
    database = tmp_path / "data" / "clm" / "clm.db"
    assert (rows["database"]["value"], rows["database"]["from"]) == (str(database), "default")
    assert (rows["notify.smtp_url"]["value"], rows["notify.smtp_url"]["from"]) == (None, "")
    rows = {row["key"]: row for row in clm.json("--as", "bob", "config", "list")}
    assert (rows["user"]["value"], rows["user"]["from"]) == ("bob", "--as")
    table = clm("config").stdout  # alone: the list
    assert table.splitlines()[0].split() == ["key", "value", "from", "about"]
    assert "alice" in table


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("set", "colour", "red"), f"Error: unknown config key 'colour': use one of {KEYS}"),
        (("get", "usr"), f"Error: unknown config key 'usr': use one of {KEYS}"),
        (("unset", "usr"), f"Error: unknown config key 'usr': use one of {KEYS}"),
        (
            ("set", "notify.smtp_url", "smtp://me:s3cret@mail.example.com"),
            "Error: an SMTP password does not go in the config file: set CLM_SMTP_PASSWORD, "
            "or put it in ~/.netrc",
        ),
        (
            ("set", "notify.smtp_url", "mail.example.com"),
            "Error: SMTP URL 'mail.example.com': use smtp://[USER@]HOST[:PORT] or smtps://…",
        ),
        (
            ("set", "database", "postgresql://bob:s3cret@db.example.com/clm"),
            "Error: a database password does not go in the config file: set CLM_DB instead, "
            "or use PGPASSWORD or ~/.pgpass",
        ),
        (
            ("set", "database", "mysql://db.example.com/clm"),
            "Error: unsupported database 'mysql://db.example.com/clm': use a file path, "
            "sqlite:///PATH or postgresql://…",
        ),
        (("set", "user", "two words"), "Error: user 'two words': give one handle, e.g. alice"),
        (
            ("set", "dates", "%Y-%m"),
            "Error: date display '%Y-%m': use iso (2026-12-06) or a strftime pattern with the "
            "day, e.g. '%d %b %Y'",
        ),
    ],
)
def test_refusals_are_one_line_and_write_nothing(clm, config_file, args, error):
    clm("config", "set", "user", "alice")
    before = config_file.read_bytes()
    assert clm.error("config", *args) == error
    assert config_file.read_bytes() == before


def test_a_relative_database_path_is_stored_absolute(clm, config_file, tmp_path):
    result = clm("config", "set", "database", "book.db")
    assert config_file.read_text() == f'database = "{tmp_path / "book.db"}"\n'
    assert f"No database at {tmp_path / 'book.db'} yet: `clm init` makes one." in result.stderr


@pytest.mark.sqlite_only("books in files named by the config file")
def test_the_config_database_is_used_under_clm_db_and_db(clm, monkeypatch, tmp_path):
    monkeypatch.delenv("CLM_DB")
    clm("config", "set", "database", str(tmp_path / "book.db"))
    assert clm("db", "path").stdout == f"{tmp_path / 'book.db'}\n"
    error = clm.error("customer", "list")  # a missing file is still never made by accident
    assert error.startswith(f"Error: no database at {tmp_path / 'book.db'} (from database in ")
    clm("init")
    clm("customer", "add", "Acme Corp")
    assert [c["slug"] for c in clm.json("customer", "list")] == ["acme-corp"]
    monkeypatch.setenv("CLM_DB", str(tmp_path / "clm.db"))  # the variable wins
    assert clm.json("customer", "list") == []
    other = tmp_path / "other.db"
    clm("--db", other, "init")
    assert clm("customer", "list", "--db", other).stdout == ""  # the option wins over both


def test_the_config_user_is_who_you_are_under_clm_user_and_as(team, config_file):
    clm = team
    clm.error("my")  # nobody yet
    clm("config", "set", "user", "alice")
    assert clm("my", "-f", "json").stdout == "[]\n"
    clm("config", "set", "user", "zed")
    assert clm.error("customer", "add", "Acme Corp").startswith(
        f"Error: no user 'zed' (from user in {config_file}): the users are "
    )
    assert clm("--as", "bob", "customer", "add", "Acme Corp").stdout == "acme-corp\n"


def test_a_broken_file_is_one_error_and_config_set_can_mend_a_bad_value(clm, config_file, db_path):
    config_file.parent.mkdir()
    config_file.write_text('user = "alice"\npager = [\n')
    before = dump(db_path)
    error = clm.error("customer", "add", "Acme Corp")
    assert error.startswith(f"Error: config file {config_file} is not TOML: ")
    assert error.endswith("; fix or remove it")
    assert dump(db_path) == before
    # Read only when needed: with every setting given, and for its path, it is not.
    assert clm("--as", "bob", "customer", "list").stderr == "No customers.\n"
    assert clm("config", "path").stdout == f"{config_file}\n"
    config_file.write_text("user = 3\n")
    error = clm.error("customer", "list")
    assert error == f"Error: config file {config_file}: user: give a string, in quotes"
    clm("config", "set", "user", "bob")
    assert clm("customer", "list").stderr == "No customers.\n"


def test_an_unknown_key_in_the_file_is_a_warning_and_can_be_unset(clm, config_file):
    config_file.parent.mkdir()
    config_file.write_text('usr = "alice"\n[notify]\nsmtp_url = "smtp://mail.example.com"\n')
    result = clm("customer", "list")
    assert result.stderr == (
        f"Warning: config file {config_file}: unknown key 'usr' ignored "
        "(`clm config list` shows the keys)\nNo customers.\n"
    )
    clm("config", "unset", "usr")
    assert config_file.read_text() == '[notify]\nsmtp_url = "smtp://mail.example.com"\n'


def test_smtp_url_the_environment_wins_over_the_file(clm, monkeypatch):
    assert smtp_url() is None
    clm("config", "set", "notify.smtp_url", "smtps://mail.example.com")
    assert smtp_url() == "smtps://mail.example.com"
    monkeypatch.setenv("CLM_SMTP_URL", "smtp://relay.example.com:2525")
    assert smtp_url() == "smtp://relay.example.com:2525"
    assert clm("config", "get", "notify.smtp_url").stdout == "smtp://relay.example.com:2525\n"
    result = clm("config", "set", "notify.smtp_url", "smtp://other.example.com")
    assert "Note: CLM_SMTP_URL is set, and wins over the config file." in result.stderr


@pytest.mark.skipif(ON_PG, reason="completion reads SQLite files only")
def test_completion_reads_the_config_database(clm, tmp_path, monkeypatch):
    book = tmp_path / "book.db"
    clm("--db", book, "init")
    clm("--db", book, "customer", "add", "Acme Corp")
    clm("config", "set", "database", str(book))
    env = os.environ.copy()
    env.pop("CLM_DB")
    env |= {"_CLM_COMPLETE": "bash_complete", "COMP_WORDS": "clm customer show ac"}
    env["COMP_CWORD"] = "3"
    answer = subprocess.run(
        [sys.executable, "-m", "clm"], capture_output=True, text=True, env=env, check=True
    )
    assert answer.stdout.split() == ["acme-corp"]


def test_config_commands_do_not_load_the_database_stack(clm):
    clm("config", "set", "user", "alice")
    code = (
        "import sys\nfrom clm.cli.app import app\n"
        "try:\n    app(['config', 'list', '-f', 'json'], prog_name='clm')\n"
        "except SystemExit:\n    pass\n"
        "print(','.join(m for m in ('sqlalchemy', 'pydantic') if m in sys.modules), "
        "file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.strip() == ""
    assert {"key": "user", "value": "alice"}.items() <= json.loads(result.stdout)[1].items()


def test_dates_show_as_set_in_tables_and_pages_and_stay_iso_for_scripts(clm, monkeypatch):
    clm("customer", "add", "Acme Corp", "--start", "2026-03-05", "--renewal", "2027-03-05")
    clm("config", "set", "dates", "%d %b %Y")
    listed = clm("customer", "list").stdout  # the plain table of a pipe
    assert "05 Mar 2027" in listed and "2027-03-05" not in listed
    assert "start            05 Mar 2026\n" in clm("customer", "show", "acme-corp").stdout
    monkeypatch.setenv("COLUMNS", "40")
    assert "05 Mar 2027" in clm("--no-pager", "customer", "list", "--fields", "slug,renewal").stdout
    assert clm.json("customer", "list")[0]["renewal"] == "2027-03-05"
    assert "2027-03-05" in clm("customer", "list", "-f", "csv").stdout
    monkeypatch.setenv("CLM_DATES", "iso")  # the variable wins over the file
    assert "2027-03-05" in clm("customer", "list").stdout
    monkeypatch.setenv("CLM_DATES", "%B")
    assert clm.error("customer", "list") == (
        "Error: CLM_DATES: date display '%B': use iso (2026-12-06) or a strftime pattern with "
        "the day, e.g. '%d %b %Y'"
    )
