"""Cohorts: requests reaching one owner within the window share one list, in arrival order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from storage.cohorts import Cohorts
from storage.db import Database
from storage.requests import RequestRepository
from tests.storage.test_requests import new_grant


async def test_requests_within_the_window_share_a_cohort_in_arrival_order(db: Database) -> None:
    repo, cohorts = RequestRepository(db), Cohorts(db)
    ids = [(await repo.create(new_grant(), actor="U1"))[0].id for _ in range(3)]
    since = db.clock() - timedelta(seconds=10)

    first, new = await cohorts.join("sales", "U0OMAR", since, ids[0])
    assert new
    second, new = await cohorts.join("sales", "U0OMAR", since, ids[1])
    assert not new and second.id == first.id
    again, _ = await cohorts.join("sales", "U0OMAR", since, ids[1])  # a retry adds nothing
    assert again.id == first.id
    other, new = await cohorts.join("sales", "U0OLIVIA", since, ids[1])
    assert new and other.id != first.id  # each owner has their own list
    assert await cohorts.members(first.id) == ids[:2]
    assert sorted(await cohorts.of_request(ids[1])) == sorted([first.id, other.id])

    await cohorts.posted(first.id, "D1", "")  # waiting in the outbox: takes no more requests
    later, new = await cohorts.join("sales", "U0OMAR", since, ids[2])
    assert new and later.id != first.id


async def test_requests_joining_together_find_one_cohort(db: Database) -> None:
    repo, cohorts = RequestRepository(db), Cohorts(db)
    ids = [(await repo.create(new_grant(), actor="U1"))[0].id for _ in range(6)]
    since = db.clock() - timedelta(seconds=10)
    joined = await asyncio.gather(*(cohorts.join("sales", "U0OMAR", since, i) for i in ids))
    assert len({cohort.id for cohort, _ in joined}) == 1
    assert sorted(await cohorts.members(joined[0][0].id)) == sorted(ids)
