"""Taking access away over signed HTTP: owner revoke, self revoke, "Revoke now", offboarding."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.sandbox.salesforce_org import RecordedCall
from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import ADA, JANE, MALLORY, OLIVIA, OMAR, Stage
from handlers.ids import ActionId, CallbackId
from handlers.views.notices import build_expiring_soon
from storage.models import AccessRequest, Kind, State
from tests.e2e.steps import approval_message, current, submit_request


async def until_state(
    stage: Stage, request_id: str, *states: State, timeout: float = 5.0
) -> AccessRequest:
    """The request once it reaches one of ``states`` and the worker is idle again."""
    async with asyncio.timeout(timeout):
        while True:
            stored = await stage.runtime.deps.repo.get(request_id)
            if stored is not None and stored.state in states:
                await stage.settle()
                return stored
            await asyncio.sleep(0.02)


async def active_grant(stage: Stage, user_id: str, **choices: Any) -> AccessRequest:
    """A request submitted by ``user_id``, approved by Omar, and provisioned."""
    request = await submit_request(stage, user_id, **choices)
    message = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    return await until_state(stage, request.id, State.ACTIVE)


async def revocation_of(stage: Stage, grant: AccessRequest) -> AccessRequest:
    """The revocation opened for ``grant``, once there is one."""
    repo = stage.runtime.deps.repo
    async with asyncio.timeout(5):
        while not (found := await repo.find(grant_id=grant.id, kind=Kind.REVOKE)):
            await asyncio.sleep(0.02)
    return found[0]


def open_modal(stage: Stage, user_id: str, callback_id: str) -> dict[str, Any] | None:
    """The modal on top of ``user_id``'s stack if it is the one with ``callback_id``."""
    view = stage.slack.open_view(user_id)
    return view if view and view.get("callback_id") == callback_id else None


def dms_saying(stage: Stage, user_id: str, words: str) -> list[PostedMessage]:
    """Top-level DMs to ``user_id`` whose fallback text contains ``words``."""
    return [m for m in stage.slack.dms(user_id) if not m.is_reply and words in m.text]


def first_about(stage: Stage, user_id: str, request_id: str) -> PostedMessage:
    """The first top-level DM to ``user_id`` that shows ``request_id``, as it looks now."""
    return next(
        m for m in stage.slack.dms(user_id) if not m.is_reply and request_id in json.dumps(m.blocks)
    )


def said_to(stage: Stage, user_id: str) -> str:
    """Everything sent to ``user_id`` through response_url, as one string ("" before anything)."""
    responses = stage.slack.responses(user_id)
    return json.dumps([r.model_dump() for r in responses]) if responses else ""


async def trail(stage: Stage, request_id: str) -> list[str]:
    """The audit actions of one request, oldest first."""
    return [e.action for e in await stage.runtime.deps.repo.audit.for_request(request_id)]


def deactivating_calls(stage: Stage) -> list[RecordedCall]:
    """Calls that deactivate users: collections PATCHes and single-user composites."""

    def patches_a_user(call: RecordedCall) -> bool:
        if call.method == "PATCH" and call.path.endswith("/composite/sobjects"):
            return True
        parts = call.json.get("compositeRequest", []) if isinstance(call.json, dict) else []
        return call.path.endswith("/composite") and any(
            p.get("method") == "PATCH" and "/sobjects/User/" in p.get("url", "") for p in parts
        )

    return [c for c in stage.org.calls if patches_a_user(c)]


async def test_owner_revokes_with_a_reason(stage: Stage) -> None:
    grant = await active_grant(stage, JANE.id)
    reply = await stage.workspace.slash(OMAR.id, f"revoke <@{JANE.id}>")
    assert reply.status == 200
    modal = await stage.slack.wait_for(lambda: open_modal(stage, OMAR.id, CallbackId.REVOKE))
    assert "jane.doe@acme.com" in json.dumps(modal["blocks"])
    done = await stage.workspace.submit(
        OMAR.id, modal["id"], {ActionId.REVOKE_REASON: "Moved to the <!here> marketing team"}
    )
    assert done.status == 200 and not done.body.strip()

    told = await stage.slack.wait_for(lambda: dms_saying(stage, JANE.id, "was removed"))
    shown = json.dumps(told[-1].blocks)
    assert f"<@{OMAR.id}>" in told[-1].text and "marketing team" in shown
    assert "<!here>" not in shown
    await stage.slack.wait_for(lambda: dms_saying(stage, OMAR.id, "was removed"))
    revocation = await until_state(stage, (await revocation_of(stage, grant)).id, State.DONE)
    assert revocation.requester_id == OMAR.id
    assert revocation.reason == "Moved to the <!here> marketing team"
    stored = await stage.runtime.deps.repo.get(grant.id)
    assert stored is not None and stored.state is State.REVOKED
    user = stage.org.user(grant.sf_user_id or "")
    assert user is not None and not user.is_active
    assert await trail(stage, revocation.id) == [
        "revocation_requested",
        "deprovisioning_started",
        "deactivated",
    ]
    entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
    assert entries[0].actor == OMAR.id and entries[0].detail["source"] == "owner"
    # the approval thread tells the story too
    approval = first_about(stage, OLIVIA.id, grant.id)
    thread = [m for m in stage.slack.dms(OLIVIA.id) if m.thread_ts == approval.ts]
    assert any("Access removed" in m.text for m in thread)


