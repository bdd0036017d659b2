"""The catalog refreshes on a schedule, once for all processes, and on demand by ``check``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.check import run_check
from bot.sandbox.stage import Stage
from salesforce.models import Catalog
from storage.kv import CatalogCache
from tests.e2e.lifecycle_steps import ShiftedClock, start, tick
from tests.e2e.stages import StageOpener


async def stored(stage: Stage) -> Catalog:
    found = await CatalogCache(stage.runtime.db).load()
    assert found is not None
    return Catalog.model_validate_json(found[0])


async def test_scheduled_and_on_demand_refresh(
    open_stage: StageOpener, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock, settings={"ACCESSBOT_CATALOG_MAX_AGE": 600})
    try:
        await tick(stage)
        first = await stored(stage)
        license_id = stage.org.id_of("UserLicense", "Salesforce")
        stage.org.add_profile("Inside Sales", license_id)
        clock.advance(timedelta(minutes=5))
        await tick(stage)
        assert (await stored(stage)).refreshed_at == first.refreshed_at  # not its turn yet

        await run_check(stage.runtime.settings, stage.policy)
        assert "Org:              Acme Corp" in capsys.readouterr().out
        await tick(stage)
        refreshed = await stored(stage)
        assert refreshed.refreshed_at is not None and first.refreshed_at is not None
        assert refreshed.refreshed_at > first.refreshed_at
        assert refreshed.profile_named("Inside Sales") is not None

        clock.advance(timedelta(minutes=11))
        stage.org.add_profile("Field Sales", license_id)
        await tick(stage)
        assert (await stored(stage)).profile_named("Field Sales") is not None
    finally:
        await stage.close()
