"""A transfer that meets refused rows, and one whose process restarts mid-job, over signed
HTTP: the refused rows are listed with Salesforce's message and retried from the DM; a
restarted bot looks at the recorded Bulk API job again instead of sending the records twice."""

from __future__ import annotations

import asyncio
import json

from bot.sandbox.stage import ADA, OMAR, Stage
from handlers.ids import ActionId
from salesforce.transfer import BULK_THRESHOLD
from storage.models import State
from storage.transfers import TransferState
from tests.e2e.steps import current
from tests.e2e.test_escalation import buttons
from tests.e2e.test_revocation import until_state
from tests.e2e.test_transfer import _blocked_with_work, _omar_in_salesforce, _open_transfer

RULE = "Accounts under Legal Hold keep their owner."


async def test_refused_rows_are_listed_and_a_retry_moves_them(stage: Stage) -> None:
    grant, revocation, dm, made = await _blocked_with_work(stage)
    omar = _omar_in_salesforce(stage)
    stage.org.refuse_updates(made["Account"][:3], RULE)

    modal = await _open_transfer(stage, dm)
    await stage.workspace.submit(ADA.id, modal["id"], transfer_successor=OMAR.id)
    failed = await stage.slack.wait_for(
        lambda: m if ActionId.RETRY_TRANSFER in buttons(m := current(stage, dm)) else None
    )

    shown = json.dumps(failed.blocks)
    assert "Salesforce refused 3 rows" in shown
    assert RULE in shown and "FIELD_CUSTOM_VALIDATION_EXCEPTION" in shown
    assert made["Account"][0] in shown
    assert stage.org.owned_by("Account", omar) == 297
    still = await stage.runtime.deps.repo.get(revocation.id)
    assert still is not None and still.state is State.BLOCKED  # not deactivated yet
    user = stage.org.user(grant.sf_user_id or "")
    assert user is not None and user.is_active and user.frozen

    stage.org.allow_updates()
    await stage.workspace.click(ADA.id, failed, ActionId.RETRY_TRANSFER)

    await until_state(stage, revocation.id, State.DONE)
    assert stage.org.owned_by("Account", omar) == 300
    user = stage.org.user(grant.sf_user_id or "")
    assert user is not None and not user.is_active
    entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
    accounts = [e.detail for e in entries if e.action == "transfer_moved"]
    assert [(d["moved"], d["failed"]) for d in accounts if d["object"] == "Account"] == [
        (297, 3),
        (3, 0),
    ]
    final = current(stage, dm)
    assert "Handed over to <@U0OMAR>" in json.dumps(final.blocks)


async def test_a_restart_while_the_bulk_job_runs_resumes_it_without_sending_anything_twice(
    stage: Stage,
) -> None:
    many = BULK_THRESHOLD + 200
    grant, revocation, dm, _ = await _blocked_with_work(stage, accounts=many)
    omar = _omar_in_salesforce(stage)
    stage.org.hold_bulk_jobs()  # Salesforce is busy: the job stays InProgress

    modal = await _open_transfer(stage, dm)
    await stage.workspace.submit(ADA.id, modal["id"], transfer_successor=OMAR.id)
    transfers = stage.runtime.deps.transfers
    async with asyncio.timeout(10):
        while not (
            (t := await transfers.for_revocation(revocation.id)) is not None
            and t.step("Account").job_id
            and any(j["state"] == "InProgress" for j in stage.org.bulk_jobs())
        ):
            await asyncio.sleep(0.05)
    assert stage.org.owned_by("Account", omar) == 0

    await stage.restart_bot()
    stage.org.release_bulk_jobs()
    await stage.runtime.deps.worker.run_due()  # the scheduler's tick
    await until_state(stage, revocation.id, State.DONE)

    jobs = stage.org.bulk_jobs()
    assert len(jobs) == 1 and jobs[0]["numberRecordsProcessed"] == many  # sent once
    assert stage.org.owned_by("Account", omar) == many
    stored = await stage.runtime.deps.transfers.for_revocation(revocation.id)
    assert stored is not None and stored.state is TransferState.DONE
    assert stored.moved == many + 40 + 1 + 1 and stored.failed == 0
    user = stage.org.user(grant.sf_user_id or "")
    assert user is not None and not user.is_active
