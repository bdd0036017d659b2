"""The org's catalog, read through the SQLite cache so a request never waits on five queries."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from handlers.flows.choices import RequestChoices, build_choices
from handlers.flows.labels import Labels
from handlers.flows.ports import SalesforceGateway
from handlers.policy import Application
from salesforce.models import Catalog
from storage.db import Clock
from storage.kv import CatalogCache

log = logging.getLogger(__name__)


class CatalogService:
    """Serves the catalog from memory, then SQLite, then Salesforce, in that order.

    A stale copy in hand is served at once while a fresh one is read in the background: a
    person opening the request form never waits on Salesforce once the bot has a catalog.
    """

    def __init__(
        self,
        gateway: SalesforceGateway,
        cache: CatalogCache,
        clock: Clock,
        *,
        max_age: timedelta = timedelta(minutes=15),
        min_refresh_gap: timedelta = timedelta(seconds=30),
    ) -> None:
        self._gateway = gateway
        self._cache = cache
        self._clock = clock
        self._max_age = max_age
        self._min_gap = min_refresh_gap
        self._current: Catalog | None = None
        self._labels: tuple[Catalog, Labels] | None = None
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    async def current(self) -> Catalog:
        """The catalog in hand; one older than ``max_age`` is served while a fresh one is read
        in the background. Only a bot with no catalog yet waits on Salesforce."""
        if self._current is not None:
            if self._stale(self._current):
                self._refresh_in_background()
            return self._current
        async with self._lock:
            if self._current is None:
                stored = await self._cache.load()
                if stored is not None:
                    self._current = Catalog.model_validate_json(stored[0])
            if self._current is not None and not self._stale(self._current):
                return self._current
            try:
                return await self._refresh_locked()
            except Exception:
                if self._current is None:
                    raise
                log.warning(
                    "catalog refresh failed; serving the copy from %s",
                    self._current.refreshed_at,
                    exc_info=True,
                )
                return self._current

    def _refresh_in_background(self) -> None:
        if self._background is None or self._background.done():
            self._background = asyncio.ensure_future(self._background_refresh())

    async def _background_refresh(self) -> None:
        try:
            async with self._lock:
                if self._current is None or self._stale(self._current):
                    await self._refresh_locked()
        except Exception:
            log.warning("catalog refresh failed; serving the copy in hand", exc_info=True)

    async def close(self) -> None:
        """Wait for a background refresh under way (at shutdown, before the database closes)."""
        if self._background is not None:
            await self._background

    async def refresh(self) -> Catalog:
        """Read the catalog from Salesforce now and store it."""
        async with self._lock:
            return await self._refresh_locked()

    async def labels(self) -> Labels:
        """The labels of the catalog at hand (memory, then SQLite); never waits on Salesforce."""
        catalog = self._current
        if catalog is None:
            stored = await self._cache.load()
            if stored is None:
                return Labels()
            # Kept, as ``current`` would keep it: a stale copy still names things right.
            catalog = self._current = Catalog.model_validate_json(stored[0])
        if self._labels is None or self._labels[0] is not catalog:
            # Built once per catalog, not per message.
            self._labels = (catalog, Labels.of(catalog))
        return self._labels[1]

    async def choices_for(self, app: Application) -> RequestChoices:
        """What ``app`` offers; names the cached catalog lacks trigger one early refresh."""
        catalog = await self.current()
        choices = build_choices(app, catalog)
        if choices.missing and self._may_refresh_early(catalog):
            catalog = await self.refresh()
            choices = build_choices(app, catalog)
        return choices

    def _stale(self, catalog: Catalog) -> bool:
        return catalog.refreshed_at is None or self._clock() - catalog.refreshed_at > self._max_age

    def _may_refresh_early(self, catalog: Catalog) -> bool:
        return catalog.refreshed_at is None or self._clock() - catalog.refreshed_at > self._min_gap

    async def _refresh_locked(self) -> Catalog:
        fetched = await self._gateway.fetch_catalog()
        catalog = fetched.model_copy(update={"refreshed_at": self._clock()})
        await self._cache.store(catalog.model_dump_json(), self._clock())
        self._current = catalog
        return catalog
