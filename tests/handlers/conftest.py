from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from handlers.flows.catalog import CatalogService
from handlers.flows.converge import Converger
from handlers.flows.people import Person
from handlers.flows.provision import ProvisioningConfig
from handlers.policy import Policy
from storage.db import Database
from storage.kv import CatalogCache
from storage.requests import RequestRepository
from tests.handlers.fakes import FakeGateway, sales_app


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database(tmp_path / "flows.sqlite3") as database:
        yield database


@pytest.fixture
def repo(db: Database) -> RequestRepository:
    return RequestRepository(db)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def catalog(gateway: FakeGateway, db: Database) -> CatalogService:
    return CatalogService(gateway, CatalogCache(db), db.clock)


@pytest.fixture
def policy() -> Policy:
    return Policy(applications=(sales_app(),))


async def _person(subject_id: str) -> Person:
    return Person(
        id=subject_id,
        email="jane@acme.test",
        real_name="Jane Doe",
        tz="Europe/Paris",
        locale="fr-FR",
    )


@pytest.fixture
def converger(
    repo: RequestRepository,
    gateway: FakeGateway,
    catalog: CatalogService,
    policy: Policy,
) -> Converger:
    return Converger(
        repo,
        repo.managed,
        gateway,
        catalog,
        lambda: policy,
        _person,
        worker="w1",
        lease=timedelta(minutes=5),
        cfg=ProvisioningConfig(username_suffix=".uat"),
    )
