"""A rule on a date field against a day relative to each day (`contract_end <= today+30d`),
dated the day it first held; and `--where` with `today-14d`."""


def test_a_rule_with_today_plus_fires_dated_the_day_it_first_held(clm):
    clm("field", "add", "contract_end", "--kind", "date")
    clm("rule", "add", "ending", "--from", "onboarding", "--cta", "lifecycle:contract ending",
        "--when", "contract_end <= today + 30d")  # fmt: skip
    rules = {rule["name"]: rule["when"] for rule in clm.json("rule", "list")}
    assert rules["ending"] == ["contract_end <= today+30d"]
    clm("--today", "2026-11-01", "customer", "add", "Acme", "--set", "contract_end=2026-12-10")
    clm("--today", "2026-11-01", "customer", "add", "Beta", "--set", "contract_end=2027-03-01")
    explained = {
        slug: next(r for r in clm.json("explain", slug) if r["rule"] == "ending")
        for slug in ("acme", "beta")
    }
    # 2026-12-10 - 30 days: it holds from 2026-11-10.
    assert (explained["acme"]["holds"], explained["acme"]["since"]) == (True, "2026-11-10")
    assert explained["beta"]["holds"] is False
    opened = clm.json("tick")["ctas_opened"]
    assert [(c["customer"], c["on"]) for c in opened] == [("acme", "2026-11-10")]


def test_where_takes_today_minus(clm):
    clm("field", "add", "last_qbr", "--kind", "date")
    clm("customer", "add", "Acme", "--set", "last_qbr=2026-11-01")
    clm("customer", "add", "Beta", "--set", "last_qbr=2026-11-20")
    found = clm.json("customer", "list", "--where", "last_qbr < today-14d")  # before 11-09
    assert [c["slug"] for c in found] == ["acme"]
    error = clm.error("rule", "add", "x", "--from", "onboarding", "--cta", "risk:x",
                      "--when", "last_qbr < today-2m")  # fmt: skip
    assert "compare it with today, today+30d, today-14d (days or weeks)" in error
