"""The lifecycle's map: every way customers move (rules and moves by hand) and each team's
role at each stage, as the poster draws them."""

import os

from clm.domain.lifecycle_map import COLLABORATES, HANDS_OFF, OWNS, RECEIVES, Role, lifecycle_map


def mapped(clm):
    from clm.db import Database
    from clm.domain.model_file import read_model
    from clm.domain.new_book import install_template

    clm("stage", "list")  # the book exists
    database = Database.open(os.environ["CLM_DB"], on_create=install_template)
    with database.read() as conn:
        return lifecycle_map(conn, read_model(conn))


def test_the_default_lifecycle_moves(clm):
    moves = {move.name: move for move in mapped(clm).moves}
    assert (moves["qualify"].sources, moves["qualify"].targets) == (("lead",), ("prospect",))
    # Back to where the customer came from: any stage a rule moves customers in from.
    recovered = moves["recovered"]
    assert recovered.back and not recovered.by_hand
    assert recovered.targets == ("onboarding", "launched", "adopting", "renewal")
    # By hand: win from before the entry stage, churn from every live stage after it, renew
    # back to where a renewal came from but never the entry stage, win back to the entry.
    assert (moves["win"].sources, moves["win"].targets) == (("lead", "prospect"), ("onboarding",))
    assert moves["churn"].sources == (
        "onboarding", "launched", "adopting", "renewal", "will-churn"
    )  # fmt: skip
    assert moves["churn"].targets == ("churned",)
    # (onboarding's renewals go on to launched; will-churn's come from recovered)
    assert moves["renew"].targets == ("launched", "adopting", "will-churn")
    assert moves["renew"].back
    assert (moves["win back"].sources, moves["win back"].targets) == (("churned",), ("onboarding",))
    assert all(moves[name].by_hand for name in ("win", "churn", "renew", "win back"))


def test_each_team_role_at_each_stage(clm):
    clm("user", "add", "dana", "--team", "delivery")
    clm("customer", "add", "Acme Corp", "--owner", "dana")
    for milestone in clm.json("milestone", "list"):
        if milestone["title"] in ("Product delivery", "Renewal"):
            clm("milestone", "edit", str(milestone["id"]), "--collaborator", "dana")
    found = mapped(clm)
    assert found.teams == ["account-management", "customer-success", "delivery", "marketing",
                           "sales"]  # fmt: skip
    roles = found.roles
    assert roles[("sales", "prospect")] == [
        Role(OWNS), Role(RECEIVES, "marketing"), Role(HANDS_OFF, "customer-success")
    ]  # fmt: skip
    assert roles[("account-management", "renewal")] == [
        Role(OWNS), Role(RECEIVES, "customer-success"), Role(HANDS_OFF, "customer-success")
    ]  # fmt: skip
    # The delivery team works on a milestone of the onboarding playbook; the Renewal
    # milestone is the lifecycle playbook's, run on every start, at no stage.
    assert roles[("delivery", "onboarding")] == [Role(COLLABORATES, "Product delivery")]
    assert [key for key in roles if key[0] == "delivery"] == [("delivery", "onboarding")]
    # A terminal stage has no team: churning is no handoff.
    assert not any(key[1] == "churned" for key in roles)
