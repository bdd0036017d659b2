"""Access integrity over signed HTTP: Salesforce holds exactly what the active grants allow.

Each test is one case of the access-integrity issue that the edge-triggered bot got wrong:
a revocation while the create call is out, a cancelled retry whose create had landed, one of
two grants on the same user revoked.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.sandbox.salesforce_org import FaultKind
from bot.sandbox.stage import ADA, JANE, OMAR, Stage
from handlers.ids import ActionId, CallbackId
from storage.models import AccessRequest, Kind, ManagedOrigin, State
from tests.e2e.stages import StageOpener
from tests.e2e.steps import approval_message, dm_texts, submit_request

T = TypeVar("T")


async def until(check: Callable[[], Awaitable[T | None]], timeout: float = 10.0) -> T:
    """The first truthy answer of ``check``, polled (no settle: holds may park the worker)."""
    async with asyncio.timeout(timeout):
        while not (found := await check()):
            await asyncio.sleep(0.02)
    return found


async def in_state(stage: Stage, request_id: str, *states: State) -> AccessRequest:
    """The request once it is in one of ``states``."""

    async def check() -> AccessRequest | None:
        stored = await stage.runtime.deps.repo.get(request_id)
        return stored if stored is not None and stored.state in states else None

    return await until(check)


async def revocations(stage: Stage, grant_id: str) -> list[AccessRequest]:
    """The revocations opened for a grant."""
    return await stage.runtime.deps.repo.find(grant_id=grant_id, kind=Kind.REVOKE)


def open_modal(stage: Stage, user_id: str, callback_id: str) -> dict[str, object] | None:
    """The modal on top of ``user_id``'s stack if it is the one with ``callback_id``."""
    view = stage.slack.open_view(user_id)
    return view if view and view.get("callback_id") == callback_id else None


async def owner_revokes(stage: Stage, owner: str, subject: str, reason: str) -> None:
    """``/salesforce revoke @subject`` and the revoke modal submitted with ``reason``."""
    assert (await stage.workspace.slash(owner, f"revoke <@{subject}>")).status == 200
    modal = await stage.slack.wait_for(lambda: open_modal(stage, owner, CallbackId.REVOKE))
    done = await stage.workspace.submit(owner, str(modal["id"]), {ActionId.REVOKE_REASON: reason})
    assert done.status == 200 and not done.body.strip(), done.body


async def approved_and_held(stage: Stage, **choices: object) -> AccessRequest:
    """Jane's request approved by Omar, with the create call parked at the org."""
    request = await submit_request(stage, JANE.id, **choices)  # the catalog is read here
    ask = await approval_message(stage, OMAR.id, request.id)
    hold = stage.org.hold("/composite")
    await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    assert await asyncio.to_thread(hold.wait_arrived, 10.0)
    return await in_state(stage, request.id, State.PROVISIONING)


async def test_leaving_slack_while_the_user_is_created_leaves_no_access(stage: Stage) -> None:
    grant = await approved_and_held(stage)
    assert (await stage.workspace.deactivate(JANE.id)).status == 200
    await until(lambda: revocations(stage, grant.id))
    stage.org.release_all()

    closed = await in_state(stage, grant.id, State.REVOKED)
    await stage.settle()
    user = stage.org.user_by_username("jane.doe@acme.com")
    assert user is not None and not user.is_active
    assert stage.org.assignments_of(user.id) == ()
    (revocation,) = await revocations(stage, grant.id)
    assert revocation.state is State.DONE
    assert closed.state is State.REVOKED
    # she never heard "ready" for access that is already gone; the admins hear she left
    assert not [t for t in dm_texts(stage, JANE.id) if "is ready" in t]
    summary = await stage.slack.wait_for(
        lambda: [m for m in stage.slack.dms(ADA.id) if "left Slack" in m.text]
    )
    assert "deactivated" in json.dumps(summary[-1].blocks)


async def test_an_owner_revoking_while_the_user_is_created_removes_it(stage: Stage) -> None:
    grant = await approved_and_held(stage)
    await owner_revokes(stage, OMAR.id, JANE.id, "Wrong person")
    await until(lambda: revocations(stage, grant.id))
    said = json.dumps([r.model_dump() for r in stage.slack.responses(OMAR.id)])
    assert "holds no Salesforce access" not in said and "Nothing to do" not in said
    stage.org.release_all()

    await in_state(stage, grant.id, State.REVOKED)
    await stage.settle()
    user = stage.org.user_by_username("jane.doe@acme.com")
    assert user is not None and not user.is_active
    await stage.slack.wait_for(lambda: [t for t in dm_texts(stage, OMAR.id) if "removed" in t])


