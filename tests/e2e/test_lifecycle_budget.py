"""A low Salesforce API budget: the non-urgent jobs wait, the end of access does not."""

from __future__ import annotations

from datetime import timedelta

from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.stage import ADA, JANE
from handlers.jobs import DEPARTURE_SWEEP
from storage.models import State
from tests.e2e.lifecycle_steps import ShiftedClock, grant_access, start, tick
from tests.e2e.stages import StageOpener
from tests.e2e.steps import dm_texts


async def test_reconciliation_and_catalog_refresh_wait_while_expiry_goes_on(
    open_stage: StageOpener,
) -> None:
    org = SimulatedOrg(api_total=2_000, api_used=1_500)  # 500 left, the floor is 1000
    org.seed_demo()
    clock = ShiftedClock()
    stage = await start(open_stage, clock, org=org)
    try:
        grant = await grant_access(stage, JANE, duration="P1D")
        jobs = stage.runtime.jobs
        assert jobs is not None and jobs.budget_low()
        clock.advance(timedelta(days=1, minutes=1))
        stage.org.reset_counters()
        await tick(stage)
        ended = await stage.runtime.deps.repo.get(grant.id)
        assert ended is not None and ended.state is State.REVOKED
        assert not any("Reconciliation" in t for t in dm_texts(stage, ADA.id))
        assert not any("FROM User WHERE IsActive = true" in str(c.query) for c in org.calls)
        rows = await stage.runtime.db.conn.execute_fetchall("SELECT name FROM job_leases")
        taken = [row["name"] for row in rows]
        # neither job took its turn, so both run once the budget allows; the departure sweep,
        # which ends access, runs regardless (like expiry)
        assert taken == [DEPARTURE_SWEEP]
    finally:
        await stage.close()
