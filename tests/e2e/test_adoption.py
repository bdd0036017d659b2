"""Users the bot never made: adopted only when clearly safe, else an admin decides.

Over signed HTTP: an active System Administrator holding the requester's username is not
touched until an admin adopts it, and goes back to exactly how it was when the grant ends; a
user frozen by someone else stays frozen; an inactive user with the requester's email is
adopted by itself, keeps what it had and loses only what the bot added; "Use another
username" refuses a username of this org.
"""

from __future__ import annotations

import json

from bot.sandbox.stage import ADA, JANE, JORDAN, OMAR, Stage
from handlers.ids import ActionId, CallbackId
from storage.models import AccessRequest, ManagedOrigin, State
from tests.e2e.steps import approval_message, current, submit_request
from tests.e2e.test_access_integrity import in_state, open_modal, owner_revokes
from tests.e2e.test_escalation import buttons, escalation


async def approved(stage: Stage, user_id: str, **choices: object) -> AccessRequest:
    request = await submit_request(stage, user_id, **choices)
    ask = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    return request


def snapshot(stage: Stage, username: str) -> tuple[object, ...]:
    user = stage.org.user_by_username(username)
    assert user is not None
    return (
        user.is_active,
        user.profile_name,
        user.role_id,
        stage.org.is_frozen(user.id),
        stage.org.assignments_of(user.id),
    )


async def test_an_active_admin_with_the_username_waits_for_an_admins_decision(
    stage: Stage,
) -> None:
    admin_profile = stage.org.id_of("Profile", "System Administrator")
    ceo = stage.org.id_of("UserRole", "CEO")
    existing = stage.org.add_user(
        "jane.doe@acme.com", admin_profile, first_name="Jane", last_name="Doe", role_id=ceo
    )
    stage.org.assign(existing, stage.org.id_of("PermissionSet", "Knowledge_Author"))
    before = snapshot(stage, "jane.doe@acme.com")
    calls_before = len(stage.org.calls)

    request = await approved(stage, JANE.id, permission_sets=("Sales_Ops",))
    await in_state(stage, request.id, State.NEEDS_ADMIN)
    await stage.settle()
    # nothing changed in Salesforce: the bot only looked
    assert snapshot(stage, "jane.doe@acme.com") == before
    changes = [c for c in stage.org.calls[calls_before:] if c.method in ("PATCH", "DELETE")]
    patches = [
        p
        for c in stage.org.calls[calls_before:]
        for p in (c.json or {}).get("compositeRequest", [])
        if isinstance(c.json, dict) and p.get("method") in ("PATCH", "DELETE")
    ]
    assert not changes and not patches
    dm = await stage.slack.wait_for(lambda: escalation(stage, request.id))
    shown = json.dumps(dm.blocks)
    assert "System Administrator" in shown and "it is active" in shown
    assert "Knowledge_Author" in shown.replace("\\u200b", "")  # mrkdwn-escaped underscores
    assert buttons(dm) == [ActionId.ADOPT_USER, ActionId.USE_OTHER_USERNAME]

    # the owner may not adopt; the admin may
    await stage.workspace.click(OMAR.id, dm, ActionId.ADOPT_USER)
    await stage.workspace.click(ADA.id, dm, ActionId.ADOPT_USER)
    await in_state(stage, request.id, State.ACTIVE)
    await stage.settle()
    user = stage.org.user(existing)
    assert user is not None and user.is_active and user.profile_name == "Sales User"
    assert stage.org.assignments_of(existing) == ("Knowledge_Author", "Sales_Ops")
    managed = await stage.runtime.deps.repo.managed.get("jane.doe@acme.com")
    assert managed is not None and managed.origin is ManagedOrigin.ADOPTED
    await stage.slack.wait_for(lambda: "Resolved" in current(stage, dm).text)

    # when the grant ends the user goes back to exactly how it was, and stays active
    await owner_revokes(stage, OMAR.id, JANE.id, "Back to admin duties")
    await in_state(stage, request.id, State.REVOKED)
    await stage.settle()
    assert snapshot(stage, "jane.doe@acme.com") == before


async def test_a_user_frozen_by_someone_else_stays_frozen(stage: Stage) -> None:
    sales = stage.org.id_of("Profile", "Sales User")
    frozen = stage.org.add_user(
        "jane.doe@acme.com", sales, first_name="Jane", last_name="Doe", active=False, frozen=True
    )
    request = await approved(stage, JANE.id)
    await in_state(stage, request.id, State.NEEDS_ADMIN)
    await stage.settle()
    user = stage.org.user(frozen)
    assert user is not None and not user.is_active and stage.org.is_frozen(frozen)
    dm = await stage.slack.wait_for(lambda: escalation(stage, request.id))
    assert "someone froze it" in json.dumps(dm.blocks)


async def test_an_inactive_user_with_the_same_email_is_adopted_and_restored(
    stage: Stage,
) -> None:
    before = snapshot(stage, "jordan.lee@acme.com")
    assert before[0] is False and before[4] == ("Reports_Export",)
    request = await approved(stage, JORDAN.id, permission_sets=("Sales_Ops", "Reports_Export"))
    await in_state(stage, request.id, State.ACTIVE)
    await stage.settle()
    jordan = stage.org.user_by_username("jordan.lee@acme.com")
    assert jordan is not None and jordan.is_active
    assert stage.org.assignments_of(jordan.id) == ("Reports_Export", "Sales_Ops")
    managed = await stage.runtime.deps.repo.managed.get("jordan.lee@acme.com")
    assert managed is not None and managed.origin is ManagedOrigin.ADOPTED
    assert managed.baseline is not None and not managed.baseline.is_active
    # Reports_Export was his before: never the bot's to take; Sales_Ops was added and goes
    assert managed.added == (stage.org.id_of("PermissionSet", "Sales_Ops"),)

    await owner_revokes(stage, OMAR.id, JORDAN.id, "Project over")
    await in_state(stage, request.id, State.REVOKED)
    await stage.settle()
    assert snapshot(stage, "jordan.lee@acme.com") == before


async def test_another_username_must_not_belong_to_someone_in_this_org(stage: Stage) -> None:
    stage.org.take_username_elsewhere("jane.doe@acme.com")
    request = await approved(stage, JANE.id)
    await in_state(stage, request.id, State.NEEDS_ADMIN)
    dm = await stage.slack.wait_for(lambda: escalation(stage, request.id))
    await stage.workspace.click(ADA.id, dm, ActionId.USE_OTHER_USERNAME)
    modal = await stage.slack.wait_for(
        lambda: open_modal(stage, ADA.id, CallbackId.ALTERNATIVE_USERNAME)
    )
    maria = snapshot(stage, "maria.garcia@acme.com")
    reply = await stage.workspace.submit(
        ADA.id, str(modal["id"]), {ActionId.ALTERNATIVE_USERNAME: "maria.garcia@acme.com"}
    )
    assert reply.json()["response_action"] == "errors"
    assert "already belongs to a user in this org" in json.dumps(reply.json()["errors"])
    stored = await stage.runtime.deps.repo.get(request.id)
    assert stored is not None and stored.state is State.NEEDS_ADMIN
    assert stored.username_override is None
    assert snapshot(stage, "maria.garcia@acme.com") == maria
