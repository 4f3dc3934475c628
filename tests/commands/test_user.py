"""`clm user …` through the CLI."""

from tests.conftest import dump


def test_add_and_list_users(clm):
    clm("user", "add", "Alice", "--name", "Alice Smith", "--email", "alice@example.com",
        "--team", "customer-success", "--default-owner")  # fmt: skip
    clm("user", "add", "bob")
    assert clm.json("user", "list") == [
        {"handle": "alice", "name": "Alice Smith", "email": "alice@example.com",
         "team": "customer-success", "default_owner": True, "uuid": clm.json("user")[0]["uuid"]},
        {"handle": "bob", "name": None, "email": None, "team": None, "default_owner": False,
         "uuid": clm.json("user")[1]["uuid"]},
    ]  # fmt: skip
    assert (
        clm("user", "-f", "csv").stdout.splitlines()[0]
        == "handle,name,email,team,default_owner,uuid"
    )


def test_a_new_default_owner_replaces_the_old_one(clm):
    clm("user", "add", "alice", "--team", "sales", "--default-owner")
    result = clm("user", "add", "sam", "--team", "sales", "--default-owner")
    assert result.stderr == "Added user sam in team sales, its default owner (was alice).\n"
    owners = {u["handle"]: u["default_owner"] for u in clm.json("user", "list")}
    assert owners == {"alice": False, "sam": True}


def test_user_refusals_change_nothing(clm, db_path):
    clm("user", "add", "alice")
    before = dump(db_path)
    assert clm.error("user", "add", "alice") == "Error: user 'alice' already exists"
    assert "invalid user handle 'a b'" in clm.error("user", "add", "a b")
    assert "--default-owner needs --team" in clm.error("user", "add", "zed", "--default-owner")
    assert "invalid email 'nope'" in clm.error("user", "add", "zed", "--email", "nope")
    assert "invalid team" in clm.error("user", "add", "zed", "--team", "Sales Team!")
    assert dump(db_path) == before
