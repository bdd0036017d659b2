"""A bot process killed with SIGKILL while a transfer's Bulk API job runs, then restarted: the
new process looks at the recorded job again, nothing is sent twice, and the user is
deactivated.

The bot runs as a real subprocess (``python -m bot serve``) against simulators this test
process serves, as in ``test_crash_recovery``; the simulated org keeps the job InProgress
until the first process is dead.
"""

from __future__ import annotations

import asyncio
import json
import signal
from types import SimpleNamespace

import pytest

from bot.sandbox.stage import ADA, JANE, OMAR, SIGNING_SECRET
from bot.sandbox.workspace import Workspace
from handlers.ids import ActionId, CallbackId
from salesforce.transfer import BULK_THRESHOLD
from storage.db import Database
from storage.models import State
from storage.transfers import Transfers, TransferState
from tests.e2e.processes import World, until_state
from tests.e2e.steps import approval_message, confirmed, fill_request, open_request_form

pytestmark = pytest.mark.slow


async def test_a_killed_transfer_resumes_its_bulk_job_without_sending_anything_twice(
    world: World,
) -> None:
    org = world.org
    first = await world.start_bot("bot-1")
    second = None
    workspace = Workspace(
        app_url=f"http://127.0.0.1:{world.port}/slack/events",
        signing_secret=SIGNING_SECRET,
        slack=world.slack,
    )
    people = SimpleNamespace(workspace=workspace, slack=world.slack)
    try:
        view_id = await open_request_form(people, JANE.id)
        await fill_request(people, JANE.id, view_id)
        await workspace.submit(JANE.id, view_id)
        await confirmed(people, view_id)
        (grant,) = await world.requests()
        await workspace.click(
            OMAR.id, await approval_message(people, OMAR.id, grant.id), ActionId.APPROVE
        )
        grant = await until_state(world, grant.id, State.ACTIVE)
        uid = grant.sf_user_id or ""
        many = BULK_THRESHOLD + 300
        org.add_records("Account", uid, many)
        org.add_pending_approval(uid, org.add_records("Opportunity", uid, 1)[0])
        org.block_deactivation_while_approver(uid)
        omar = org.add_user(
            "omar.haddad@acme.com", org.id_of("Profile", "Sales User"), last_name="Haddad"
        )
        await workspace.slash(JANE.id, "revoke I changed teams")
        async with asyncio.timeout(10):  # the command is answered before the revocation lands
            while not (revoked := [r for r in await world.requests() if r.kind.value == "revoke"]):
                await asyncio.sleep(0.05)
        revocation = revoked[0]
        await until_state(world, revocation.id, State.BLOCKED)
        dm = await world.slack.wait_for(
            lambda: next(
                (m for m in world.slack.dms(ADA.id) if revocation.id in json.dumps(m.blocks)),
                None,
            ),
            timeout=10,
        )

        org.hold_bulk_jobs()  # Salesforce is busy: the ingest job stays InProgress
        await workspace.click(ADA.id, dm, ActionId.TRANSFER_TO)
        modal = await world.slack.wait_for(
            lambda: (
                (v := world.slack.open_view(ADA.id))
                and v.get("callback_id") == CallbackId.TRANSFER
                and v
            ),
            timeout=10,
        )
        await workspace.submit(ADA.id, modal["id"], transfer_successor=OMAR.id)
        async with asyncio.timeout(15):
            while not any(j["state"] == "InProgress" for j in org.bulk_jobs()):
                await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        assert await first.wait() == -signal.SIGKILL
        assert org.owned_by("Account", omar) == 0
        org.release_bulk_jobs()

        second = await world.start_bot("bot-1")
        await until_state(world, revocation.id, State.DONE)

        jobs = [j for j in org.bulk_jobs() if j["object"] == "Account"]
        assert len(jobs) == 1 and jobs[0]["numberRecordsProcessed"] == many  # sent once
        assert org.owned_by("Account", omar) == many
        user = org.user(uid)
        assert user is not None and not user.is_active
        async with Database(world.database) as db:
            stored = await Transfers(db).for_revocation(revocation.id)
        assert stored is not None and stored.state is TransferState.DONE
        # the Accounts, the open Opportunity awaiting approval, and the approval itself
        assert stored.moved == many + 1 + 1 and stored.failed == 0
    finally:
        await workspace.aclose()
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 10)
