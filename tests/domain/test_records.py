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
