"""Notifications (issue 21) through the CLI, against real servers on localhost: one digest per
person per day whatever reruns, catch-up or concurrent ticks do; marked sent only once the
server accepted; a re-send after a crash is the same message; bad settings one Error line each
and the tick's work kept."""

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import ON_PG, sql
from tests.notify_servers import SmtpServer, WebhookServer


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("CLM_SMTP_URL", "CLM_SMTP_PASSWORD", "CLM_SMTP_FROM", "CLM_NOTIFY_LEASE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def smtp(monkeypatch):
    with SmtpServer() as server:
        monkeypatch.setenv("CLM_SMTP_URL", server.url)
        yield server


@pytest.fixture
def hooks():
    with WebhookServer() as server:
        yield server


@pytest.fixture
def book(team):
    """alice (email) owns acme, whose milestone reminds today; bob collaborates on it."""
    team("user", "edit", "alice", "--email", "alice@example.com", "--notify", "email")
    team("customer", "add", "Acme", "--owner", "alice")
    team("milestone", "add", "acme", "Kickoff call", "--due", "+2d", "--remind", "2d",
         "--collaborator", "bob")  # fmt: skip
    return team


def log(clm, *args):
    return clm.json("notify", "log", *args)


def test_user_edit_sets_a_channel_and_refuses_what_cannot_work(team, db_path):
    assert "has no email" in team.error("user", "edit", "alice", "--notify", "email")
    assert "use email, webhook, none" in team.error("user", "edit", "alice", "--notify", "pager")
    assert "daily or immediate" in team.error("user", "edit", "alice", "--digest", "hourly")
    assert "invalid webhook URL" in team.error("user", "edit", "alice", "--webhook", "ftp://x")
    assert "has no webhook" in team.error("user", "edit", "bob", "--notify", "webhook")
    team("user", "edit", "bob", "--webhook", "https://hooks.example.com/x", "--notify", "webhook",
         "--digest", "immediate")  # fmt: skip
    bob = {u["handle"]: u for u in team.json("user", "list")}["bob"]
    assert (bob["notify"], bob["digest"], bob["webhook"]) == (
        "webhook", "immediate", "https://hooks.example.com/x",
    )  # fmt: skip
    assert "unchanged" in team("user", "edit", "bob", "--notify", "webhook").stderr


def test_a_digest_by_email_with_text_and_html_parts(book, smtp):
    result = book("tick")
    assert "Sent 1 notification." in result.stderr
    [mail] = smtp.inbox.messages
    assert mail["Subject"] == "clm: 1 reminder for 2026-11-23"
    assert mail["To"] == "alice@example.com"
    assert mail["From"] == "clm@example.com"
    [sent] = log(book)
    assert mail["Message-ID"] == f"<{sent['uuid']}@clm.outbox>"
    assert sent["state"] == "sent" and sent["channel"] == "email"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "acme: Kickoff call (due 2026-11-25)" in text
    assert "clm milestone done" in text and "<code>clm milestone done" in html


def test_webhooks_get_a_slack_or_a_generic_json_body(book, hooks, smtp):
    book("user", "edit", "bob", "--webhook", hooks.url("/bob"), "--notify", "webhook")
    book("user", "edit", "amy", "--webhook", hooks.url("/amy", slack=True), "--notify", "webhook")
    book("customer", "add", "Globex", "--owner", "amy")
    book("milestone", "add", "globex", "QBR", "--due", "+1d", "--remind", "1d")
    book("tick")
    got = {hook["path"]: hook for hook in hooks.received}
    assert set(got) == {"/bob", "/amy"}
    bob = got["/bob"]["body"]
    assert bob["subject"] == "clm: 1 reminder for 2026-11-23"
    assert bob["user"] == "bob" and bob["items"][0]["customer"] == "acme"
    assert got["/bob"]["headers"]["Idempotency-Key"] == bob["id"]
    amy = got["/amy"]["body"]
    assert set(amy) == {"text"} and "*clm: 1 reminder for 2026-11-23*" in amy["text"]
    assert "`clm milestone done" in amy["text"]


def test_one_digest_per_person_and_day_across_reruns_and_catch_up(book, smtp):
    book("milestone", "add", "acme", "Training", "--due", "2026-11-30", "--remind", "6d",
         "--remind", "5d", "--remind", "4d")  # fmt: skip
    book("tick")
    book("tick")
    assert len(smtp.inbox.messages) == 1
    # Missed days: the ones due meanwhile come in one digest, dated the day of the tick.
    book("--today", "2026-11-27", "tick")
    book("--today", "2026-11-27", "tick")
    assert [m["Subject"] for m in smtp.inbox.messages] == [
        "clm: 1 reminder for 2026-11-23",
        "clm: 3 reminders for 2026-11-27",
    ]
    assert len(set(smtp.inbox.ids())) == 2


def _tick_process(db, env_extra):
    env = os.environ | {"CLM_DB": str(db), **env_extra}
    return subprocess.Popen(
        [sys.executable, "-m", "clm", "tick", "-q"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_concurrent_ticks_send_one_digest_per_person(book, smtp, db_path):
    book("user", "edit", "bob", "--email", "bob@example.com", "--notify", "email")
    for n in range(3):
        book("customer", "add", f"Customer {n}", "--owner", "alice")
        book("milestone", "add", f"customer-{n}", "Go-live", "--due", "+5d", "--remind", "1w")
    ticks = [_tick_process(db_path, {}) for _ in range(2 if ON_PG else 4)]
    for tick in ticks:
        tick.wait(120)
        assert tick.returncode == 0, tick.stderr.read()
    to = sorted(rcpt for _, (rcpt,) in smtp.inbox.envelopes)
    assert to == ["alice@example.com", "bob@example.com"]
    alice = next(m for m in smtp.inbox.messages if m["To"] == "alice@example.com")
    assert alice["Subject"] == "clm: 4 reminders for 2026-11-23"


def test_a_refusing_server_parks_the_digest_as_failed_and_retry_sends_it(book, smtp, db_path):
    smtp.inbox.mode = "refuse"
    error = book.error("tick")
    assert error.startswith("Error: not sent to alice: the SMTP server 127.0.0.1:")
    assert "550" in error and "clm notify retry" in error
    assert len(sql(db_path, "SELECT * FROM reminder_log")) == 1  # the tick's work is kept
    [failed] = log(book, "--failed")
    assert failed["state"] == "failed" and "550" in failed["error"]
    smtp.inbox.mode = "accept"
    assert "Sent 1 notification." in book("notify", "retry").stderr
    assert log(book, "--failed") == []
    assert len(smtp.inbox.messages) == 1


@pytest.mark.parametrize("mode", ["busy", "slow", "drop"])
def test_a_transient_failure_waits_and_the_same_message_goes_again(book, smtp, mode):
    smtp.inbox.mode = mode
    error = book.error("tick")
    assert error.startswith("Error: not sent to alice:") and "tried again later" in error
    [waiting] = log(book)
    assert waiting["state"] == "pending" and waiting["attempts"] == 1
    assert book("notify", "send").stderr == ""  # backing off: not yet
    smtp.inbox.mode = "accept"
    book("notify", "retry")
    [sent] = log(book)
    assert sent["state"] == "sent"
    ids = set(smtp.inbox.ids())  # a dropped one arrived twice: the same message twice
    assert ids == {f"<{sent['uuid']}@clm.outbox>"}


def test_webhook_5xx_is_retried_and_4xx_is_parked(book, hooks):
    book("user", "edit", "alice", "--notify", "none")
    book("user", "edit", "bob", "--webhook", hooks.url(), "--notify", "webhook")
    hooks.status = 503
    assert "answered 503" in book.error("tick") and "tried again later" in book.error(
        "notify", "retry"
    )
    hooks.status = 404
    assert "parked as failed" in book.error("notify", "retry")
    hooks.status = 200
    book("notify", "retry")
    assert len(hooks.received) == 1
    assert [m["state"] for m in log(book)] == ["sent"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://no-such-host.invalid:25?timeout=2", "unknown SMTP host 'no-such-host.invalid'"),
        ("smtp://127.0.0.1:{free}?timeout=2", "nothing listens at 127.0.0.1:"),
        ("smtp://127.0.0.1:99999", "the port must be 1 to 65535"),
        ("http://127.0.0.1:25", "expected smtp://[user@]host[:port] or smtps://"),
    ],
)
def test_bad_smtp_settings_are_one_error_line_and_the_tick_is_kept(
    book, db_path, monkeypatch, url, expected
):
    from tests.notify_servers import free_port

    monkeypatch.setenv("CLM_SMTP_URL", url.format(free=free_port()))
    assert expected in book.error("tick")
    assert len(sql(db_path, "SELECT * FROM reminder_log")) == 1
    assert book.json("tick")["reminders"] == []  # fired once, kept


def test_a_password_in_the_url_is_refused_without_echoing_it(book, monkeypatch):
    monkeypatch.setenv("CLM_SMTP_URL", "smtp://bot:hunter2@127.0.0.1:25")
    result = book("tick", code=1)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: not sent to alice: CLM_SMTP_URL holds a password")
    assert "CLM_SMTP_PASSWORD or a netrc file" in line
    assert "hunter2" not in result.stderr + result.stdout + json.dumps(log(book))


def test_a_user_without_email_is_one_error_line(book, smtp, db_path):
    sql(db_path, "UPDATE users SET email = NULL WHERE handle = 'alice'")
    assert "user alice has no email" in book.error("tick")


def test_news_people_made_between_ticks_reach_the_digest(book, smtp):
    book("tick")
    book("user", "edit", "bob", "--email", "bob@example.com", "--notify", "email")
    [kickoff] = [m["id"] for m in book.json("milestone", "list") if m["title"] == "Kickoff call"]
    book("milestone", "block", str(kickoff), "--reason", "waiting for IT")
    book("--today", "2026-11-24", "tick")
    [mail] = [m for m in smtp.inbox.messages if m["To"] == "bob@example.com"]
    assert mail["Subject"] == "clm: 1 blocked milestone for 2026-11-24"
    assert "Kickoff call (waiting for IT)" in mail.get_body(("plain",)).get_content()
    assert f"clm milestone reopen {kickoff}" in mail.get_body(("plain",)).get_content()


def test_notify_test_sends_through_the_channel(book, smtp):
    assert (
        "Sent a test message to alice by email to alice@example.com."
        in book("notify", "test", "--to", "alice").stderr
    )
    assert (
        smtp.inbox.messages[0]["Subject"]
        == "clm: 1 test for " + str(smtp.inbox.messages[0]["Subject"]).rsplit(" ", 1)[1]
    )
    assert "gets no notifications" in book.error("notify", "test", "--to", "mia")
    assert log(book) == []  # outside the outbox


def test_notify_log_as_csv(book, smtp):
    book("tick")
    lines = book("notify", "log", "--format", "csv").stdout.splitlines()
    assert lines[0].startswith("id,day,user,kind,state,channel,attempts,sent_at,subject,error")
    assert ",alice,digest,sent,email,1," in lines[1]


@pytest.mark.sqlite_only("the tick owner of a synced file")
def test_only_the_machine_that_owns_the_tick_sends(book, smtp, monkeypatch, tmp_path):
    smtp.inbox.mode = "busy"
    book.error("tick")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "other-machine"))
    assert "its notifications are sent there" in book.error("notify", "send")


