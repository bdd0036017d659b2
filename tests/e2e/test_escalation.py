"""When a person has to step in, over signed HTTP: blocked deactivations and stuck requests."""

from __future__ import annotations

import json

from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import ADA, JANE, MALLORY, OMAR, Stage, demo_policy
from handlers.ids import ActionId, CallbackId
from storage.models import AccessRequest, State
from tests.e2e.steps import approval_message, current, submit_request
from tests.e2e.test_revocation import (
    active_grant,
    dms_saying,
    open_modal,
    revocation_of,
    said_to,
    trail,
    until_state,
)

BLOCKER = "The user is the Default Workflow User and can't be deactivated."


def escalation(stage: Stage, request_id: str) -> PostedMessage | None:
    """Ada's escalation DM about ``request_id``, as it looks now."""
    for message in stage.slack.dms(ADA.id):
        if not message.is_reply and request_id in json.dumps(message.blocks):
            return message
    return None


def buttons(message: PostedMessage) -> list[str]:
    """The action ids of the message's buttons."""
    return [
        element["action_id"]
        for block in message.blocks
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


async def blocked_revocation(stage: Stage) -> tuple[AccessRequest, AccessRequest, PostedMessage]:
    """Jane's grant, her revocation that Salesforce blocked, and Ada's escalation DM."""
    grant = await active_grant(stage, JANE.id)
    stage.org.block_deactivation(grant.sf_user_id or "", BLOCKER)
    await stage.workspace.slash(JANE.id, "revoke I changed teams")
    revocation = await until_state(stage, (await revocation_of(stage, grant)).id, State.BLOCKED)
    dm = await stage.slack.wait_for(lambda: escalation(stage, revocation.id))
    return grant, revocation, dm


async def test_blocked_deactivation_freezes_and_asks_the_admin(stage: Stage) -> None:
    grant, revocation, dm = await blocked_revocation(stage)
    uid = grant.sf_user_id or ""
    user = stage.org.user(uid)
    assert user is not None and user.is_active and user.frozen
    shown = json.dumps(dm.blocks)
    setup_link = (
        f"{stage.org_server.instance_url}/lightning/setup/ManageUsers/page?address=%2F{uid}"
    )
    assert setup_link in shown and "jane.doe@acme.com" in shown
    assert "Default Workflow User" in shown  # the blocker in plain words
    assert "Process Automation Settings" in shown  # what to change
    assert BLOCKER.replace("'", "\\u2019") in shown or "can't be deactivated" in shown  # raw
    assert buttons(dm) == [ActionId.RETRY_DEACTIVATION, ActionId.RESOLVED_IN_SALESFORCE]
    assert len(stage.slack.dms(ADA.id)) == 1
    # the person hears who is on it; the grant stays active until the user really goes
    await stage.slack.wait_for(lambda: dms_saying(stage, JANE.id, "taking a little longer"))
    stored = await stage.runtime.deps.repo.get(grant.id)
    assert stored is not None and stored.state is State.ACTIVE

    # a retry that fails again says so in the same DM
    await stage.workspace.click(ADA.id, dm, ActionId.RETRY_DEACTIVATION)
    await stage.slack.wait_for(lambda: "Tried 2 times" in json.dumps(current(stage, dm).blocks))
    await until_state(stage, revocation.id, State.BLOCKED)
    assert len(stage.slack.dms(ADA.id)) == 1
    assert "Trying the deactivation" in said_to(stage, ADA.id)

    # the admin clears the blocker in Salesforce; the next retry succeeds, in place
    stage.org.clear_block(uid)
    await stage.workspace.click(ADA.id, current(stage, dm), ActionId.RETRY_DEACTIVATION)
    await stage.slack.wait_for(lambda: "Resolved" in current(stage, dm).text)
    closed = current(stage, dm)
    assert buttons(closed) == [] and "deactivated" in json.dumps(closed.blocks)
    assert len(stage.slack.dms(ADA.id)) == 1
    await stage.slack.wait_for(lambda: dms_saying(stage, JANE.id, "was removed"))
    done = await until_state(stage, revocation.id, State.DONE)
    assert done.state is State.DONE
    user = stage.org.user(uid)
    assert user is not None and not user.is_active
    actions = await trail(stage, revocation.id)
    assert actions.count("deactivation_blocked") == 2
    assert actions.count("deactivation_retry_requested") == 2
    assert actions[-1] == "deactivated"


async def test_only_admins_may_press_the_escalation_buttons(stage: Stage) -> None:
    grant, revocation, dm = await blocked_revocation(stage)
    stage.org.clear_block(grant.sf_user_id or "")
    for person in (MALLORY.id, JANE.id, OMAR.id):
        await stage.workspace.click(person, dm, ActionId.RETRY_DEACTIVATION)
        await stage.slack.wait_for(lambda: "Only the admins" in said_to(stage, person))  # noqa: B023
    await stage.workspace.click(MALLORY.id, dm, ActionId.RESOLVED_IN_SALESFORCE)
    await stage.slack.wait_for(lambda: len(stage.slack.responses(MALLORY.id)) == 2)
    stored = await until_state(stage, revocation.id, State.BLOCKED)
    assert stored.state is State.BLOCKED
    user = stage.org.user(grant.sf_user_id or "")
    assert user is not None and user.is_active
    entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
    refused = [e for e in entries if e.action == "escalation_refused"]
    assert {e.actor for e in refused} == {MALLORY.id, JANE.id, OMAR.id}
    assert {e.detail["button"] for e in refused} == {
        ActionId.RETRY_DEACTIVATION.value,
        ActionId.RESOLVED_IN_SALESFORCE.value,
    }
    assert buttons(current(stage, dm)) == buttons(dm)


async def test_restart_between_escalation_and_retry(stage: Stage) -> None:
    grant, revocation, dm = await blocked_revocation(stage)
    await stage.restart_bot()
    uid = grant.sf_user_id or ""
    # still blocked: "Resolved in Salesforce" re-checks and keeps it open
    await stage.workspace.click(ADA.id, dm, ActionId.RESOLVED_IN_SALESFORCE)
    await stage.slack.wait_for(lambda: "still shows" in said_to(stage, ADA.id))
    stored = await stage.runtime.deps.repo.get(revocation.id)
    assert stored is not None and stored.state is State.BLOCKED

    stage.org.clear_block(uid)
    await stage.workspace.click(ADA.id, dm, ActionId.RETRY_DEACTIVATION)
    await stage.slack.wait_for(lambda: "Resolved" in current(stage, dm).text)
    await until_state(stage, revocation.id, State.DONE)
    user = stage.org.user(uid)
    assert user is not None and not user.is_active
    assert len(stage.slack.dms(ADA.id)) == 1


async def test_resolved_in_salesforce_closes_when_the_user_is_inactive(stage: Stage) -> None:
    grant, revocation, dm = await blocked_revocation(stage)
    # the admin cleared the blocker and deactivated the user by hand in Setup
    stage.org.admin_update("User", grant.sf_user_id or "", IsActive=False)
    await stage.workspace.click(ADA.id, dm, ActionId.RESOLVED_IN_SALESFORCE)
    await stage.slack.wait_for(lambda: "Resolved" in current(stage, dm).text)
    assert f"<@{ADA.id}>" in json.dumps(current(stage, dm).blocks)
    done = await until_state(stage, revocation.id, State.DONE)
    entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
    pressed = next(e for e in entries if e.action == "resolved_in_salesforce")
    assert pressed.actor == ADA.id and done.state is State.DONE
    stored = await stage.runtime.deps.repo.get(grant.id)
    assert stored is not None and stored.state is State.REVOKED


async def test_incomplete_request_is_completed_by_the_admin(stage: Stage) -> None:
    request = await submit_request(stage, JANE.id, role=None)
    # the policy now needs a Role: the approved request cannot be provisioned as it is
    stage.set_policy(demo_policy(require_role=True))
    message = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    stuck = await until_state(stage, request.id, State.NEEDS_ADMIN)
    assert stuck.needs_admin_reason == "incomplete: missing Role"
    dm = await stage.slack.wait_for(lambda: escalation(stage, request.id))
    assert buttons(dm) == [ActionId.COMPLETE_REQUEST] and "Role" in json.dumps(dm.blocks)
    told = await stage.slack.wait_for(lambda: dms_saying(stage, JANE.id, "taking a little longer"))
    assert f"<@{ADA.id}>" in told[-1].text

    await stage.workspace.click(MALLORY.id, dm, ActionId.COMPLETE_REQUEST)
    await stage.slack.wait_for(lambda: "Only the admins" in said_to(stage, MALLORY.id))
    assert stage.slack.open_view(MALLORY.id) is None

    await stage.workspace.click(ADA.id, dm, ActionId.COMPLETE_REQUEST)
    modal = await stage.slack.wait_for(
        lambda: open_modal(stage, ADA.id, CallbackId.COMPLETE_REQUEST)
    )
    # pre-filled with what is known: only the Role is left to choose
    assert "Sales User" in json.dumps(modal["blocks"])
    await stage.workspace.choose(ADA.id, modal["id"], ActionId.REQUEST_ROLE, "SalesRep")
    reply = await stage.workspace.submit(ADA.id, modal["id"])
    assert reply.status == 200 and not reply.body.strip(), reply.body
    # it was approved without a Role: the one the admin chose goes to the owners first
    again = await until_state(stage, request.id, State.PENDING_APPROVAL)
    assert again.decided_by is None and stage.org.user_by_username("jane.doe@acme.com") is None
    ask = await stage.slack.wait_for(
        lambda: next(
            (
                m
                for m in stage.slack.dms(OMAR.id)
                if buttons(m) and "Changed by" in json.dumps(m.blocks)
            ),
            None,
        )
    )
    assert "SalesRep" in json.dumps(ask.blocks)
    await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    await stage.slack.wait_for(lambda: dms_saying(stage, JANE.id, "is ready"))
    done = await until_state(stage, request.id, State.ACTIVE)
    assert (done.profile, done.role) == ("Sales User", "SalesRep")
    user = stage.org.user(done.sf_user_id or "")
    assert user is not None and user.role_id == stage.org.id_of("UserRole", "SalesRep")
    await stage.slack.wait_for(lambda: "Resolved" in current(stage, dm).text)
    completed = next(
        e
        for e in await stage.runtime.deps.repo.audit.for_request(request.id)
        if e.action == "changed_after_approval"
    )
    assert completed.actor == ADA.id and completed.detail["after"]["role"] == "SalesRep"


async def test_taken_username_fixed_with_the_suggested_alternative(stage: Stage) -> None:
    stage.org.take_username_elsewhere("jane.doe@acme.com")
    request = await submit_request(stage, JANE.id)
    message = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    await until_state(stage, request.id, State.NEEDS_ADMIN)
    dm = await stage.slack.wait_for(lambda: escalation(stage, request.id))
    shown = json.dumps(dm.blocks)
    assert "jane.doe@acme.com.acme" in shown  # the suggestion
    assert buttons(dm) == [ActionId.USE_OTHER_USERNAME, ActionId.RETRY]
    told = await stage.slack.wait_for(lambda: dms_saying(stage, JANE.id, "already taken"))
    assert "DUPLICATE_USERNAME" not in json.dumps(told[-1].blocks)  # no technical detail

    await stage.workspace.click(ADA.id, dm, ActionId.USE_OTHER_USERNAME)
    modal = await stage.slack.wait_for(
        lambda: open_modal(stage, ADA.id, CallbackId.ALTERNATIVE_USERNAME)
    )
    assert "jane.doe@acme.com" in json.dumps(modal["blocks"])
    # a malformed username stays in the modal with the reason beside it
    bad = await stage.workspace.submit(ADA.id, modal["id"], {ActionId.ALTERNATIVE_USERNAME: "x"})
    assert bad.json()["response_action"] == "errors"
    reply = await stage.workspace.submit(
        ADA.id, modal["id"], {ActionId.ALTERNATIVE_USERNAME: "jane.doe@acme.com.acme"}
    )
    assert reply.status == 200 and not reply.body.strip()
    ready = await stage.slack.wait_for(lambda: dms_saying(stage, JANE.id, "is ready"))
    assert "jane.doe@acme.com.acme" in ready[-1].text
    done = await until_state(stage, request.id, State.ACTIVE)
    assert done.username_override == "jane.doe@acme.com.acme"
    assert stage.org.user_by_username("jane.doe@acme.com.acme") is not None
    await stage.slack.wait_for(lambda: "Resolved" in current(stage, dm).text)
    assert "username_chosen" in await trail(stage, request.id)


async def test_no_free_seat_then_retry(stage: Stage) -> None:
    request = await submit_request(
        stage,
        JANE.id,
        license="Salesforce Platform",
        profile="Standard Platform User",
        role=None,
        permission_sets=(),
    )
    platform = stage.org.id_of("Profile", "Standard Platform User")
    taken = [stage.org.add_user(f"{n}@acme.com", platform, last_name=n) for n in ("kim", "lee")]
    message = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    stuck = await until_state(stage, request.id, State.NEEDS_ADMIN)
    assert stuck.needs_admin_reason == "no_free_seat"
    dm = await stage.slack.wait_for(lambda: escalation(stage, request.id))
    assert buttons(dm) == [ActionId.RETRY, ActionId.COMPLETE_REQUEST]
    await stage.slack.wait_for(lambda: dms_saying(stage, JANE.id, "no free Salesforce seat"))

    stage.org.admin_update("User", taken[0], IsActive=False)  # a seat is freed
    await stage.workspace.click(ADA.id, dm, ActionId.RETRY)
    await stage.slack.wait_for(lambda: dms_saying(stage, JANE.id, "is ready"))
    await until_state(stage, request.id, State.ACTIVE)
    await stage.slack.wait_for(lambda: "Resolved" in current(stage, dm).text)
    assert len([m for m in stage.slack.dms(ADA.id) if not m.is_reply]) == 1


async def test_a_forged_refresh_of_the_complete_modal_shows_nothing(stage: Stage) -> None:
    request = await submit_request(stage, JANE.id, role=None)
    stage.set_policy(demo_policy(require_role=True))
    message = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    await until_state(stage, request.id, State.NEEDS_ADMIN)
    dm = await stage.slack.wait_for(lambda: escalation(stage, request.id))
    await stage.workspace.click(ADA.id, dm, ActionId.COMPLETE_REQUEST)
    modal = await stage.slack.wait_for(
        lambda: open_modal(stage, ADA.id, CallbackId.COMPLETE_REQUEST)
    )
    updates_before = len(stage.slack.calls("views.update"))
    # Mallory replays a license pick naming Ada's modal (and so Jane's request)
    reply = await stage.workspace.pick(
        MALLORY.id, modal["id"], ActionId.REQUEST_LICENSE, "Salesforce Platform"
    )
    assert reply.status == 200
    await stage.settle()
    assert len(stage.slack.calls("views.update")) == updates_before
