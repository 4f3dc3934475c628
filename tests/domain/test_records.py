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


def test_a_forked_process_makes_other_uuids_than_its_parent():
    import multiprocessing

    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        made = pool.starmap(_some_uuids, [(500,)] * 2)
    made.append(_some_uuids(500))
    assert len({u for batch in made for u in batch}) == 1500


def _some_uuids(n: int) -> list[str]:
    return [new_uuid() for _ in range(n)]


def test_a_block_of_uuids_made_by_sql_follows_on_in_order(db_path):
    """The tick's scores are logged by one INSERT … SELECT: its uuids, a block numbered by
    customer id in SQL, come after those made before and before those made after."""
    from sqlalchemy import literal, select

    from clm.db import uuid_in_block
    from tests.conftest import _connect

    before = new_uuid()
    head, first = new_uuid.block(1 << 49)
    after = new_uuid()
    with _connect(db_path) as conn:
        made = [
            conn.scalar(select(uuid_in_block(literal(head), literal(first), literal(offset))))
            for offset in (0, 1, 4095, (1 << 49) - 1)
        ]
    assert [before, *made, after] == sorted([before, *made, after])
    assert len(set(made)) == 4
    assert all(uuid.UUID(u).version == 7 and uuid.UUID(u).variant == uuid.RFC_4122 for u in made)
