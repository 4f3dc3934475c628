"""Shell completion: the scripts work in bash, zsh and fish, values come from the database,
and the answer never loads Typer, SQLAlchemy or pydantic."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clm.cli.command_index import INDEX
from clm.cli.completion import complete

BIN = Path(sys.executable).parent


@pytest.fixture
def book(clm, tmp_path):
    path = tmp_path / "book.db"
    clm("--db", path, "demo", "--customers", "8")
    return path


def _env(book, **extra) -> dict:
    return os.environ | {"CLM_DB": str(book), "PATH": f"{BIN}:{os.environ['PATH']}"} | extra


def ask(book, line: str, shell: str = "bash") -> list[str]:
    """What `clm` answers a shell completing `line` (a trailing space: a new word)."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    env = _env(book, _CLM_COMPLETE=f"{shell}_complete", COMP_WORDS=line, COMP_CWORD=str(cword))
    result = subprocess.run(
        [BIN / "clm"], capture_output=True, text=True, env=env, check=True, timeout=30
    )
    return result.stdout.splitlines()


def test_commands_options_and_choices(book):
    assert ask(book, "clm cust") == ["customer"]
    assert ask(book, "clm customer ") == [
        "add",
        "assign",
        "edit",
        "list",
        "move",
        "renew",
        "rm",
        "show",
        "timeline",
    ]
    assert "--renewal-within" in ask(book, "clm customer list --re")
    assert ask(book, "clm customer list --format j") == ["json", "jsonl"]
    assert ask(book, "clm customer list --format=c") == ["--format=csv"]
    assert ask(book, "clm cta open acme-corp --type r") == ["risk"]


def test_values_from_the_database(book):
    assert ask(book, "clm customer show ac") == ["acme-corp"]
    assert ask(book, "clm --as a") == ["alice", "amy"]
    assert "onboarding" in ask(book, "clm customer move acme-corp ")
    assert ask(book, "clm customer list --stage will") == ["will-churn"]
    assert ask(book, "clm rule disable at") == ["at-risk"]
    assert ask(book, "clm playbook show on") == ["onboarding"]
    assert ask(book, "clm task list --assignee s") == ["sam"]
    # A new name is not completed from the names that exist.
    assert ask(book, "clm user add a") == []
    assert ask(book, "clm rule add a") == []


def test_db_option_typed_before_the_command(book, tmp_path):
    env_book = tmp_path / "other.db"
    words = f"clm --db {book} customer show ac"
    assert ask(env_book, words) == ["acme-corp"]


def test_no_database_completes_no_values_and_creates_none(tmp_path):
    missing = tmp_path / "none.db"
    assert ask(missing, "clm customer show ") == []
    assert ask(tmp_path / "x", "clm customer show ", "zsh") == []
    assert not missing.exists()
    assert ask(missing, "clm customer ") != []
    # A server database completes commands, not values.
    assert complete(INDEX, ["customer", "show"], "", {"CLM_DB": "postgresql:///x"}) == []


def test_zsh_and_fish_describe_each_candidate(book):
    assert "acme-corp:Acme Corp" in ask(book, "clm customer show ac", "zsh")
    assert "acme-corp\tAcme Corp" in ask(book, "clm customer show ac", "fish")
    assert any(line.startswith("customer:Customers") for line in ask(book, "clm cu", "zsh"))


def test_the_answer_loads_neither_typer_nor_the_database_stack(book):
    code = (
        "import sys\nfrom clm.__main__ import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('typer', 'sqlalchemy', 'sqlmodel', 'pydantic', 'rich')\n"
        "print([m for m in heavy if m in sys.modules], file=sys.stderr)\n"
    )
    env = _env(
        book, _CLM_COMPLETE="bash_complete", COMP_WORDS="clm customer show ac", COMP_CWORD="3"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.stdout.split() == ["acme-corp"]
    assert result.stderr.strip() == "[]"


def _script(clm, shell: str) -> str:
    return clm("completion", shell).stdout


def test_bash_script(clm, book):
    script = _script(clm, "bash")
    run = (
        f"{script}\n"
        "COMP_WORDS=(clm customer show ac); COMP_CWORD=3; _clm_completion; "
        'echo "${COMPREPLY[@]}"; '
        'COMP_WORDS=(clm cust); COMP_CWORD=1; _clm_completion; echo "${COMPREPLY[@]}"; '
        # bash splits words at `=`: `--format=j` comes as three words.
        "COMP_WORDS=(clm user list --format = j); COMP_CWORD=5; _clm_completion; "
        'echo "${COMPREPLY[@]}"'
    )
    result = subprocess.run(
        ["bash", "--norc", "-c", run], capture_output=True, text=True, env=_env(book)
    )
    assert result.stdout.splitlines() == ["acme-corp", "customer", "json jsonl"], result.stderr


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_script(clm, book):
    script = _script(clm, "zsh")
    # Outside an interactive shell: stand-ins for compsys that print what they are given.
    run = (
        "compdef() { :; }\n"
        '_describe() { print -l -- "${(@P)${@[-1]}}"; }\n'
        "_files() { print FILES; }\n"
        f"{script}\n"
        "words=(clm customer show ac); CURRENT=4; _clm_completion\n"
        "words=(clm db backup ''); CURRENT=4; _clm_completion\n"
    )
    result = subprocess.run(
        ["zsh", "-f", "-c", run], capture_output=True, text=True, env=_env(book)
    )
    assert result.stdout.splitlines() == ["acme-corp:Acme Corp", "FILES"], result.stderr


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_script(clm, book):
    script = _script(clm, "fish")
    run = f"{script}\ncomplete -C 'clm customer show ac'"
    result = subprocess.run(
        ["fish", "--no-config", "-c", run], capture_output=True, text=True, env=_env(book)
    )
    assert result.stdout.splitlines() == ["acme-corp\tAcme Corp"], result.stderr
