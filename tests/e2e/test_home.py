"""The App Home tab for each kind of viewer, republished as the requests it shows move on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.sandbox.render import render_view
from bot.sandbox.stage import ADA, BOB, JANE, OLIVIA, OMAR, Stage
from handlers.ids import ActionId, BlockId
from storage.models import State
from tests.e2e.steps import approval_message, dm_texts, submit_request

JsonDict = dict[str, Any]


async def open_home(stage: Stage, user_id: str) -> JsonDict:
    """Open the Home tab and wait until it is published."""
    before = stage.slack.home(user_id)
    reply = await stage.workspace.open_home(user_id)
    assert reply.status == 200, reply.body
    return await home_where(
        stage, user_id, lambda home: before is None or home["hash"] != before["hash"]
    )


async def home_where(stage: Stage, user_id: str, check: Callable[[JsonDict], bool]) -> JsonDict:
    """The user's Home tab once ``check`` holds for it (it is republished in the background)."""

    def ready() -> JsonDict | None:
        home = stage.slack.home(user_id)
        return home if home is not None and check(home) else None

    return await stage.slack.wait_for(ready)


def shown(stage: Stage, home: JsonDict) -> str:
    return render_view(home, names=stage.slack.name_of)


def buttons(home: JsonDict, action_id: str) -> list[JsonDict]:
    found: list[JsonDict] = []
    for block in home["blocks"]:
        elements = block.get("elements", []) if block.get("type") == "actions" else []
        accessory = [block["accessory"]] if isinstance(block.get("accessory"), dict) else []
        found += [e for e in [*elements, *accessory] if e.get("action_id") == action_id]
    return found


async def test_an_employee_sees_their_requests_and_access_as_they_change(stage: Stage) -> None:
    home = await open_home(stage, JANE.id)
    text = shown(stage, home)
    assert "You hold no Salesforce access" in text and "No requests" in text
    for other in ("Waiting for your decision", "Needs an admin", "Seats per license"):
        assert other not in text

    request = await submit_request(stage, JANE.id, duration="P7D")
    home = await home_where(stage, JANE.id, lambda h: "Waiting for approval" in shown(stage, h))
    assert "Sales User" in shown(stage, home)

    message = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    home = await home_where(stage, JANE.id, lambda h: "Active" in shown(stage, h))
    text = shown(stage, home)
    assert "ends on" in text and "jane.doe@acme.com" in text
    (extend,) = buttons(home, ActionId.EXTEND)
    (revoke,) = buttons(home, ActionId.REVOKE_NOW)
    assert extend["value"] == revoke["value"] == request.id
    assert revoke["style"] == "danger" and revoke["confirm"]["style"] == "danger"
    assert "deactivated" in revoke["confirm"]["text"]["text"]


async def test_an_owner_approves_from_the_home_tab(stage: Stage) -> None:
    request = await submit_request(stage, JANE.id)
    home = await open_home(stage, OMAR.id)
    text = shown(stage, home)
    assert "Waiting for your decision" in text and "I close the quarter" in text
    (approve,) = buttons(home, ActionId.APPROVE)
    (deny,) = buttons(home, ActionId.DENY)
    assert approve["value"] == deny["value"] == request.id
    assert deny["confirm"]["confirm"]["text"] == "Deny"
    await open_home(stage, OLIVIA.id)
    await open_home(stage, JANE.id)

    reply = await stage.workspace.press(OMAR.id, home["id"], ActionId.APPROVE, value=request.id)
    assert reply.status == 200
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JANE.id)))
    stored = await stage.runtime.deps.repo.get(request.id)
    assert stored is not None and stored.decided_by == OMAR.id
    # both owners' tabs drop the request, the requester's shows the access
    for owner in (OMAR.id, OLIVIA.id):
        await home_where(
            stage, owner, lambda h: "Nothing waits for your decision" in shown(stage, h)
        )
    await home_where(stage, JANE.id, lambda h: "Active" in shown(stage, h))
    # the approval messages lost their buttons as if approved there
    updated = [m for m in stage.slack.dms(OLIVIA.id) if not m.is_reply]
    assert updated and not any(b.get("type") == "actions" for b in updated[0].blocks)


