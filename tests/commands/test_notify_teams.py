"""Team channels (issue 21): a team's webhook gets one digest a day of what concerns the
customers in its stages, exactly once like a person's, against a real HTTP server in a thread."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ON_PG, dump
from tests.notify_servers import WebhookServer

CS = "customer-success"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CLM_NOTIFY_LEASE", raising=False)


@pytest.fixture
def hooks():
    with WebhookServer() as server:
        yield server


@pytest.fixture
def book(team, hooks):
    """customer-success's channel takes the generic JSON body; alice's acme (onboarding, a
    customer-success stage) has a milestone reminding today; nobody has a personal channel."""
    team("user", "team", CS, "--webhook", hooks.url("/cs"))
    team("customer", "add", "Acme", "--owner", "alice", "--stage", "onboarding")
    team("milestone", "add", "acme", "Kickoff call", "--due", "+2d", "--remind", "2d")
    return team


def posts(hooks, path):
    return [hook for hook in hooks.received if hook["path"] == path]


def test_a_team_webhook_is_set_shown_and_removed_and_a_bad_one_refused(team, hooks, db_path):
    said = team("user", "team", CS, "--webhook", hooks.url("/secret-path", slack=True)).stderr
    assert f"Team {CS} webhook: http://127.0.0.1:{hooks.port}/… (slack) (was none)." in said
    shown = team("user", "team", CS).stderr
    assert f"webhook http://127.0.0.1:{hooks.port}/… (slack)." in shown
    assert "secret-path" not in shown  # a webhook's path is its secret
    before = dump(db_path)
    assert "invalid webhook URL 'ftp://x'" in team.error("user", "team", CS, "--webhook", "ftp://x")
    assert "no team 'nobody'" in team.error("user", "team", "nobody", "--webhook", hooks.url())
    assert dump(db_path) == before
    assert "webhook: none (was http" in team("user", "team", CS, "--webhook", "").stderr
    assert "webhook none." in team("user", "team", CS).stderr


def test_one_team_digest_a_day_across_reruns_and_catch_up(book, hooks):
    book("tick")
    book("tick")
    [first] = posts(hooks, "/cs")
    body = first["body"]
    assert body["team"] == CS and "user" not in body
    assert body["subject"] == "clm: 1 reminder for 2026-11-23"
    assert first["headers"]["Idempotency-Key"] == body["id"]
    [item] = body["items"]
    assert (item["kind"], item["customer"], item["title"]) == (
        "reminder", "acme", "Kickoff call (to alice)",
    )  # fmt: skip
    assert item["act"].startswith("clm milestone done ")
    # Missed days: what came meanwhile in one digest, dated the day of the tick.
    book("milestone", "add", "acme", "Training", "--due", "2026-11-30", "--remind", "5d",
         "--remind", "4d")  # fmt: skip
    book("--today", "2026-11-27", "tick")
    book("--today", "2026-11-27", "tick")
    subjects = [hook["body"]["subject"] for hook in posts(hooks, "/cs")]
    assert subjects == ["clm: 1 reminder for 2026-11-23", "clm: 2 reminders for 2026-11-27"]
    log = book.json("notify", "log", "--team", CS)
    assert [(m["day"], m["team"], m["user"], m["state"]) for m in log] == [
        ("2026-11-23", CS, None, "sent"), ("2026-11-27", CS, None, "sent"),
    ]  # fmt: skip
    assert book.json("notify", "log", "--user", "alice") == []  # a team's is not alice's


def test_handoffs_into_the_team_and_customers_it_has_to_assign(team, hooks):
    team("user", "team", "account-management", "--webhook", hooks.url("/am", slack=True))
    team("user", "team", CS, "--webhook", hooks.url("/cs"))
    team("customer", "add", "Acme", "--owner", "alice", "--stage", "adopting")
    team("customer", "add", "Globex", "--owner", "bob", "--stage", "launched")
    team("user", "rm", "bob", "--unassign", "--yes")  # globex left without an owner
    team("customer", "move", "acme", "renewal")  # customer-success -> account-management
    team("tick")
    [am] = posts(hooks, "/am")
    text = am["body"]["text"]
    assert set(am["body"]) == {"text"}
    assert text.startswith("*clm: 1 handoff for 2026-11-23* (for team account-management)")
    assert "*Customers handed to the team*" in text
    assert "acme: Acme, now in renewal, owner amy" in text
    assert "`clm customer show acme`" in text
    [cs] = posts(hooks, "/cs")
    assert cs["body"]["subject"] == "clm: 1 customer without an owner for 2026-11-23"
    [unowned] = cs["body"]["items"]
    assert unowned["title"] == "Globex (no owner, in launched)"
    assert unowned["act"] == "clm customer assign globex --owner HANDLE"
    team("--today", "2026-11-24", "tick")  # still nobody: told again the next day
    team("customer", "assign", "globex", "--owner", "alice")
    team("--today", "2026-11-25", "tick")
    assert [hook["body"]["day"] for hook in posts(hooks, "/cs")] == ["2026-11-23", "2026-11-24"]


def test_a_team_digest_is_retried_on_5xx_parked_on_4xx_and_sent_by_retry(book, hooks, monkeypatch):
    monkeypatch.setenv("CLM_NOTIFY_LEASE", "0")
    hooks.status = 503
    result = book("tick", code=1)
    assert "Error: not sent to team customer-success: the webhook" in result.stderr
    assert "answered 503" in result.stderr and "tried again later" in result.stderr
    [waiting] = book.json("notify", "log", "--team", CS)
    assert (waiting["state"], waiting["attempts"]) == ("pending", 1)
    hooks.status = 404
    book("notify", "retry", code=1)
    [parked] = book.json("notify", "log", "--failed")
    assert parked["team"] == CS and "answered 404" in parked["error"]
    assert "to team customer-success: the webhook" in book("agenda").stdout
    hooks.status = 200
    assert book("notify", "send", "--quiet").stderr == ""  # parked: only retry sends it
    assert "Sent 1 notification." in book("notify", "retry").stderr
    [sent] = posts(hooks, "/cs")
    assert sent["body"]["id"] == parked["uuid"]  # the same message, not another
    assert book.json("notify", "log", "--failed") == []


def test_notify_test_reaches_a_team_channel(book, hooks):
    said = book("notify", "test", "--team", CS).stderr
    assert f"Sent a test message to team {CS} to its webhook." in said
    [test] = posts(hooks, "/cs")
    assert test["body"]["team"] == CS and test["body"]["kind"] == "test"
    assert "has no webhook" in book.error("notify", "test", "--team", "sales")
    assert "--to HANDLE or --team TEAM" in book.error("notify", "test")
    assert book.json("notify", "log") == []  # a test is not in the outbox
    assert "no team 'nobody'" in book.error("notify", "log", "--team", "nobody")


@pytest.mark.sqlite_only("merging is for SQLite files")
def test_a_merged_copy_does_not_send_the_team_digest_again(book, hooks, db_path, tmp_path):
    import shutil

    book("tick")
    copy = tmp_path / "clm (alice's conflicted copy 2026-11-24).db"
    shutil.copyfile(db_path, copy)
    theirs = ("--db", copy, "--today", "2026-11-24")
    book(*theirs, "milestone", "add", "acme", "Workshop", "--due", "+1d", "--remind", "1d")
    book(*theirs, "tick", "--no-send")  # the copy queued its own team digest, not sent
    [pending] = [m for m in book.json(*theirs, "notify", "log") if m["state"] == "pending"]
    assert pending["team"] == CS
    book("db", "merge", copy)
    assert "Sent" not in book("--today", "2026-11-24", "notify", "send").stderr
    book("--today", "2026-11-24", "tick")  # the Workshop's reminder fired in the copy
    assert [hook["body"]["day"] for hook in posts(hooks, "/cs")] == ["2026-11-23"]
    assert pending["uuid"] not in [hook["body"]["id"] for hook in hooks.received]


def test_notify_send_quiet_sends_and_says_nothing(book, hooks):
    book("tick", "--no-send")
    assert posts(hooks, "/cs") == []
    assert book("notify", "send", "--quiet").stderr == ""
    assert len(posts(hooks, "/cs")) == 1


def test_concurrent_ticks_send_one_team_digest(book, hooks, db_path):
    for n in range(3):
        book("customer", "add", f"Customer {n}", "--owner", "bob", "--stage", "onboarding")
        book("milestone", "add", f"customer-{n}", "Go-live", "--due", "+5d", "--remind", "1w")
    env = os.environ | {"CLM_DB": str(db_path)}
    ticks = [
        subprocess.Popen([sys.executable, "-m", "clm", "tick", "-q"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2 if ON_PG else 4)
    ]  # fmt: skip
    for tick in ticks:
        tick.wait(120)
        assert tick.returncode == 0, tick.stderr.read()
    [digest] = posts(hooks, "/cs")
    assert digest["body"]["subject"] == "clm: 4 reminders for 2026-11-23"
