"""Fresh uuids: time-ordered (version 7), so a batch of new rows lands at the end of the uuid
indexes, and never repeated."""

import uuid

from clm.domain.records import new_uuid


def test_new_uuids_are_version_7_increasing_and_unique():
    made = [new_uuid() for _ in range(20_000)]  # several per millisecond: the sequence counts
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    parsed = uuid.UUID(made[0])
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert str(parsed) == made[0]
