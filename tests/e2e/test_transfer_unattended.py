"""A transfer the policy runs by itself (``offboarding.transfer_to``), over signed HTTP: the
leaver's work goes to their Salesforce Manager (or a named member) before the deactivation,
and the admins get the summary."""

from __future__ import annotations

import asyncio
import json
from functools import partial

import pytest
from pydantic import ValidationError

from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import ADA, BOB, JANE, MALLORY, OLIVIA, OMAR, Stage, demo_policy
from handlers.ids import ActionId, CallbackId
from handlers.policy import Offboarding
from salesforce.transfer import BULK_THRESHOLD
from storage.models import AccessRequest, State
from storage.transfers import TransferState
from tests.e2e.steps import approval_message, current, submit_request
from tests.e2e.test_escalation import buttons
from tests.e2e.test_revocation import (
    active_grant,
    dms_saying,
    open_modal,
    revocation_of,
    said_to,
    until_state,
)
from tests.e2e.test_transfer import _omar_in_salesforce
from tests.e2e.test_transfer_recovery import RULE


async def test_the_policy_hands_the_work_to_the_manager_then_deactivates(stage: Stage) -> None:
    stage.set_policy(demo_policy(offboarding={"transfer_to": "manager"}))
    grant = await active_grant(stage, JANE.id)
    uid = grant.sf_user_id or ""
    org = stage.org
    maria = org.id_of("User", "maria.garcia@acme.com")
    org.admin_update("User", uid, ManagerId=maria)
    org.add_records("Account", uid, 300)
    org.add_records("Opportunity", uid, 40)
    org.add_pending_approval(uid, org.add_records("Opportunity", maria, 1)[0])

    await stage.workspace.slash(JANE.id, "revoke I changed teams")
    revocation = await until_state(stage, (await revocation_of(stage, grant)).id, State.DONE)

    assert revocation.state is State.DONE
    assert org.owned_by("Account", maria) == 300
    assert org.owned_by("Opportunity", maria) == 41
    user = org.user(uid)
    assert user is not None and not user.is_active
    summary = await stage.slack.wait_for(lambda: dms_saying(stage, ADA.id, "work handed over"))
    shown = json.dumps(summary[0].blocks)
    assert "by the policy" in shown and "300 Accounts, 40 open Opportunities" in shown
    entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
    moved = [e for e in entries if e.action == "transfer_moved"]
    assert {e.detail["object"] for e in moved} == {
        "Account",
        "Opportunity",
        "ProcessInstanceWorkitem",
    }
    assert all(e.actor == "policy" and e.detail["to"] == maria for e in moved)


async def test_a_named_member_takes_the_work_and_no_manager_means_no_transfer(
    stage: Stage,
) -> None:
    omar = _omar_in_salesforce(stage)
    stage.set_policy(demo_policy(offboarding={"transfer_to": OMAR.id}))
    grant = await active_grant(stage, JANE.id)
    uid = grant.sf_user_id or ""
    stage.org.add_records("Account", uid, 12)

    await stage.workspace.slash(JANE.id, "revoke I changed teams")
    await until_state(stage, (await revocation_of(stage, grant)).id, State.DONE)

    assert stage.org.owned_by("Account", omar) == 12


async def test_without_a_manager_the_user_is_deactivated_and_the_skip_is_audited(
    stage: Stage,
) -> None:
    stage.set_policy(demo_policy(offboarding={"transfer_to": "manager"}))
    grant = await active_grant(stage, JANE.id)
    uid = grant.sf_user_id or ""
    stage.org.add_records("Account", uid, 5)

    await stage.workspace.slash(JANE.id, "revoke I changed teams")
    revocation = await until_state(stage, (await revocation_of(stage, grant)).id, State.DONE)

    assert stage.org.owned_by("Account", uid) == 5
    entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
    skipped = [e.detail for e in entries if e.action == "transfer_skipped"]
    assert skipped == [{"to": "manager", "why": "they have no Manager in Salesforce"}]


