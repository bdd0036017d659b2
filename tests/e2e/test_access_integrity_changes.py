"""Access integrity over signed HTTP, when what a request grants changes under it.

An extension that waits for approval ends with the grant it extends (revoked or expired): it
is cancelled at once, its requester hears why, and approving it afterwards changes nothing.
An admin who changes an approved request after a failure sends it back to the owners when
the change gives more or other access than they approved; nobody acts as admin on their own
request.
"""

from __future__ import annotations

import json
from datetime import timedelta

from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import ADA, BOB, JANE, JORDAN, OLIVIA, OMAR, Stage, demo_policy
from handlers.ids import ActionId, CallbackId
from handlers.policy import Application, Policy
from storage.models import AccessRequest, Kind, State
from tests.e2e.lifecycle_steps import ShiftedClock, grant_access, start, tick
from tests.e2e.stages import StageOpener
from tests.e2e.steps import approval_message, current, dm_texts, submit_request
from tests.e2e.test_access_integrity import in_state, open_modal, owner_revokes, until
from tests.e2e.test_escalation import buttons
from tests.e2e.test_home import open_home
from tests.e2e.test_revocation import dms_saying, said_to, trail, until_state


async def extension_asked(
    stage: Stage, grant: AccessRequest
) -> tuple[AccessRequest, PostedMessage]:
    """Jane presses Extend on her Home tab; the extension and Omar's approval message."""
    home = await open_home(stage, JANE.id)
    reply = await stage.workspace.press(JANE.id, home["id"], ActionId.EXTEND, value=grant.id)
    assert reply.status == 200

    async def asked() -> list[AccessRequest]:
        return await stage.runtime.deps.repo.find(grant_id=grant.id, kind=Kind.GRANT)

    (extension,) = await until(asked)
    assert extension.state is State.PENDING_APPROVAL
    return extension, await approval_message(stage, OMAR.id, extension.id)


def writes_since(stage: Stage, mark: int) -> list[object]:
    """What changed the org after ``mark``: writes, alone or inside a composite call."""
    found: list[object] = []
    for call in stage.org.calls[mark:]:
        parts = call.json.get("compositeRequest") if isinstance(call.json, dict) else None
        if parts is not None:
            found += [p for p in parts if p.get("method") != "GET"]
        elif call.method != "GET" and "/oauth2/" not in call.path:
            found.append(call)
    return found


async def approve_stale(stage: Stage, ask: PostedMessage) -> str:
    """Omar clicks Approve on the approval message as he last saw it; what he is told."""
    before = len(stage.slack.responses(OMAR.id))
    reply = await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    assert reply.status == 200
    answers = await stage.slack.wait_for(lambda: stage.slack.responses(OMAR.id)[before:] or None)
    await stage.settle()
    return answers[-1].text


async def assert_extension_ended_with_the_grant(
    stage: Stage, grant: AccessRequest, extension: AccessRequest, ask: PostedMessage, why: str
) -> None:
    """Cancelled in the revocation's transaction, the requester told, the message updated."""
    cancelled = await in_state(stage, extension.id, State.CANCELLED)
    assert cancelled.state is State.CANCELLED
    trail = await stage.runtime.deps.repo.audit.for_request(extension.id)
    assert trail[-1].action == "extension_cancelled" and trail[-1].actor != JANE.id
    told = await stage.slack.wait_for(
        lambda: [t for t in dm_texts(stage, JANE.id) if "extend" in t and "cancelled" in t]
    )
    assert why in told[-1], told[-1]
    shown = await stage.slack.wait_for(
        lambda: current(stage, ask) if not buttons(current(stage, ask)) else None
    )
    assert "Cancelled" in json.dumps(shown.blocks)


async def test_an_extension_approved_after_a_revocation_brings_nothing_back(
    stage: Stage,
) -> None:
    grant = await grant_access(stage, JANE, duration="P1D")
    user_id = grant.sf_user_id or ""
    extension, ask = await extension_asked(stage, grant)

    await owner_revokes(stage, OMAR.id, JANE.id, "She moved to support")
    await in_state(stage, grant.id, State.REVOKED)
    await stage.settle()
    user = stage.org.user(user_id)
    assert user is not None and not user.is_active
    await assert_extension_ended_with_the_grant(stage, grant, extension, ask, "revoked")

    mark = len(stage.org.calls)
    said = await approve_stale(stage, ask)
    assert "revoked" in said or "cancelled" in said, said
    assert writes_since(stage, mark) == []
    user = stage.org.user(user_id)
    assert user is not None and not user.is_active
    stored = await stage.runtime.deps.repo.get(grant.id)
    assert stored is not None and stored.state is State.REVOKED
    ended = await stage.runtime.deps.repo.get(extension.id)
    assert ended is not None and ended.state is State.CANCELLED and ended.decided_by is None
    assert not [t for t in dm_texts(stage, JANE.id) if "is ready" in t][1:]


