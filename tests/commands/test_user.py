"""`clm user …` through the CLI."""

from tests.conftest import dump


def test_add_and_list_users(clm):
    clm("user", "add", "Alice", "--name", "Alice Smith", "--email", "alice@example.com",
        "--team", "customer-success", "--default-owner")  # fmt: skip
    clm("user", "add", "bob")
    assert clm.json("user", "list") == [
        {"handle": "alice", "name": "Alice Smith", "email": "alice@example.com",
         "team": "customer-success", "default_owner": True, "notify": "none", "digest": "daily",
         "webhook": None, "uuid": clm.json("user")[0]["uuid"]},
        {"handle": "bob", "name": None, "email": None, "team": None, "default_owner": False,
         "notify": "none", "digest": "daily", "webhook": None,
         "uuid": clm.json("user")[1]["uuid"]},
    ]  # fmt: skip
    assert (
        clm("user", "-f", "csv").stdout.splitlines()[0]
        == "handle,name,email,team,default_owner,notify,digest,webhook,uuid"
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


def test_a_user_with_live_work_is_removed_only_when_it_has_somewhere_to_go(team, db_path):
    team("customer", "add", "Acme", "--stage", "adopting", "--owner", "bob")
    team("customer", "add", "Globex", "--stage", "adopting", "--owner", "bob")
    team("task", "add", "acme", "Send the deck", "--assignee", "bob")
    team("task", "add", "acme", "Old chore", "--assignee", "bob")
    team("task", "done", 2)
    before = dump(db_path)
    assert team.error("user", "rm", "bob", "--yes") == (
        "Error: user 'bob' still has 2 customers and 1 open task: pass --reassign HANDLE "
        "to hand them over, or --unassign to leave them without an owner"
    )
    assert "no user 'zed'" in team.error("user", "rm", "bob", "--reassign", "zed", "--yes")
    assert "that is the user being removed" in team.error(
        "user", "rm", "bob", "--reassign", "bob", "--yes"
    )
    assert "exclude each other" in team.error(
        "user", "rm", "bob", "--reassign", "alice", "--unassign", "--yes"
    )
    assert dump(db_path) == before

    result = team("user", "rm", "bob", "--reassign", "alice", "--yes")
    assert result.stderr == ("Removed user bob.\nHanded 2 customers and 1 open task to alice.\n")
    assert {c["owner"] for c in team.json("customer", "list")} == {"alice"}
    tasks = {t["title"]: t["assignee"] for t in team.json("task", "list", "--status", "all")}
    assert tasks == {"Send the deck": "alice", "Old chore": "bob"}  # closed work keeps history


def test_unassign_leaves_the_work_without_an_owner(team):
    team("customer", "add", "Acme", "--stage", "adopting", "--owner", "bob")
    result = team("user", "rm", "bob", "--unassign", "--yes")
    assert result.stderr == "Removed user bob.\nHanded 1 customer to nobody.\n"
    assert team.json("customer", "show", "acme")["owner"] is None
    assert "no user 'bob'" in team.error("customer", "list", "--owner", "bob")


def test_a_removed_user_is_no_longer_an_influencer_or_collaborator_anywhere(team):
    team("customer", "add", "Acme", "--influencer", "bob", "--influencer", "amy")
    team("milestone", "add", "acme", "Go-live", "--due", "2027-01-15", "--collaborator", "bob")
    team("user", "rm", "bob", "--yes")
    assert team.json("customer", "show", "acme")["influencers"] == ["amy"]
    listed = team.json("milestone", "list", "--customer", "acme")
    go_live = next(m["id"] for m in listed if m["title"] == "Go-live")
    assert team.json("milestone", "show", str(go_live))["collaborators"] == []
    assert "bob" not in team("export", "customers").stdout
    assert "bob" not in team("export", "milestones").stdout
