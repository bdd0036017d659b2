"""Handing a leaver's work over from the blocked-deactivation DM, over signed HTTP: the admin
picks a successor, the org shows everything moved, and the converger deactivates the user,
all in one DM; others may not start it, and a successor without an active user is refused."""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import ADA, JANE, JORDAN, MALLORY, OLIVIA, OMAR, Stage
from handlers.ids import ActionId, CallbackId
from storage.models import AccessRequest, State
from tests.e2e.lifecycle_steps import until
from tests.e2e.steps import current
from tests.e2e.test_escalation import buttons, escalation
from tests.e2e.test_revocation import (
    active_grant,
    dms_saying,
    open_modal,
    revocation_of,
    said_to,
    until_state,
)


async def _blocked_with_work(
    stage: Stage, *, accounts: int = 300
) -> tuple[AccessRequest, AccessRequest, PostedMessage, dict[str, list[str]]]:
    """Jane owns records and an approval; the org refuses her deactivation while it waits."""
    grant = await active_grant(stage, JANE.id)
    uid = grant.sf_user_id or ""
    org = stage.org
    maria = org.id_of("User", "maria.garcia@acme.com")
    made = {
        "Account": org.add_records("Account", uid, accounts),
        "Opportunity": org.add_records("Opportunity", uid, 40),
    }
    org.add_records("Opportunity", uid, 5, IsClosed=True)  # closed ones are not moved
    org.add_pending_approval(uid, org.add_records("Opportunity", maria, 1)[0])
    org.admin_update("User", maria, ManagerId=uid)
    org.block_deactivation_while_approver(uid)
    await stage.workspace.slash(JANE.id, "revoke I changed teams")
    revocation = await until_state(stage, (await revocation_of(stage, grant)).id, State.BLOCKED)
    dm = await stage.slack.wait_for(lambda: escalation(stage, revocation.id))
    return grant, revocation, dm, made


def _omar_in_salesforce(stage: Stage) -> str:
    profile = stage.org.id_of("Profile", "Sales User")
    return stage.org.add_user(
        "omar.haddad@acme.com", profile, first_name="Omar", last_name="Haddad"
    )


async def _open_transfer(stage: Stage, dm: PostedMessage) -> dict[str, Any]:
    await stage.workspace.click(ADA.id, dm, ActionId.TRANSFER_TO)
    return await stage.slack.wait_for(lambda: open_modal(stage, ADA.id, CallbackId.TRANSFER))


async def test_the_admin_hands_the_work_over_and_the_user_is_deactivated_in_one_dm(
    stage: Stage,
) -> None:
    grant, revocation, dm, made = await _blocked_with_work(stage)
    uid = grant.sf_user_id or ""
    omar = _omar_in_salesforce(stage)
    assert ActionId.TRANSFER_TO in buttons(dm)

    modal = await _open_transfer(stage, dm)
    shown = json.dumps(modal["blocks"])
    assert "300 Accounts, 40 open Opportunities, 1 pending approval, 1 direct report" in shown
    reply = await stage.workspace.submit(ADA.id, modal["id"], transfer_successor=OMAR.id)
    assert reply.status == 200 and not reply.json_or_none()

    done = await until_state(stage, revocation.id, State.DONE)
    assert done.state is State.DONE
    org = stage.org
    assert org.owned_by("Account", omar) == 300
    assert org.owned_by("Opportunity", omar) == 40
    assert org.owned_by("Opportunity", uid) == 5  # closed ones stay
    maria = org.user(org.id_of("User", "maria.garcia@acme.com"))
    assert maria is not None and maria.fields["ManagerId"] == omar
    user = org.user(uid)
    assert user is not None and not user.is_active
    final = await stage.slack.wait_for(
        lambda: m if "Closed" in json.dumps((m := current(stage, dm)).blocks) else None
    )
    text = json.dumps(final.blocks)
    assert "Handed over to <@U0OMAR>" in text
    assert "300 Accounts, 40 open Opportunities, 1 pending approval, 1 direct report" in text
    assert len([m for m in stage.slack.dms(ADA.id) if not m.is_reply]) == 1  # one DM
    entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
    moved = {e.detail["object"]: e.detail for e in entries if e.action == "transfer_moved"}
    assert moved["Account"]["moved"] == 300 and moved["Account"]["failed"] == 0
    assert moved["Account"]["from"] == uid and moved["Account"]["to"] == omar
    assert moved["Account"]["decided_by"] == ADA.id
    assert set(made["Account"]) == set(
        r["Id"] for r in org.store.rows("Account") if r["OwnerId"] == omar
    )