async def test_an_undecided_extension_ends_when_the_grant_expires(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock)
    try:
        grant = await grant_access(stage, JANE, duration="P1D")
        user_id = grant.sf_user_id or ""
        extension, ask = await extension_asked(stage, grant)

        clock.advance(timedelta(days=1, minutes=1))
        await tick(stage)
        await in_state(stage, grant.id, State.REVOKED)
        user = stage.org.user(user_id)
        assert user is not None and not user.is_active
        await assert_extension_ended_with_the_grant(stage, grant, extension, ask, "ended")

        mark = len(stage.org.calls)
        said = await approve_stale(stage, ask)
        assert "ended" in said or "cancelled" in said, said
        await tick(stage)
        assert writes_since(stage, mark) == []
        user = stage.org.user(user_id)
        assert user is not None and not user.is_active
        ended = await stage.runtime.deps.repo.get(extension.id)
        assert ended is not None and ended.state is State.CANCELLED
    finally:
        await stage.close()


# --- an admin changing an approved request --------------------------------------------------


def escalation_to(stage: Stage, admin: str, request_id: str) -> PostedMessage | None:
    """``admin``'s escalation DM about ``request_id``, as it looks now."""
    return next(
        (
            m
            for m in stage.slack.dms(admin)
            if not m.is_reply and buttons(m) and request_id in json.dumps(m.blocks)
        ),
        None,
    )


async def stuck_without_a_seat(
    stage: Stage, person: str, *, permission_sets: tuple[str, ...] = (), admin: str = ADA.id
) -> tuple[AccessRequest, PostedMessage]:
    """``person``'s Platform request approved by Omar, stuck with no free seat; the admin's DM."""
    request = await submit_request(
        stage,
        person,
        license="Salesforce Platform",
        profile="Standard Platform User",
        role=None,
        permission_sets=permission_sets,
    )
    platform = stage.org.id_of("Profile", "Standard Platform User")
    for name in ("kim", "lee"):
        stage.org.add_user(f"{name}@acme.com", platform, last_name=name)
    ask = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    stuck = await until_state(stage, request.id, State.NEEDS_ADMIN)
    assert stuck.needs_admin_reason == "no_free_seat" and stuck.decided_by == OMAR.id
    dm = await stage.slack.wait_for(lambda: escalation_to(stage, admin, request.id))
    assert buttons(dm) == [ActionId.RETRY, ActionId.COMPLETE_REQUEST]  # "Change request"
    return stuck, dm


async def change_request(
    stage: Stage, admin: str, dm: PostedMessage, **choices: str | list[str]
) -> None:
    """``admin`` presses Change request and saves the modal with these choices."""
    await stage.workspace.click(admin, dm, ActionId.COMPLETE_REQUEST)
    modal = await stage.slack.wait_for(
        lambda: open_modal(stage, admin, CallbackId.COMPLETE_REQUEST)
    )
    view_id = str(modal["id"])
    if "license" in choices:
        before = stage.slack.view(view_id)
        assert before is not None
        await stage.workspace.pick(admin, view_id, ActionId.REQUEST_LICENSE, choices["license"])
        await stage.slack.wait_for(
            lambda: (stage.slack.view(view_id) or {}).get("hash") != before["hash"]
        )
    fields = {"profile": ActionId.REQUEST_PROFILE, "sets": ActionId.REQUEST_PERMISSION_SETS}
    for name, action_id in fields.items():
        if name in choices:
            await stage.workspace.choose(admin, view_id, action_id, choices[name])
    reply = await stage.workspace.submit(admin, view_id)
    assert reply.status == 200 and not reply.body.strip(), reply.body


def approval_messages(stage: Stage, request_id: str) -> list[PostedMessage]:
    """Omar's top-level DMs about ``request_id``, as they look now."""
    return [
        m for m in stage.slack.dms(OMAR.id) if not m.is_reply and request_id in json.dumps(m.blocks)
    ]


