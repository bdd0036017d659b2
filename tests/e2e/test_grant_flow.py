"""A Salesforce access request from the slash command to a provisioned user, over signed HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from bot.sandbox.stage import JANE, JORDAN, MALLORY, OLIVIA, OMAR, Stage
from handlers.ids import ActionId, BlockId
from storage.models import State
from tests.e2e.steps import (
    approval_message,
    current,
    dm_texts,
    fill_request,
    open_request_form,
    submit_request,
)


async def test_request_approve_provision(stage: Stage) -> None:
    request = await submit_request(stage, JANE.id, duration="P7D")
    assert request.state is State.PENDING_APPROVAL
    assert (request.license, request.profile, request.role) == (
        "Salesforce",
        "Sales User",
        "SalesRep",
    )
    assert request.permission_sets == ("Sales_Ops",)
    assert request.duration == timedelta(days=7)
    # both owners are asked, the requester hears who decides
    for owner in (OMAR.id, OLIVIA.id):
        asked = await approval_message(stage, owner, request.id)
        assert "Approve" in json.dumps(asked.blocks)
    waiting = await stage.slack.wait_for(
        lambda: [t for t in dm_texts(stage, JANE.id) if "waiting" in t]
    )
    assert waiting

    message = await approval_message(stage, OMAR.id, request.id)
    reply = await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    assert reply.status == 200
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JANE.id)))
    await stage.settle()

    stored = await stage.runtime.deps.repo.get(request.id)
    assert stored is not None and stored.state is State.ACTIVE
    assert stored.decided_by == OMAR.id
    user = stage.org.user_by_username("jane.doe@acme.com")
    assert user is not None and user.is_active
    assert stored.sf_user_id == user.id
    assert user.profile_id == stage.org.id_of("Profile", "Sales User")
    assert user.role_id == stage.org.id_of("UserRole", "SalesRep")
    assert "Sales_Ops" in stage.org.assignments_of(user.id)
    assert (user.fields["TimeZoneSidKey"], user.fields["LocaleSidKey"]) == ("Europe/Paris", "fr_FR")
    # every approval message shows the outcome and has no buttons left
    for owner in (OMAR.id, OLIVIA.id):
        updated = current(stage, await _first_approval(stage, owner))
        assert not any(b.get("type") == "actions" for b in updated.blocks)
        assert "Approved" in json.dumps(updated.blocks) or "approved" in updated.text
    trail = [e.action for e in await stage.runtime.deps.repo.audit.for_request(request.id)]
    assert trail == ["submitted", "approved", "provisioning_started", "provisioned"]


async def _first_approval(stage: Stage, owner: str):  # type: ignore[no-untyped-def]
    return next(m for m in stage.slack.dms(owner) if not m.is_reply)


async def test_choosing_a_license_refills_the_profiles(stage: Stage) -> None:
    view_id = await open_request_form(stage, JANE.id)
    await fill_request(
        stage,
        JANE.id,
        view_id,
        license="Salesforce Platform",
        profile="Standard Platform User",
        role=None,
        permission_sets=(),
    )
    view = stage.slack.view(view_id)
    assert view is not None
    profile_block = next(b for b in view["blocks"] if b.get("block_id") == BlockId.PROFILE)
    offered = [o["value"] for o in profile_block["element"]["options"]]
    assert offered == ["Standard Platform User"]
    # the reason typed before the refill is still there
    await stage.workspace.pick(JANE.id, view_id, ActionId.REQUEST_LICENSE, "Salesforce")
    refilled = await stage.slack.wait_for(lambda: _refilled(stage, view_id, view["hash"]))
    profile_block = next(b for b in refilled["blocks"] if b.get("block_id") == BlockId.PROFILE)
    assert {o["value"] for o in profile_block["element"]["options"]} == {
        "Standard User",
        "Sales User",
        "Support User",
    }


def _refilled(stage: Stage, view_id: str, old_hash: str) -> dict[str, Any] | None:
    """The view once the app has replaced it (its hash changes with each update)."""
    view = stage.slack.view(view_id)
    return view if view and view.get("hash") != old_hash else None


async def test_validation_errors_keep_the_modal_open(stage: Stage) -> None:
    platform_profile = stage.org.id_of("Profile", "Standard Platform User")
    for name in ("kim", "lee"):  # the last two Platform seats
        stage.org.add_user(f"{name}@acme.com", platform_profile, last_name=name)
    view_id = await open_request_form(stage, JANE.id)
    # no Platform seat is free now; a reason of blanks is no reason
    await fill_request(
        stage,
        JANE.id,
        view_id,
        license="Salesforce Platform",
        profile="Standard Platform User",
        role=None,
        permission_sets=(),
        reason="   ",
    )
    reply = await stage.workspace.submit(JANE.id, view_id)
    answer = reply.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {BlockId.LICENSE, BlockId.REASON}
    assert "seat" in answer["errors"][BlockId.LICENSE]
    assert stage.slack.open_view(JANE.id) is not None
    shown = stage.slack.view_errors(view_id)
    assert "seat" in shown[BlockId.LICENSE]
    assert await stage.runtime.deps.repo.find() == []


async def test_only_owners_may_decide(stage: Stage) -> None:
    request = await submit_request(stage, JANE.id)
    message = await approval_message(stage, OMAR.id, request.id)
    reply = await stage.workspace.click(MALLORY.id, message, ActionId.APPROVE)
    assert reply.status == 200
    said = await stage.slack.wait_for(lambda: stage.slack.responses(MALLORY.id))
    assert "Only the owners" in json.dumps(said[-1].model_dump())
    stored = await stage.runtime.deps.repo.get(request.id)
    assert stored is not None and stored.state is State.PENDING_APPROVAL
    assert stage.org.user_by_username("jane.doe@acme.com") is None


async def test_owner_cannot_approve_own_request(stage: Stage) -> None:
    request = await submit_request(stage, OMAR.id)
    # only the other owner is asked
    message = await approval_message(stage, OLIVIA.id, request.id)
    assert not [m for m in stage.slack.dms(OMAR.id) if "Approve" in json.dumps(m.blocks)]
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    said = await stage.slack.wait_for(lambda: stage.slack.responses(OMAR.id))
    assert "your own access" in json.dumps(said[-1].model_dump())
    stored = await stage.runtime.deps.repo.get(request.id)
    assert stored is not None and stored.state is State.PENDING_APPROVAL


async def test_two_owners_approving_at_once_create_one_user(stage: Stage) -> None:
    request = await submit_request(stage, JANE.id)
    omar_message = await approval_message(stage, OMAR.id, request.id)
    olivia_message = await approval_message(stage, OLIVIA.id, request.id)
    users_before = len(stage.org.users())
    replies = await asyncio.gather(
        stage.workspace.click(OMAR.id, omar_message, ActionId.APPROVE),
        stage.workspace.click(OLIVIA.id, olivia_message, ActionId.APPROVE),
    )
    assert [r.status for r in replies] == [200, 200]
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JANE.id)))
    await stage.settle()
    loser = await stage.slack.wait_for(
        lambda: stage.slack.responses(OMAR.id) or stage.slack.responses(OLIVIA.id)
    )
    assert "already approved" in json.dumps(loser[-1].model_dump())
    assert len(stage.org.users()) == users_before + 1
    trail = [e.action for e in await stage.runtime.deps.repo.audit.for_request(request.id)]
    assert trail.count("approved") == 1 and trail.count("provisioned") == 1


async def test_deny_with_reason(stage: Stage) -> None:
    request = await submit_request(stage, JANE.id)
    message = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, message, ActionId.DENY)
    modal = await stage.slack.wait_for(lambda: stage.slack.open_view(OMAR.id))
    reply = await stage.workspace.submit(
        OMAR.id, modal["id"], {ActionId.DENY_REASON: "Use the shared <!channel> *dashboard*"}
    )
    assert reply.status == 200
    denied = await stage.slack.wait_for(
        lambda: [m for m in stage.slack.dms(JANE.id) if "denied" in m.text]
    )
    shown = json.dumps(denied[-1].blocks)
    assert "shared" in shown and "<!channel>" not in shown
    stored = await stage.runtime.deps.repo.get(request.id)
    assert stored is not None and stored.state is State.DENIED
    assert stored.decision_note == "Use the shared <!channel> *dashboard*"
    updated = current(stage, message)
    assert not any(b.get("type") == "actions" for b in updated.blocks)
    assert stage.org.user_by_username("jane.doe@acme.com") is None


async def test_inactive_user_is_reactivated_not_duplicated(stage: Stage) -> None:
    before = stage.org.user_by_username("jordan.lee@acme.com")
    assert before is not None and not before.is_active
    users_before = len(stage.org.users())
    request = await submit_request(
        stage, JORDAN.id, profile="Standard User", role=None, permission_sets=()
    )
    message = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JORDAN.id)))
    after = stage.org.user_by_username("jordan.lee@acme.com")
    assert after is not None and after.is_active and after.id == before.id
    assert after.profile_id == stage.org.id_of("Profile", "Standard User")
    assert not stage.org.is_frozen(after.id)
    assert len(stage.org.users()) == users_before


async def test_bad_signature_and_stale_timestamp_are_refused(stage: Stage) -> None:
    body = urlencode(
        {
            "command": "/salesforce",
            "text": "",
            "user_id": JANE.id,
            "trigger_id": "1.2.3",
            "team_id": "T0DEMO",
        }
    ).encode()
    form = "application/x-www-form-urlencoded"
    forged = await stage.workspace.post_raw(body, content_type=form, signature="v0=" + "0" * 64)
    stale = await stage.workspace.post_raw(
        body, content_type=form, timestamp=int(time.time()) - 360
    )
    assert (forged.status, stale.status) == (401, 401)
    assert await stage.runtime.deps.repo.find() == []
    assert stage.slack.calls("views.open") == []