async def test_a_long_transfer_holds_up_no_other_user_of_its_round(stage: Stage) -> None:
    """Jane and Bob leave Slack together (one converger round); Jane's work moves in a Bulk
    API job Salesforce keeps InProgress: Bob is deactivated and Olivia's grant is set up
    meanwhile, Jane stays frozen, and she is deactivated once the job completes."""
    stage.set_policy(demo_policy(offboarding={"transfer_to": "manager"}))
    jane = await active_grant(stage, JANE.id)
    bob = await active_grant(stage, BOB.id)
    uid = jane.sf_user_id or ""
    org = stage.org
    maria = org.id_of("User", "maria.garcia@acme.com")
    org.admin_update("User", uid, ManagerId=maria)
    many = BULK_THRESHOLD + 200
    org.add_records("Account", uid, many)
    org.hold_bulk_jobs()  # Salesforce is busy: the ingest job stays InProgress

    for n, person in enumerate((JANE, BOB)):
        event = {"type": "user_change", "user": stage.slack.set_deleted(person.id), "cache_ts": 1}
        await stage.workspace.event(event, event_id=f"EvLEFTHELD{n}")
    # While Jane's job runs the bot is never idle: wait for the states, not for the worker.
    bob_done = await _reached(stage, (await revocation_of(stage, bob)).id, State.DONE)
    request = await submit_request(stage, OLIVIA.id)
    message = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    olivia = await _reached(stage, request.id, State.ACTIVE)

    transfer = await stage.runtime.deps.transfers.for_revocation(
        (await revocation_of(stage, jane)).id
    )
    assert transfer is not None and transfer.state is TransferState.RUNNING
    assert [j["state"] for j in org.bulk_jobs()] == ["InProgress"]  # still held
    assert bob_done.state is State.DONE and olivia.state is State.ACTIVE
    bob_user = org.user(bob.sf_user_id or "")
    assert bob_user is not None and not bob_user.is_active
    waiting = org.user(uid)
    assert waiting is not None and waiting.is_active and waiting.frozen
    assert (await revocation_of(stage, jane)).state is State.DEPROVISIONING

    org.release_bulk_jobs()
    done = await until_state(stage, (await revocation_of(stage, jane)).id, State.DONE)
    assert done.state is State.DONE
    assert org.owned_by("Account", maria) == many
    gone = org.user(uid)
    assert gone is not None and not gone.is_active
    assert len(org.bulk_jobs()) == 1  # sent once


async def _reached(stage: Stage, request_id: str, state: State) -> AccessRequest:
    """The request once it is in ``state`` (background work may still be running)."""
    async with asyncio.timeout(10):
        while (found := await stage.runtime.deps.repo.get(request_id)) is None or (
            found.state is not state
        ):
            await asyncio.sleep(0.02)
    return found