async def test_only_the_person_owners_and_admins_may_revoke(stage: Stage) -> None:
    grant = await active_grant(stage, JANE.id)
    await stage.workspace.slash(MALLORY.id, f"revoke <@{JANE.id}> because I say so")
    await stage.slack.wait_for(lambda: stage.slack.responses(MALLORY.id))
    assert "Only <@U0JANE> themself" in said_to(stage, MALLORY.id)
    assert open_modal(stage, MALLORY.id, CallbackId.REVOKE) is None
    # nobody to revoke: said plainly
    await stage.workspace.slash(OMAR.id, f"revoke <@{MALLORY.id}>")
    await stage.slack.wait_for(lambda: stage.slack.responses(OMAR.id))
    assert "holds no Salesforce access" in said_to(stage, OMAR.id)
    await stage.settle()
    stored = await stage.runtime.deps.repo.get(grant.id)
    assert stored is not None and stored.state is State.ACTIVE
    assert await stage.runtime.deps.repo.find(kind=Kind.REVOKE) == []
    user = stage.org.user(grant.sf_user_id or "")
    assert user is not None and user.is_active


async def test_self_revoke_from_the_command(stage: Stage) -> None:
    grant = await active_grant(stage, JANE.id)
    await stage.workspace.slash(JANE.id, "revoke")
    modal = await stage.slack.wait_for(lambda: open_modal(stage, JANE.id, CallbackId.REVOKE))
    reply = await stage.workspace.submit(JANE.id, modal["id"])
    assert reply.status == 200
    told = await stage.slack.wait_for(lambda: dms_saying(stage, JANE.id, "was removed"))
    assert told[-1].text.startswith(":lock: Your")
    revocation = await until_state(stage, (await revocation_of(stage, grant)).id, State.DONE)
    entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
    assert entries[0].actor == JANE.id and entries[0].detail["source"] == "self"
    user = stage.org.user(grant.sf_user_id or "")
    assert user is not None and not user.is_active


async def test_revoke_now_button_on_the_expiry_notice(stage: Stage) -> None:
    grant = await active_grant(stage, JANE.id, duration="P7D")
    app = stage.policy.default_application
    # the lifecycle job's notice, as it would post it
    notice = build_expiring_soon(grant, app)
    await stage.runtime.deps.client.chat_postMessage(
        channel=JANE.id, text=notice.text, blocks=notice.blocks
    )
    posted = await stage.slack.wait_for(lambda: dms_saying(stage, JANE.id, "ends on"))
    # someone else clicking the same button changes nothing
    await stage.workspace.click(MALLORY.id, posted[-1], ActionId.REVOKE_NOW)
    await stage.slack.wait_for(lambda: stage.slack.responses(MALLORY.id))
    assert "Only <@U0JANE> themself" in said_to(stage, MALLORY.id)

    await stage.workspace.click(JANE.id, posted[-1], ActionId.REVOKE_NOW)
    await stage.slack.wait_for(lambda: "Removing your" in said_to(stage, JANE.id))
    await stage.slack.wait_for(lambda: dms_saying(stage, JANE.id, "was removed"))
    stored = await until_state(stage, grant.id, State.REVOKED)
    assert stored.state is State.REVOKED
    # a second click finds nothing left to do
    await stage.workspace.click(JANE.id, current(stage, posted[-1]), ActionId.REVOKE_NOW)
    await stage.slack.wait_for(lambda: "Nothing to do" in said_to(stage, JANE.id))
    assert len(await stage.runtime.deps.repo.find(kind=Kind.REVOKE)) == 1


async def test_offboarding_revokes_every_grant_at_once(stage: Stage) -> None:
    first = await active_grant(stage, JANE.id)
    second = await active_grant(
        stage, JANE.id, profile="Standard User", permission_sets=("Reports_Export",)
    )
    pending = await submit_request(stage, JANE.id, permission_sets=("Knowledge_Author",))
    assert first.sf_user_id == second.sf_user_id
    await stage.slack.wait_for(lambda: len(dms_saying(stage, JANE.id, "waiting")) == 3)
    before = [m.text for m in stage.slack.dms(JANE.id)]
    stage.org.reset_counters()

    user = stage.slack.set_deleted(JANE.id, True)
    event = {"type": "user_change", "user": user, "cache_ts": 1}
    reply = await stage.workspace.event(event, event_id="EvOFFBOARD1")
    assert reply.status == 200
    summary = await stage.slack.wait_for(lambda: dms_saying(stage, ADA.id, "left Slack"))
    # Slack retries a delivery it thinks was lost: same event_id, nothing happens twice
    again = await stage.workspace.event(event, event_id="EvOFFBOARD1", retry_num=1)
    assert again.status == 200
    await stage.settle()  # the listener's work after each ack too
    assert len(dms_saying(stage, ADA.id, "left Slack")) == 1

    text = json.dumps(summary[0].blocks)
    assert "deactivated." in text and pending.id in text and "cancelled" in text
    for grant in (first, second):
        stored = await stage.runtime.deps.repo.get(grant.id)
        assert stored is not None and stored.state is State.REVOKED
        revocation = await revocation_of(stage, grant)
        assert revocation.state is State.DONE and revocation.requester_id == "bot"
        entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
        assert entries[0].detail["source"] == "offboarding"
    cancelled = await stage.runtime.deps.repo.get(pending.id)
    assert cancelled is not None and cancelled.state is State.CANCELLED
    sf_user = stage.org.user(first.sf_user_id or "")
    assert sf_user is not None and not sf_user.is_active
    # both grants name one Salesforce user: it is deactivated by exactly one call
    assert len(deactivating_calls(stage)) == 1
    # the departed member gets no DMs; the pending request's approval buttons are gone
    assert [m.text for m in stage.slack.dms(JANE.id)] == before
    asked = first_about(stage, OLIVIA.id, pending.id)
    assert not any(b.get("type") == "actions" for b in asked.blocks)
