"""The teams' assignment policies in the lifecycle model file: `[[teams]]` with `assign`,
exported, applied and checked like the rest of the model."""

import tomllib

import tomli_w

from tests.conftest import dump


def test_team_policies_round_trip_through_the_model_file(team, tmp_path):
    team("user", "team", "customer-success", "--assign", "round-robin")
    exported = team("model", "export").stdout
    assert tomllib.loads(exported)["teams"] == [
        {"name": "customer-success", "assign": "round-robin"}
    ]
    path = tmp_path / "model.toml"
    path.write_text(exported)
    assert "No changes" in team("model", "apply", path).stderr
    # Another policy, and a team that owns no stage (the delivery team of the seeds).
    path.write_text(_with_teams(tomllib.loads(exported)))
    rows = team.json("model", "apply", path, "--dry-run")
    assert [(r["change"], r["kind"], r["name"], r["detail"]) for r in rows] == [
        ("changed", "team", "customer-success", "assign: round-robin → least-loaded"),
        ("added", "team", "delivery", "assign round-robin"),
    ]
    team("model", "apply", path)
    assert "assigns by least-loaded" in team("user", "team", "customer-success").stderr
    assert tomllib.loads(team("model", "export").stdout)["teams"] == [
        {"name": "customer-success", "assign": "least-loaded"},
        {"name": "delivery", "assign": "round-robin"},
    ]


def _with_teams(document: dict) -> str:
    """The exported model with its teams replaced by two [[teams]] tables."""
    document["teams"] = [
        {"name": "customer-success", "assign": "least-loaded"},
        {"name": "delivery", "assign": "round-robin"},
    ]
    return tomli_w.dumps(document)


def test_bad_teams_are_reported_with_their_place_and_change_nothing(team, tmp_path, db_path):
    document = tomllib.loads(team("model", "export").stdout)
    document["teams"] = [
        {"name": "Delivery!", "assign": "random"},
        {"name": "x"},
        {"name": "x", "assign": "least-loaded", "size": 3},
    ]
    path = tmp_path / "model.toml"
    path.write_text(tomli_w.dumps(document))
    before = dump(db_path)
    result = team("model", "apply", path, code=1)
    assert result.stderr.splitlines() == [
        f"{path}: teams[0].name: invalid team 'Delivery!': use lowercase letters, digits, '.', "
        "'_' and '-' (up to 64, starting with a letter or digit)",
        f"{path}: teams[0].assign: invalid assignment policy 'random': use default-owner, "
        "round-robin, least-loaded",
        f"{path}: teams[2]: unknown key 'size': use name, assign",
        "Error: 3 problems in the model; nothing changed",
    ]
    assert dump(db_path) == before