@pytest.mark.parametrize("wrong", ["boss", "u0omar", "#general", ""])
def test_the_policy_names_a_wrong_transfer_target(wrong: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Offboarding(transfer_to=wrong)
    assert f"transfer_to is {wrong!r}" in str(refused.value)


async def test_a_leavers_admins_get_one_dm_with_the_transfer_in_its_thread(stage: Stage) -> None:
    stage.set_policy(demo_policy(offboarding={"transfer_to": "manager"}))
    grant = await active_grant(stage, JANE.id)
    uid = grant.sf_user_id or ""
    org = stage.org
    maria = org.id_of("User", "maria.garcia@acme.com")
    org.admin_update("User", uid, ManagerId=maria)
    org.add_records("Account", uid, 30)
    org.add_records("Opportunity", uid, 4)

    event = {"type": "user_change", "user": stage.slack.set_deleted(JANE.id), "cache_ts": 1}
    await stage.workspace.event(event, event_id="EvLEFTPOLICY1")
    revocation = await until_state(stage, (await revocation_of(stage, grant)).id, State.DONE)

    assert revocation.state is State.DONE
    assert org.owned_by("Account", maria) == 30 and org.owned_by("Opportunity", maria) == 4
    user = org.user(uid)
    assert user is not None and not user.is_active
    dms = [m for m in stage.slack.dms(ADA.id) if not m.is_reply]
    assert len(dms) == 1 and "left Slack" in dms[0].text  # the summary, and nothing else
    summary = json.dumps(dms[0].blocks)
    # announced as "frozen while their work goes to their Manager", then updated in place
    assert "deactivated once their work went to their Manager" in summary
    assert "goes to their Manager" not in summary
    replies = [m for m in stage.slack.dms(ADA.id) if m.is_reply]
    assert len(replies) == 1 and replies[0].thread_ts == dms[0].ts
    shown = json.dumps(replies[0].blocks)
    assert "Handed over to" in shown and "by the policy" in shown
    assert "30 Accounts, 4 open Opportunities" in shown
    assert "Then the Salesforce user was deactivated." in shown


async def test_refused_rows_of_the_policys_transfer_are_retried_from_the_admins_summary(
    stage: Stage,
) -> None:
    """A plain revocation (not a departure): the admins' transfer summary offers "Retry failed
    rows" to them only, and the retry updates that same message."""
    stage.set_policy(demo_policy(offboarding={"transfer_to": "manager"}))
    grant = await active_grant(stage, JANE.id)
    uid = grant.sf_user_id or ""
    org = stage.org
    maria = org.id_of("User", "maria.garcia@acme.com")
    org.admin_update("User", uid, ManagerId=maria)
    made = org.add_records("Account", uid, 12)
    org.refuse_updates(made[:2], RULE)

    await stage.workspace.slash(JANE.id, "revoke I changed teams")
    revocation = await until_state(stage, (await revocation_of(stage, grant)).id, State.DONE)
    summary = await stage.slack.wait_for(lambda: dms_saying(stage, ADA.id, "work handed over"))
    assert len(summary) == 1
    shown = json.dumps(summary[0].blocks)
    assert "Salesforce refused 2 rows" in shown and RULE in shown
    assert buttons(summary[0]) == [ActionId.RETRY_TRANSFER]
    assert org.owned_by("Account", maria) == 10

    org.allow_updates()
    for stranger in (OMAR.id, JANE.id, MALLORY.id):  # an owner, the leaver, a stranger
        await stage.workspace.click(stranger, summary[0], ActionId.RETRY_TRANSFER)
    await stage.settle()
    assert org.owned_by("Account", maria) == 10
    entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
    assert [e.detail["why"] for e in entries if e.action == "escalation_refused"] == [
        "not_admin"
    ] * 3
    assert "admins" in await stage.slack.wait_for(lambda: said_to(stage, MALLORY.id) or None)

    await stage.workspace.click(ADA.id, summary[0], ActionId.RETRY_TRANSFER)
    after = await stage.slack.wait_for(
        lambda: (
            m
            if "Handed over to" in json.dumps((m := current(stage, summary[0])).blocks)
            and not buttons(m)
            else None
        )
    )
    assert ":white_check_mark:" in json.dumps(after.blocks)
    assert org.owned_by("Account", maria) == 12
    assert len(dms_saying(stage, ADA.id, "work handed over")) == 1  # updated in place
    entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
    retried = [e for e in entries if e.action == "transfer_retry_requested"]
    assert [e.actor for e in retried] == [ADA.id]


async def test_whoever_asked_hears_at_once_that_the_user_is_frozen_until_handed_over(
    stage: Stage,
) -> None:
    """The owner revokes Jane's access while the policy's transfer waits on a Bulk API job:
    Jane and Omar are told at once the user is frozen, and that DM becomes the outcome."""
    stage.set_policy(demo_policy(offboarding={"transfer_to": "manager"}))
    grant = await active_grant(stage, JANE.id)
    uid = grant.sf_user_id or ""
    org = stage.org
    maria = org.id_of("User", "maria.garcia@acme.com")
    org.admin_update("User", uid, ManagerId=maria)
    many = BULK_THRESHOLD + 10
    org.add_records("Account", uid, many)
    org.hold_bulk_jobs()

    await stage.workspace.slash(OMAR.id, f"revoke <@{JANE.id}>")
    modal = await stage.slack.wait_for(lambda: open_modal(stage, OMAR.id, CallbackId.REVOKE))
    await stage.workspace.submit(OMAR.id, modal["id"], {ActionId.REVOKE_REASON: "New team"})

    for person in (JANE.id, OMAR.id):
        frozen = await stage.slack.wait_for(partial(dms_saying, stage, person, "frozen"))
        assert len(frozen) == 1
        assert "cannot log in" in frozen[0].text and "handed over" in frozen[0].text
        assert not dms_saying(stage, person, "was removed")
    revocation = await revocation_of(stage, grant)
    transfer = await stage.runtime.deps.transfers.for_revocation(revocation.id)
    assert transfer is not None and transfer.state is TransferState.RUNNING
    waiting = org.user(uid)
    assert waiting is not None and waiting.is_active and waiting.frozen

    org.release_bulk_jobs()
    await until_state(stage, revocation.id, State.DONE)
    for person in (JANE.id, OMAR.id):
        told = await stage.slack.wait_for(partial(dms_saying, stage, person, "was removed"))
        assert len(told) == 1 and not dms_saying(stage, person, "frozen")  # the same DM
        assert "The Salesforce user is deactivated." in json.dumps(told[0].blocks)
    assert org.owned_by("Account", maria) == many


async def test_a_restart_mid_transfer_updates_the_leavers_one_summary_in_place(
    stage: Stage,
) -> None:
    """Jane leaves; her work moves in a Bulk API job when the bot restarts. The restarted bot
    resumes the transfer and the revocation: Ada still has one summary (no stray one), now
    saying the user was deactivated, with one reply in its thread; a later restart and tick
    post nothing more."""
    stage.set_policy(demo_policy(offboarding={"transfer_to": "manager"}))
    grant = await active_grant(stage, JANE.id)
    uid = grant.sf_user_id or ""
    org = stage.org
    maria = org.id_of("User", "maria.garcia@acme.com")
    org.admin_update("User", uid, ManagerId=maria)
    many = BULK_THRESHOLD + 50
    org.add_records("Account", uid, many)
    org.hold_bulk_jobs()

    event = {"type": "user_change", "user": stage.slack.set_deleted(JANE.id), "cache_ts": 1}
    await stage.workspace.event(event, event_id="EvLEFTRESTART1")
    revocation = await revocation_of(stage, grant)
    summary = (await stage.slack.wait_for(lambda: dms_saying(stage, ADA.id, "left Slack")))[0]
    assert "goes to their Manager" in json.dumps(summary.blocks)
    async with asyncio.timeout(10):
        while not any(j["state"] == "InProgress" for j in org.bulk_jobs()):
            await asyncio.sleep(0.05)

    await stage.restart_bot()
    org.release_bulk_jobs()
    await stage.runtime.deps.worker.run_due()  # the scheduler's tick
    await until_state(stage, revocation.id, State.DONE)

    def deactivated_shown() -> PostedMessage | None:
        now = current(stage, summary)
        return now if ":lock:" in json.dumps(now.blocks) else None

    shown = json.dumps((await stage.slack.wait_for(deactivated_shown)).blocks)
    assert "deactivated once their work went to their Manager" in shown
    assert "goes to their Manager" not in shown
    assert [m.ts for m in dms_saying(stage, ADA.id, "left Slack")] == [summary.ts]
    replies = [m for m in stage.slack.dms(ADA.id) if m.is_reply]
    assert len(replies) == 1 and replies[0].thread_ts == summary.ts
    assert "Then the Salesforce user was deactivated." in json.dumps(replies[0].blocks)
    assert org.owned_by("Account", maria) == many and len(org.bulk_jobs()) == 1
    gone = org.user(uid)
    assert gone is not None and not gone.is_active

    await stage.restart_bot()
    await stage.runtime.deps.worker.run_due()
    await stage.settle()
    assert [m.ts for m in stage.slack.dms(ADA.id) if not m.is_reply] == [summary.ts]