@pytest.mark.sqlite_only("kills a process writing the file")
def test_sigkill_between_send_and_mark_resends_the_same_message(book, smtp, db_path):
    book("tick", "--no-send")
    env = {"CLM_TEST_KILL_AFTER_SEND": "1", "CLM_NOTIFY_LEASE": "0"}
    killed = subprocess.run(
        [sys.executable, "-m", "clm", "notify", "send"], env=os.environ | env,
        capture_output=True,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    assert len(smtp.inbox.messages) == 1
    assert [m["state"] for m in log(book)] == ["pending"]
    os.environ["CLM_NOTIFY_LEASE"] = "0"
    try:
        book("notify", "send")
    finally:
        del os.environ["CLM_NOTIFY_LEASE"]
    book("notify", "send")
    [sent] = log(book)
    assert sent["state"] == "sent"
    assert smtp.inbox.ids() == [f"<{sent['uuid']}@clm.outbox>"] * 2


def test_customers_left_without_an_owner_reach_the_teams_digest_until_assigned(clm, smtp):
    clm("user", "add", "alice", "--team", "customer-success", "--email", "alice@example.com")
    clm("user", "add", "amy", "--team", "account-management", "--email", "amy@example.com")
    for handle in ("alice", "amy"):
        clm("user", "edit", handle, "--notify", "email")
    clm("customer", "add", "Acme")  # customer-success has no default owner: handoff pending
    clm("tick")
    [mail] = smtp.inbox.messages
    assert mail["To"] == "alice@example.com"
    assert mail["Subject"] == "clm: 1 customer without an owner for 2026-11-23"
    text = mail.get_body(("plain",)).get_content()
    assert "Customers your team has to assign (1)" in text
    assert "acme: Acme (handed to team customer-success, nobody to assign)" in text
    assert "clm customer assign acme --owner alice" in text
    clm("--today", "2026-11-24", "tick")  # still nobody: told again the next day
    assert len(smtp.inbox.messages) == 2
    clm("customer", "assign", "acme", "--owner", "alice")
    clm("--today", "2026-11-25", "tick")
    assert len(smtp.inbox.messages) == 2


def test_failed_messages_show_in_db_check_and_the_agenda_until_sent(book, smtp):
    smtp.inbox.mode = "refuse"
    book.error("tick")
    check = book("db", "check").stdout
    assert "notifications failed: 1 (clm notify log --failed; then clm notify retry)" in check
    shown = book("--as", "alice", "agenda").stdout
    assert "Notifications not sent (1)" in shown and "clm notify retry" in shown
    [row] = [r for r in book.json("agenda") if r["section"] == "notifications"]
    assert row["title"] == "clm: 1 reminder for 2026-11-23"
    assert row["detail"].startswith("to alice: the SMTP server") and "550" in row["detail"]
    assert "notifications" not in {r["section"] for r in book.json("--as", "bob", "agenda")}
    smtp.inbox.mode = "accept"
    book("notify", "retry")
    assert "notifications failed" not in book("db", "check").stdout
    assert "Notifications not sent" not in book("--as", "alice", "agenda").stdout


def test_a_blocked_milestone_is_told_at_once_to_those_who_ask_for_it(book, smtp):
    book("user", "edit", "bob", "--email", "bob@example.com", "--notify", "email",
         "--digest", "immediate")  # fmt: skip
    [kickoff] = [m["id"] for m in book.json("milestone", "list") if m["title"] == "Kickoff call"]
    result = book("--as", "alice", "milestone", "block", str(kickoff), "--reason", "no budget")
    assert "Sent 1 notification." in result.stderr
    [mail] = smtp.inbox.messages  # to bob (immediate), not to alice (daily, and she blocked it)
    assert mail["To"] == "bob@example.com"
    assert mail["Subject"] == "clm: 1 blocked milestone for 2026-11-23"
    text = mail.get_body(("plain",)).get_content()
    assert "acme: Kickoff call (no budget)" in text
    assert f"clm milestone reopen {kickoff}" in text
    book("tick")  # bob's digest does not tell the block again; alice's daily one does not either
    digests = {m["To"]: m["Subject"] for m in smtp.inbox.messages[1:]}
    assert digests == {
        "alice@example.com": "clm: 1 reminder for 2026-11-23",
        "bob@example.com": "clm: 1 reminder for 2026-11-23",
    }
    book("milestone", "reopen", str(kickoff))
    book("user", "edit", "alice", "--digest", "immediate")
    book("milestone", "block", str(kickoff), "--reason", "legal review")  # nobody --as: both
    assert sorted(m["To"] for m in smtp.inbox.messages[3:]) == [
        "alice@example.com", "bob@example.com",
    ]  # fmt: skip
    assert len(set(smtp.inbox.ids())) == 5


def test_a_block_on_a_server_that_refuses_is_kept_with_one_error_line(book, smtp, db_path):
    book("user", "edit", "alice", "--digest", "immediate")
    smtp.inbox.mode = "refuse"
    [kickoff] = [m["id"] for m in book.json("milestone", "list") if m["title"] == "Kickoff call"]
    result = book("milestone", "block", str(kickoff), "--reason", "no budget", code=1)
    done, error = result.stderr.strip().splitlines()
    assert done == f"Milestone {kickoff} is blocked."
    assert error.startswith("Error: not sent to alice:") and "clm notify retry" in error
    assert book.json("milestone", "show", str(kickoff))["status"] == "blocked"


@pytest.mark.sqlite_only("merging is for SQLite files")
def test_a_merged_copy_sends_nothing_twice(book, smtp, db_path, tmp_path):
    import shutil

    book("tick")
    copy = tmp_path / "clm (alice's conflicted copy 2026-11-24).db"
    shutil.copyfile(db_path, copy)
    theirs = ("--db", copy, "--today", "2026-11-24")
    book(*theirs, "milestone", "add", "acme", "Workshop", "--due", "+1d", "--remind", "1d")
    book(*theirs, "tick", "--no-send")  # the copy queued its own digest, not sent
    book("milestone", "add", "acme", "Training", "--due", "+2d", "--remind", "1d")
    book("--today", "2026-11-24", "tick")
    before = log(book)
    assert [(m["day"], m["state"]) for m in before] == [
        ("2026-11-23", "sent"), ("2026-11-24", "sent"),
    ]  # fmt: skip
    [pending] = [m for m in log(book, *theirs) if m["state"] == "pending"]
    book("db", "merge", copy)
    assert log(book) == before  # the copy's outbox stays in the copy
    assert "Sent" not in book("--today", "2026-11-24", "notify", "send").stderr
    book("--today", "2026-11-24", "tick")  # the Workshop's reminder fired in the copy: not again
    assert book.json("--today", "2026-11-24", "tick")["reminders"] == []
    assert len(smtp.inbox.messages) == 2
    assert f"<{pending['uuid']}@clm.outbox>" not in smtp.inbox.ids()