async def test_only_the_applications_admins_may_start_a_transfer(stage: Stage) -> None:
    grant, revocation, dm, _ = await _blocked_with_work(stage)

    for stranger in (OMAR.id, JANE.id, MALLORY.id):  # an owner, the leaver, a stranger
        await stage.workspace.click(stranger, dm, ActionId.TRANSFER_TO)
        assert open_modal(stage, stranger, CallbackId.TRANSFER) is None

    async def three_refusals() -> list[str] | None:
        # The click is acknowledged before the refusal is written: wait for all three.
        entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
        why = [e.detail["why"] for e in entries if e.action == "escalation_refused"]
        return why if len(why) >= 3 else None

    assert await until(three_refusals) == ["not_admin"] * 3
    told = await stage.slack.wait_for(lambda: said_to(stage, MALLORY.id) or None)
    assert "admins" in told
    assert stage.org.owned_by("Account", grant.sf_user_id or "") == 300


async def test_a_successor_without_an_active_salesforce_user_is_refused_beside_the_picker(
    stage: Stage,
) -> None:
    grant, revocation, dm, _ = await _blocked_with_work(stage)
    modal = await _open_transfer(stage, dm)

    nobody = await stage.workspace.submit(ADA.id, modal["id"], transfer_successor=OLIVIA.id)
    inactive = await stage.workspace.submit(ADA.id, modal["id"], transfer_successor=JORDAN.id)

    no_user = nobody.json_or_none() or {}
    assert no_user["response_action"] == "errors"
    assert "olivia.chen@acme.com has no Salesforce user" in no_user["errors"]["transfer_successor"]
    was_active = inactive.json_or_none() or {}
    assert "Salesforce user is inactive" in was_active["errors"]["transfer_successor"]
    assert stage.org.owned_by("Account", grant.sf_user_id or "") == 300
    assert await stage.runtime.deps.transfers.for_revocation(revocation.id) is None


async def test_the_offboarding_summary_offers_a_transfer_and_shows_it_in_its_thread(
    stage: Stage,
) -> None:
    grant = await active_grant(stage, JANE.id)
    uid = grant.sf_user_id or ""
    omar = _omar_in_salesforce(stage)
    stage.org.add_records("Account", uid, 30)
    stage.org.add_records("Opportunity", uid, 4)
    event = {"type": "user_change", "user": stage.slack.set_deleted(JANE.id), "cache_ts": 1}
    await stage.workspace.event(event, event_id="EvLEFTXFER1")
    await until_state(stage, grant.id, State.REVOKED)
    summary = (await stage.slack.wait_for(lambda: dms_saying(stage, ADA.id, "left Slack")))[0]
    assert ActionId.TRANSFER_TO in buttons(summary)

    await stage.workspace.click(ADA.id, summary, ActionId.TRANSFER_TO)
    modal = await stage.slack.wait_for(lambda: open_modal(stage, ADA.id, CallbackId.TRANSFER))
    assert "30 Accounts, 4 open Opportunities" in json.dumps(modal["blocks"])
    await stage.workspace.submit(ADA.id, modal["id"], transfer_successor=OMAR.id)

    reply = await stage.slack.wait_for(
        lambda: next(
            (
                m
                for m in stage.slack.dms(ADA.id)
                if m.is_reply and "Handed over to <@U0OMAR>" in json.dumps(m.blocks)
            ),
            None,
        )
    )
    assert "30 Accounts, 4 open Opportunities" in json.dumps(reply.blocks)
    assert stage.org.owned_by("Account", omar) == 30
    user = stage.org.user(uid)
    assert user is not None and not user.is_active