async def test_a_cancelled_retry_whose_create_landed_leaves_no_user(
    open_stage: StageOpener,
) -> None:
    stage = await open_stage(settings={"SALESFORCE_TIMEOUT": 1.0})
    try:
        request = await submit_request(stage, JANE.id)
        ask = await approval_message(stage, OMAR.id, request.id)
        # The create is applied after the bot gave up waiting: it schedules a retry.
        stage.org.faults.inject(FaultKind.TIMEOUT, path="/composite", hold=1.5)
        await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)

        async def retry_scheduled() -> AccessRequest | None:
            stored = await stage.runtime.deps.repo.get(request.id)
            ok = stored is not None and stored.state is State.APPROVED and stored.attempts == 1
            return stored if ok else None

        waiting = await until(retry_scheduled)
        await stage.settle()
        assert waiting.next_attempt_at is not None

        async def landed() -> object:
            return stage.org.user_by_username("jane.doe@acme.com")

        await until(landed)
        # Jane cancels before the retry: the grant ends in the database alone...
        assert (await stage.workspace.slash(JANE.id, "revoke")).status == 200
        modal = await stage.slack.wait_for(lambda: open_modal(stage, JANE.id, CallbackId.REVOKE))
        assert (await stage.workspace.submit(JANE.id, str(modal["id"]))).status == 200
        await in_state(stage, request.id, State.CANCELLED)

        # ...and the converger finds the user the lost create made, and takes it away.
        async def gone() -> bool:
            user = stage.org.user_by_username("jane.doe@acme.com")
            return user is not None and not user.is_active

        await until(gone)
        await stage.settle()
        managed = await stage.runtime.deps.repo.managed.get("jane.doe@acme.com")
        assert managed is not None and managed.origin is ManagedOrigin.CREATED
        assert managed.sf_user_id == stage.org.user_by_username("jane.doe@acme.com").id  # type: ignore[union-attr]
        assert not managed.dirty
    finally:
        await stage.close()


async def active_grant(stage: Stage, **choices: object) -> AccessRequest:
    """A request of Jane's, approved by Omar and provisioned."""
    request = await submit_request(stage, JANE.id, **choices)
    ask = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    done = await in_state(stage, request.id, State.ACTIVE)
    await stage.settle()
    return done


async def test_revoking_one_of_two_grants_removes_only_its_access(stage: Stage) -> None:
    permanent = await active_grant(
        stage, profile="Standard User", role=None, permission_sets=("Sales_Ops",), duration=None
    )
    short = await active_grant(
        stage,
        profile="Sales User",
        role="SalesRep",
        permission_sets=("Reports_Export",),
        duration="P1D",
    )
    assert permanent.sf_user_id == short.sf_user_id
    user_id = short.sf_user_id or ""
    assert stage.org.assignments_of(user_id) == ("Reports_Export", "Sales_Ops")
    # the newer grant's profile and role apply while it lasts, and the older grant's owners
    # read so under the message where they approved it
    now = stage.org.user(user_id)
    assert now is not None and now.profile_name == "Sales User"
    (asked,) = [
        m for m in stage.slack.dms(OMAR.id) if not m.is_reply and permanent.id in str(m.blocks)
    ]
    told_owner = [m.text for m in stage.slack.messages(asked.channel) if m.thread_ts == asked.ts]
    assert any("no longer apply" in t and short.id in t for t in told_owner), told_owner

    await owner_revokes(stage, OMAR.id, JANE.id, "The quarter is closed")
    await in_state(stage, short.id, State.REVOKED)
    await stage.settle()

    user = stage.org.user(user_id)
    assert user is not None and user.is_active
    assert stage.org.assignments_of(user_id) == ("Sales_Ops",)
    assert user.profile_name == "Standard User" and user.role_id is None
    kept = await stage.runtime.deps.repo.get(permanent.id)
    assert kept is not None and kept.state is State.ACTIVE
    # what she is told is what happened: one permission set went, the account stays
    told = [m for m in stage.slack.dms(JANE.id) if "removed" in m.text]
    shown = json.dumps(told[-1].blocks)
    assert "Export Reports" in shown or "Reports_Export" in shown
    assert "deactivated" not in shown


async def test_a_profile_deleted_after_the_request_makes_it_incomplete(stage: Stage) -> None:
    request = await submit_request(stage, JANE.id, profile="Standard User")  # catalog cached
    stage.org.delete_in_setup("Profile", stage.org.id_of("Profile", "Standard User"))
    ask = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    stuck = await in_state(stage, request.id, State.NEEDS_ADMIN)
    await stage.settle()
    assert (stuck.needs_admin_reason or "").startswith("incomplete")
    assert stage.org.user_by_username("jane.doe@acme.com") is None
    dm = await stage.slack.wait_for(
        lambda: next(
            (m for m in stage.slack.dms(ADA.id) if request.id in json.dumps(m.blocks)), None
        )
    )
    shown = json.dumps(dm.blocks)
    assert "The request is incomplete" in shown and "Standard User" in shown
    assert ActionId.COMPLETE_REQUEST in shown


async def test_a_profile_recreated_under_the_same_name_is_used_by_itself(stage: Stage) -> None:
    request = await submit_request(stage, JANE.id, profile="Standard User")  # catalog cached
    old = stage.org.id_of("Profile", "Standard User")
    license_id = stage.org.license("Salesforce").id  # type: ignore[union-attr]
    stage.org.delete_in_setup("Profile", old)
    new = stage.org.add_profile("Standard User", license_id)
    ask = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    await in_state(stage, request.id, State.ACTIVE)
    await stage.settle()
    user = stage.org.user_by_username("jane.doe@acme.com")
    assert user is not None and user.is_active and user.profile_id == new != old
