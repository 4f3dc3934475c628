"""The tick's cost grows with the passes it makes, not with the customers it moves: a day that
moves ten times more customers runs the same statements."""

from datetime import date, timedelta

from sqlalchemy import event

from clm.dates import Duration
from clm.db import Database
from clm.domain import customers, milestones, users
from clm.domain.new_book import install_template
from clm.rules import add_rule, tick

TODAY = date(2026, 11, 23)


def _book(path, n: int) -> Database:
    """n customers of each kind: onboarding for 40 days (launch, then a chain of moves with
    playbooks), adopting with low health (a risk CTA with its playbook), a lead that
    qualifies (a handoff); each with a milestone reminding today."""
    db = Database.open(str(path), on_create=install_template)
    with db.write() as conn:
        for handle, team in (
            ("mia", "marketing"),
            ("sam", "sales"),
            ("alice", "customer-success"),
            ("amy", "account-management"),
        ):
            users.add_user(conn, handle, team=team, is_default_owner=True)
        add_rule(conn, "watch", ["launched"], ["days_in_stage >= 5"], playbook="save")
        start = TODAY - timedelta(days=40)
        for i in range(n):
            customers.add_customer(conn, start, None, f"Onb {i}", start=start)
            customers.add_customer(conn, start, None, f"Risk {i}", stage="adopting", health=20)
            customers.add_customer(conn, start, None, f"Lead {i}", stage="lead", lead_score=80)
            milestones.add_milestone(
                conn, f"onb-{i}", "Kick-off", TODAY + timedelta(days=3), [Duration(1, "w")]
            )
    return db


def _statements(db: Database) -> tuple[int, dict]:
    count = 0

    def counted(*_):
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", counted)
    with db.write() as conn:
        result = tick(conn, TODAY)
    event.remove(db.engine, "before_cursor_execute", counted)
    done = {
        "transitions": len(result.transitions),
        "ctas": len(result.ctas_opened),
        "tasks": len(result.tasks_created),
        "reminders": len(result.reminders),
    }
    return count, done


def test_a_tick_runs_the_same_statements_for_3_or_30_customers(tmp_path):
    small, small_done = _statements(_book(tmp_path / "small.db", 3))
    large, large_done = _statements(_book(tmp_path / "large.db", 30))
    # Per kind: a launch, then the watch rule's playbook; a move to will-churn (its playbook)
    # with a risk CTA; a qualified lead; and the reminders of the milestones.
    assert small_done["transitions"] == 3 * 3 and small_done["ctas"] == 3
    assert small_done["tasks"] == 3 * (2 + 2) and small_done["reminders"] >= 3
    assert large_done == {key: 10 * value for key, value in small_done.items()}
    assert large == small, (small, large)