async def test_a_change_giving_other_access_goes_back_to_the_owners(stage: Stage) -> None:
    stuck, dm = await stuck_without_a_seat(stage, JANE.id)
    (first,) = approval_messages(stage, stuck.id)

    await change_request(
        stage, ADA.id, dm, license="Salesforce", profile="Sales User", sets=["Reports_Export"]
    )
    again = await until_state(stage, stuck.id, State.PENDING_APPROVAL)
    assert again.decided_by is None and again.decided_at is None
    assert (again.license, again.profile) == ("Salesforce", "Sales User")
    assert again.permission_sets == ("Reports_Export",)
    assert stage.org.user_by_username("jane.doe@acme.com") is None  # nothing set up yet
    entry = (await stage.runtime.deps.repo.audit.for_request(stuck.id))[-1]
    assert entry.action == "changed_after_approval" and entry.actor == ADA.id
    assert entry.detail["approved_by"] == OMAR.id
    assert entry.detail["change"]["added"] == ["Reports_Export"]

    # a new approval message shows what changed; the old approval says it no longer counts
    ask = await stage.slack.wait_for(
        lambda: next((m for m in approval_messages(stage, stuck.id) if buttons(m)), None)
    )
    assert ask.ts != first.ts
    shown = json.dumps(ask.blocks)
    assert "Changed by" in shown and "Standard Platform User" in shown and "Sales User" in shown
    assert "Reports_Export" in shown.replace("\\u200b", "")
    assert "no longer counts" in json.dumps(current(stage, first).blocks)
    await stage.slack.wait_for(lambda: "Resolved" in current(stage, dm).text)
    told = await stage.slack.wait_for(lambda: dms_saying(stage, JANE.id, "goes back to the owners"))
    assert "approve it again" in json.dumps(told[-1].blocks)

    # only the owners' new approval sets it up, with what they approved
    stage.org.admin_update("User", stage.org.user_by_username("kim@acme.com").id, IsActive=False)  # type: ignore[union-attr]
    await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    done = await until_state(stage, stuck.id, State.ACTIVE)
    assert done.decided_by == OMAR.id
    user = stage.org.user(done.sf_user_id or "")
    assert user is not None and user.profile_name == "Sales User"
    assert stage.org.assignments_of(user.id) == ("Reports_Export",)


async def test_a_change_that_only_takes_access_away_needs_no_new_approval(stage: Stage) -> None:
    stuck, dm = await stuck_without_a_seat(
        stage, JANE.id, permission_sets=("Sales_Ops", "Reports_Export")
    )
    stage.org.admin_update("User", stage.org.user_by_username("kim@acme.com").id, IsActive=False)  # type: ignore[union-attr]

    await change_request(stage, ADA.id, dm, sets=["Sales_Ops"])
    done = await until_state(stage, stuck.id, State.ACTIVE)
    assert done.decided_by == OMAR.id and done.permission_sets == ("Sales_Ops",)
    user = stage.org.user(done.sf_user_id or "")
    assert user is not None and stage.org.assignments_of(user.id) == ("Sales_Ops",)
    assert "changed_after_approval" not in await trail(stage, stuck.id)
    assert not [m for m in approval_messages(stage, stuck.id) if buttons(m)]


async def test_an_admin_may_not_act_on_their_own_request(stage: Stage) -> None:
    stage.set_policy(demo_policy(admins=(JORDAN.id,)))  # Jordan is the only admin of Sales
    stuck, dm = await stuck_without_a_seat(stage, JORDAN.id, admin=JORDAN.id)
    service = Application(
        name="service",
        owners=(OLIVIA.id,),
        admins=(ADA.id,),
        licenses=("Salesforce",),
        profiles=("Support User",),
    )
    sales = demo_policy(admins=(JORDAN.id,)).applications
    stage.set_policy(Policy(applications=(*sales, service)))

    for button in (ActionId.COMPLETE_REQUEST, ActionId.RETRY):
        before = len(stage.slack.responses(JORDAN.id))
        await stage.workspace.click(JORDAN.id, dm, button)
        answer = await stage.slack.wait_for(
            lambda: stage.slack.responses(JORDAN.id)[before:] or None  # noqa: B023
        )
        text = answer[-1].text
        assert "your own access" in text and "no other admin" in text, text
        assert f"<@{ADA.id}>" in text
    assert open_modal(stage, JORDAN.id, CallbackId.COMPLETE_REQUEST) is None
    refused = [
        e
        for e in await stage.runtime.deps.repo.audit.for_request(stuck.id)
        if e.action == "escalation_refused"
    ]
    assert [e.detail["why"] for e in refused] == ["own_escalation", "own_escalation"]
    assert (await stage.runtime.deps.repo.get(stuck.id)).state is State.NEEDS_ADMIN  # type: ignore[union-attr]

    # with a second admin, Jordan is pointed to him, and he may act
    stage.set_policy(demo_policy(admins=(JORDAN.id, BOB.id)))
    await stage.workspace.click(JORDAN.id, dm, ActionId.RETRY)
    await stage.slack.wait_for(lambda: f"Ask <@{BOB.id}>" in said_to(stage, JORDAN.id))
    stage.org.admin_update("User", stage.org.user_by_username("kim@acme.com").id, IsActive=False)  # type: ignore[union-attr]
    await stage.workspace.click(BOB.id, dm, ActionId.RETRY)
    await until_state(stage, stuck.id, State.ACTIVE)


async def test_a_request_sent_back_after_a_long_wait_gets_the_owners_full_time(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock)
    try:
        stuck, dm = await stuck_without_a_seat(stage, JANE.id)
        clock.advance(timedelta(days=8))  # longer than undecided requests may wait
        await change_request(stage, ADA.id, dm, license="Salesforce", profile="Sales User")
        await until_state(stage, stuck.id, State.PENDING_APPROVAL)
        await tick(stage)
        waiting = await stage.runtime.deps.repo.get(stuck.id)
        assert waiting is not None and waiting.state is State.PENDING_APPROVAL
        assert waiting.reminders_sent == 0
    finally:
        await stage.close()
