"""Who may press which button, submit which modal and run which command, for every role.

Two applications: Sales (owner Omar, admin Ada) and Service (owner Bob, admin Kim). Each row
is tried by the requester, the application's owner and admin, a stranger, and the owner and
admin of the other application. Everyone not allowed changes nothing and is told why; each
one allowed gets the effect. Buttons are pressed with the request id as their value, as if
the button were in the presser's own DM: a forged value is just another click.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.sandbox.slack_signing import Reply
from bot.sandbox.stage import Stage
from handlers.ids import ActionId, CallbackId
from handlers.views.catalog_values import (
    CatalogKind,
    CatalogPosition,
    ToggleRequest,
    toggle_value,
)
from storage.models import AccessRequest
from tests.e2e.stages import StageOpener
from tests.security.actors import (
    SALES,
    SERVICE,
    STRANGER,
    AppPeople,
    active,
    blocked,
    changes_by,
    heard,
    last_seq,
    needs_admin,
    pending,
    press,
    submit_forged,
    two_app_options,
    until,
)

ROLES = ("requester", "owner", "admin", "stranger", "other app owner", "other app admin")
REVOKERS = frozenset({"requester", "owner", "admin"})

Make = Callable[[Stage, AppPeople], Awaitable[AccessRequest]]
Act = Callable[[Stage, str, AccessRequest], Awaitable[Reply]]
Effect = Callable[[Stage, str, int, AccessRequest], Awaitable[bool]]


def person(role: str, app: AppPeople, request: AccessRequest) -> str:
    """The Slack user playing ``role`` for a request of ``app``."""
    other = SERVICE if app is SALES else SALES
    return {
        "requester": request.subject_id,
        "owner": app.owner,
        "admin": app.admin,
        "stranger": STRANGER,
        "other app owner": other.owner,
        "other app admin": other.admin,
    }[role]


def click(action_id: str) -> Act:
    async def act(stage: Stage, user_id: str, request: AccessRequest) -> Reply:
        return await press(stage, user_id, action_id, request.id)

    return act


def submit(callback_id: str) -> Act:
    async def act(stage: Stage, user_id: str, request: AccessRequest) -> Reply:
        return await submit_forged(stage, user_id, callback_id, request)

    return act


def command(text: str) -> Act:
    async def act(stage: Stage, user_id: str, request: AccessRequest) -> Reply:
        return await stage.workspace.slash(user_id, text.format(subject=request.subject_id))

    return act


def toggle(stage_name: str = "Support User") -> Act:
    async def act(stage: Stage, user_id: str, request: AccessRequest) -> Reply:
        position = CatalogPosition(application=request.application, kind=CatalogKind.PROFILES)
        value = toggle_value(ToggleRequest(position=position, name=stage_name, requestable=False))
        return await press(stage, user_id, ActionId.TOGGLE_REQUESTABLE, value)

    return act


async def changed_state(stage: Stage, actor: str, seq: int, request: AccessRequest) -> bool:
    return bool(await changes_by(stage, actor, seq))


def opened(callback_id: str) -> Effect:
    async def effect(stage: Stage, actor: str, seq: int, request: AccessRequest) -> bool:
        view = stage.slack.open_view(actor)
        return view is not None and view.get("callback_id") == callback_id

    return effect


async def stopped_offering(stage: Stage, actor: str, seq: int, request: AccessRequest) -> bool:
    app = stage.runtime.deps.policy().application(request.application)
    return app is not None and "Support User" not in app.profiles


async def blocked_then_cleared(stage: Stage, app: AppPeople) -> AccessRequest:
    """A blocked revocation whose user an admin then deactivated by hand in Salesforce."""
    revocation = await blocked(stage, app)
    grant = await stage.runtime.deps.repo.get(revocation.grant_id or "")
    assert grant is not None and grant.sf_user_id is not None
    stage.org.clear_block(grant.sf_user_id)
    stage.org.admin_update("User", grant.sf_user_id, IsActive=False)
    return revocation


@dataclass(frozen=True)
class Row:
    """One button, modal or command, the request it needs, and who may use it."""

    name: str
    make: Make
    act: Act
    allowed: frozenset[str]
    effect: Effect = changed_state


ROWS = (
    Row("Approve", pending, click(ActionId.APPROVE), frozenset({"owner"})),
    Row(
        "Deny", pending, click(ActionId.DENY), frozenset({"owner"}), opened(CallbackId.DENY_REASON)
    ),
    Row("deny modal", pending, submit(CallbackId.DENY_REASON), frozenset({"owner"})),
    Row("Revoke now", active, click(ActionId.REVOKE_NOW), REVOKERS),
    Row("revoke modal", active, submit(CallbackId.REVOKE), REVOKERS),
    Row("revoke command", active, command("revoke <@{subject}> leaving the team"), REVOKERS),
    Row("Extend", active, click(ActionId.EXTEND), frozenset({"requester"})),
    Row("Retry", needs_admin, click(ActionId.RETRY), frozenset({"admin"})),
    Row(
        "Complete request",
        needs_admin,
        click(ActionId.COMPLETE_REQUEST),
        frozenset({"admin"}),
        opened(CallbackId.COMPLETE_REQUEST),
    ),
    Row("complete modal", needs_admin, submit(CallbackId.COMPLETE_REQUEST), frozenset({"admin"})),
    Row(
        "Use another username",
        needs_admin,
        click(ActionId.USE_OTHER_USERNAME),
        frozenset({"admin"}),
        opened(CallbackId.ALTERNATIVE_USERNAME),
    ),
    Row(
        "username modal", needs_admin, submit(CallbackId.ALTERNATIVE_USERNAME), frozenset({"admin"})
    ),
    Row("Retry deactivation", blocked, click(ActionId.RETRY_DEACTIVATION), frozenset({"admin"})),
    Row(
        "Resolved in Salesforce",
        blocked_then_cleared,
        click(ActionId.RESOLVED_IN_SALESFORCE),
        frozenset({"admin"}),
    ),
    Row(
        "Stop offering a profile",
        pending,
        toggle(),
        frozenset({"admin"}),
        stopped_offering,
    ),
)
# The other application's people are checked on every row; these rows run on Service too.
ON_SERVICE = ("Approve", "Deny", "Revoke now", "Retry", "Retry deactivation")
CASES = [pytest.param(row, SALES, id=f"{row.name} (sales)") for row in ROWS] + [
    pytest.param(row, SERVICE, id=f"{row.name} (service)") for row in ROWS if row.name in ON_SERVICE
]


async def snapshot(stage: Stage) -> tuple[Any, ...]:
    """The requests and the org's users as they stand."""
    requests = await stage.runtime.deps.repo.find(limit=10_000)
    users = [(u.id, u.is_active, u.profile_id, u.frozen) for u in stage.org.users()]
    policy = stage.runtime.deps.policy()
    return [(r.id, r.state, r.version) for r in requests], users, policy


