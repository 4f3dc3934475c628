"""Notifications: what the tick queues for each person (the outbox), what a digest says, and
sending it by email or webhook after the tick's commit, exactly once."""
