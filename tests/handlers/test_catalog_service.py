"""The catalog service serves a stale copy at once and reads a fresh one in the background."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from handlers.flows.catalog import CatalogService
from salesforce.models import Catalog
from storage.db import Database
from storage.kv import CatalogCache
from tests.handlers.fakes import FakeGateway


class SlowGateway(FakeGateway):
    """A catalog read that waits until the test lets it answer."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = asyncio.Event()

    async def fetch_catalog(self) -> Catalog:
        await self.answer.wait()
        return await super().fetch_catalog()


async def test_a_stale_catalog_is_served_at_once_and_refreshed_in_the_background(
    db: Database,
) -> None:
    gateway = SlowGateway()
    now = [datetime(2026, 11, 27, 12, 0, tzinfo=UTC)]
    service = CatalogService(gateway, CatalogCache(db), lambda: now[0])
    gateway.answer.set()
    first = await service.current()  # no catalog yet: this one waits on Salesforce
    assert gateway.calls == [("fetch_catalog", None)]
    gateway.answer.clear()
    now[0] += timedelta(minutes=16)  # past max_age
    served = await asyncio.wait_for(service.current(), timeout=1)
    assert served is first  # the stale copy, without waiting on the slow read
    again = await asyncio.wait_for(service.current(), timeout=1)
    assert again is first
    gateway.answer.set()
    await service.close()
    assert gateway.calls == [("fetch_catalog", None)] * 2  # one background read, not two
    fresh = await service.current()
    assert fresh.refreshed_at == now[0]
    stored = await CatalogCache(db).load()
    assert stored is not None and stored[1] == now[0]


async def test_a_failed_background_refresh_keeps_the_copy_in_hand(db: Database) -> None:
    gateway = FakeGateway()
    now = [datetime(2026, 11, 27, 12, 0, tzinfo=UTC)]
    service = CatalogService(gateway, CatalogCache(db), lambda: now[0])
    first = await service.current()

    async def unreachable() -> Catalog:
        raise ConnectionError("org down")

    gateway.fetch_catalog = unreachable  # type: ignore[method-assign]
    now[0] += timedelta(minutes=16)
    assert await service.current() is first
    await service.close()
    assert await service.current() is first