async def test_the_owner_who_clicks_second_in_the_home_tab_is_told_by_dm(stage: Stage) -> None:
    request = await submit_request(stage, JANE.id)
    omar_home = await open_home(stage, OMAR.id)
    olivia_home = await open_home(stage, OLIVIA.id)
    # both owners click at once; one of them is told by DM (the Home tab has no response_url)
    await asyncio.gather(
        stage.workspace.press(OMAR.id, omar_home["id"], ActionId.APPROVE, value=request.id),
        stage.workspace.press(OLIVIA.id, olivia_home["id"], ActionId.APPROVE, value=request.id),
    )
    said = await stage.slack.wait_for(
        lambda: [
            t
            for owner in (OMAR.id, OLIVIA.id)
            for t in dm_texts(stage, owner)
            if "already approved" in t
        ]
    )
    assert len(said) == 1
    await stage.settle()
    trail = [e.action for e in await stage.runtime.deps.repo.audit.for_request(request.id)]
    assert trail.count("approved") == 1 and trail.count("provisioned") == 1


async def test_an_owner_denies_from_the_home_tab_with_a_reason(stage: Stage) -> None:
    request = await submit_request(stage, JANE.id)
    home = await open_home(stage, OMAR.id)
    await stage.workspace.press(OMAR.id, home["id"], ActionId.DENY, value=request.id)
    modal = await stage.slack.wait_for(lambda: stage.slack.open_view(OMAR.id))
    reply = await stage.workspace.submit(
        OMAR.id, modal["id"], {ActionId.DENY_REASON: "Use the shared dashboard"}
    )
    assert reply.status == 200
    await home_where(stage, OMAR.id, lambda h: "Nothing waits for your decision" in shown(stage, h))
    stored = await stage.runtime.deps.repo.get(request.id)
    assert stored is not None and stored.state is State.DENIED


async def test_an_admin_sees_escalations_seats_and_the_catalog(stage: Stage) -> None:
    stage.org.take_username_elsewhere("jane.doe@acme.com")
    request = await submit_request(stage, JANE.id)
    message = await approval_message(stage, OMAR.id, request.id)
    home = await open_home(stage, ADA.id)
    assert "Nothing needs an admin right now" in shown(stage, home)

    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    home = await home_where(stage, ADA.id, lambda h: request.id in shown(stage, h))
    text = shown(stage, home)
    assert "Needs an admin" in text and "username" in text.lower()
    assert "Seats per license" in text
    sfdc = stage.org.license("Salesforce")
    assert sfdc is not None
    assert f"{sfdc.total - sfdc.used} of {sfdc.total} seats free" in text
    # the catalog section: every profile of the org, marked offered or not
    assert "What Sales Cloud offers" in text
    assert any(b.get("block_id") == BlockId.CATALOG_NAV for b in home["blocks"])
    assert "System Administrator" in text and "Not offered" in text
    offered = buttons(home, ActionId.TOGGLE_REQUESTABLE)
    assert {b["text"]["text"] for b in offered} == {"Make requestable", "Stop offering"}
    stop = next(b for b in offered if b["text"]["text"] == "Stop offering")
    assert stop["confirm"]["style"] == "danger"
    # an owner who is not an admin has no admin sections
    owner_text = shown(stage, await open_home(stage, OLIVIA.id))
    assert "Seats per license" not in owner_text and "What Sales Cloud offers" not in owner_text


async def test_only_people_who_opened_the_home_tab_get_it_republished(stage: Stage) -> None:
    await open_home(stage, JANE.id)
    publishes_before = {c.args.get("user_id") for c in stage.slack.calls("views.publish")}
    assert publishes_before == {JANE.id}
    request = await submit_request(stage, JANE.id)
    await home_where(stage, JANE.id, lambda h: request.id in str(h) or "Waiting" in shown(stage, h))
    await stage.settle()
    published = {c.args.get("user_id") for c in stage.slack.calls("views.publish")}
    assert published == {JANE.id}
    assert stage.slack.home(BOB.id) is None and stage.slack.home(OMAR.id) is None
    # the messages tab opening publishes nothing
    calls = len(stage.slack.calls("views.publish"))
    event = {"type": "app_home_opened", "user": BOB.id, "tab": "messages"}
    await stage.workspace.event(event)
    await stage.settle()
    assert len(stage.slack.calls("views.publish")) == calls
