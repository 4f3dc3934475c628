"""`clm demo`'s book is one a CSM would trust (issue 19): no customer in will-churn at high
health without a CTA, no unowned customer without a flag, no churned customer with open work
or reminders."""

import pytest

from tests.conftest import sql

# At or above this, a customer in will-churn is on its way out of it (the recovered rule).
HIGH_HEALTH = 70


@pytest.mark.parametrize("size", [24, 80])
def test_the_demo_book_holds_no_surprises(clm, db_path, size):
    clm("--db", db_path, "demo", "--customers", size)
    healthy_at_risk = sql(
        db_path,
        "SELECT c.slug FROM customers c WHERE c.stage = 'will-churn' AND c.health >= :high "
        "AND c.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM ctas t WHERE t.customer_id = c.id "
        "AND t.status = 'open' AND t.deleted_at IS NULL)",
        high=HIGH_HEALTH,
    )
    assert healthy_at_risk == []
    unflagged = sql(
        db_path,
        "SELECT slug FROM customers WHERE owner_id IS NULL AND handoff_pending IS NULL "
        "AND deleted_at IS NULL",
    )
    assert unflagged == []
    churned = "SELECT c.id FROM customers c JOIN stages s ON s.key = c.stage AND s.terminal"
    reminding = sql(
        db_path,
        "SELECT m.title FROM milestones m JOIN milestone_reminders r ON r.milestone_id = m.id "
        f"WHERE r.pending AND m.customer_id IN ({churned})",
    )
    assert reminding == []
    for table in ("milestones", "tasks", "ctas"):
        still_open = sql(
            db_path,
            f"SELECT id FROM {table} WHERE status IN ('open', 'blocked') AND deleted_at IS NULL "
            f"AND customer_id IN ({churned})",
        )
        assert still_open == [], table
    # And the book has churned, will-churn and owned customers to look at.
    stages = dict(sql(db_path, "SELECT stage, COUNT(*) FROM customers GROUP BY stage"))
    assert stages["churned"] and stages["will-churn"]