async def refused(stage: Stage, row: Row, role: str, app: AppPeople, target: AccessRequest) -> None:
    who = person(role, app, target)
    seq, before, told = await last_seq(stage), await snapshot(stage), heard(stage, who)
    opens = len(stage.slack.calls("views.open"))
    reply = await row.act(stage, who, target)
    assert reply.status == 200, (row.name, role, reply.body)
    answer = reply.json_or_none()
    shown_in_modal = isinstance(answer, dict) and answer.get("response_action") == "errors"
    if not shown_in_modal:
        # told why, in a reply only they see or a DM
        await stage.slack.wait_for(lambda: heard(stage, who) > told)
    await stage.settle()
    assert await snapshot(stage) == before, (row.name, role, "changed something")
    assert not await changes_by(stage, who, seq), (row.name, role)
    assert len(stage.slack.calls("views.open")) == opens, (row.name, role, "opened a modal")


async def allowed(stage: Stage, row: Row, role: str, app: AppPeople, target: AccessRequest) -> None:
    who = person(role, app, target)
    seq = await last_seq(stage)
    reply = await row.act(stage, who, target)
    assert reply.status == 200, (row.name, role, reply.body)
    answer = reply.json_or_none()
    assert not (isinstance(answer, dict) and answer.get("errors")), (row.name, role, answer)

    async def took_effect() -> bool:
        await stage.settle()
        return await row.effect(stage, who, seq, target)

    await until(took_effect)


@pytest.mark.parametrize(("row", "app"), CASES)
async def test_who_may_use_each_button_modal_and_command(
    open_stage: StageOpener, row: Row, app: AppPeople
) -> None:
    stage = await open_stage(**two_app_options())
    try:
        target = await row.make(stage, app)
        for role in ROLES:
            if role not in row.allowed:
                await refused(stage, row, role, app, target)
        for n, role in enumerate(sorted(row.allowed)):
            # each allowed use changes the request, so each gets a fresh one
            await allowed(stage, row, role, app, target if n == 0 else await row.make(stage, app))
    finally:
        await stage.close()
