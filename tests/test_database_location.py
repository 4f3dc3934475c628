"""A database file is never made by accident: `clm init`, `clm demo` and the first use of the
default place make one; a mistyped --db or CLM_DB is an error naming the path and `clm init`."""

import pytest

from tests.conftest import ON_PG

pytestmark = pytest.mark.sqlite_only("about files on disk")


@pytest.mark.parametrize("args", [("customer", "list"), (), ("report", "stages"), ("db", "check")])
def test_a_mistyped_db_option_is_an_error_and_makes_nothing(clm, tmp_path, args):
    typo = tmp_path / "typo.bd"
    assert clm.error("--db", typo, *args) == (
        f"Error: no database at {typo} (from --db): check the path, or create one there with "
        f"`clm --db {typo} init`"
    )
    assert not typo.exists()


def test_a_mistyped_clm_db_names_the_variable(clm, tmp_path, monkeypatch):
    monkeypatch.setenv("CLM_DB", str(tmp_path / "book.bd"))
    assert "(from CLM_DB)" in clm.error("customer", "add", "Acme")
    assert not (tmp_path / "book.bd").exists()


def test_a_quoted_path_in_the_hint_can_be_pasted(clm, tmp_path):
    assert f"`clm --db '{tmp_path}/my book.db' init`" in clm.error(
        "--db", tmp_path / "my book.db", "customer", "list"
    )


def test_init_and_demo_make_the_file_then_every_command_opens_it(clm, tmp_path):
    clm("--db", tmp_path / "new.db", "init")
    assert clm("--db", tmp_path / "new.db", "customer", "list").stderr == "No customers.\n"
    clm("--db", tmp_path / "demo.db", "demo", "--customers", "3")
    assert len(clm.json("--db", tmp_path / "demo.db", "customer", "list")) == 3


def test_the_default_place_is_made_on_first_use(clm, tmp_path, monkeypatch):
    assert not ON_PG
    monkeypatch.delenv("CLM_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "elsewhere"))
    assert clm("customer", "list").stderr == "No customers.\n"
    assert (tmp_path / "elsewhere" / "clm" / "clm.db").is_file()
