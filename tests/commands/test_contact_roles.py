"""Contact roles from the model: `contact_roles = [...]` (the fixed list by default), carried
by `model export/apply/show`, checked by `contact add --role` and by `contact_left:ROLE`."""

import re

from tests.conftest import dump

DEFAULT = ["champion", "sponsor", "signer", "billing", "admin", "user"]


def with_roles(clm, tmp_path, roles: str, code: int = 0):
    text = clm("model", "export").stdout
    text = re.sub(r"(?m)^contact_roles = \[[^\]]*\]", f"contact_roles = {roles}", text)
    (tmp_path / "model.toml").write_text(text)
    return clm("model", "apply", tmp_path / "model.toml", code=code)


def test_the_default_roles_are_the_models_until_it_lists_its_own(clm, tmp_path):
    assert clm.json("model", "show")["contact_roles"] == DEFAULT
    assert 'contact_roles = [\n    "champion",' in clm("model", "export").stdout
    applied = with_roles(clm, tmp_path, '["champion", "exec-sponsor", "it_admin"]')
    assert "contact_roles" in applied.stdout
    assert clm.json("model", "show")["contact_roles"] == ["champion", "exec-sponsor", "it_admin"]
    clm("customer", "add", "Acme")
    clm("contact", "add", "acme", "Ana", "--role", "Exec-Sponsor")
    assert [c["role"] for c in clm.json("contact", "list")] == ["exec-sponsor"]
    assert clm.error("contact", "add", "acme", "Bo", "--role", "it-admin") == (
        "Error: invalid role 'it-admin': use one of champion, exec-sponsor, it_admin; "
        "did you mean 'it_admin'?"
    )
    # A rule reads the model's roles; a role it does not list is refused with the closest.
    clm("rule", "add", "lost-sponsor", "--from", "onboarding", "--cta", "risk:sponsor left",
        "--when", "contact_left:exec-sponsor")  # fmt: skip
    error = clm.error("rule", "add", "x", "--from", "onboarding", "--cta", "risk:x",
                      "--when", "contact_left:billing")  # fmt: skip
    assert "contact_left: takes a role, one of champion, exec-sponsor, it_admin" in error
    # The export is the model: applied again, it changes nothing.
    (tmp_path / "again.toml").write_text(clm("model", "export").stdout)
    assert clm("model", "apply", tmp_path / "again.toml").stderr.startswith("No changes")


def test_a_role_still_held_or_a_bad_list_is_refused_and_nothing_changes(clm, tmp_path, db_path):
    clm("customer", "add", "Acme")
    clm("contact", "add", "acme", "Ana", "--role", "billing")
    clm("contact", "add", "acme", "Bo", "--role", "billing")
    before = dump(db_path)
    refused = with_roles(clm, tmp_path, '["champion"]', code=1)
    assert (
        "contact_roles: the file removes role 'billing' but 2 contacts have it: keep it, or "
        "change theirs first" in refused.stderr
    )
    refused = with_roles(clm, tmp_path, '["billing", "Bad Role"]', code=1)
    assert "contact_roles: contact_roles needs at least one role" in refused.stderr
    assert "('bad role' is not one)" in refused.stderr
    refused = with_roles(clm, tmp_path, "[]", code=1)
    assert "contact_roles needs at least one role" in refused.stderr
    assert dump(db_path) == before
