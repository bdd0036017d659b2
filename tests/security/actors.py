"""People, requests in every state, and forged clicks and submissions for authorisation tests.

Every request is made the way people make them (signed HTTP through the simulated Slack), each
for a newcomer of its own, so requests never share a Salesforce user or a seat.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.sandbox import slack_payloads as payloads
from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.slack_signing import Reply
from bot.sandbox.stage import (
    ADA,
    BOB,
    MALLORY,
    OMAR,
    PEOPLE,
    DemoPerson,
    Stage,
    demo_policy,
)
from handlers.ids import ActionId, BlockId
from handlers.policy import Application, Policy
from handlers.views.metadata import ModalRef
from handlers.views.request_options import duration_value
from storage.models import AccessRequest, AuditEntry, Kind, State
from tests.e2e.steps import (
    approval_message,
    assert_submitting,
    confirmed,
    fill_request,
    open_request_form,
)

KIM = DemoPerson("U0KIM", "kim", "Kim Park", "kim.park@acme.com")
FORM = "application/x-www-form-urlencoded"
_numbers = itertools.count(1)


@dataclass(frozen=True)
class AppPeople:
    """Who owns and administers one application."""

    name: str
    owner: str
    admin: str


SALES = AppPeople("sales", OMAR.id, ADA.id)
SERVICE = AppPeople("service", BOB.id, KIM.id)
STRANGER = MALLORY.id


def two_app_policy() -> Policy:
    """Sales (owners Omar and Olivia, admin Ada) and Service (owner Bob, admin Kim)."""
    service = Application(
        name="service",
        display_name="Service Cloud",
        owners=(BOB.id,),
        admins=(KIM.id,),
        licenses=("Salesforce",),
        profiles=("Support User",),
        roles=("SupportAgent",),
        permission_sets=("Knowledge_Author",),
        durations_days=(7, None),
    )
    return Policy(applications=(demo_policy().applications[0], service))


def roomy_org(seats: int = 1000) -> SimulatedOrg:
    """The demo org with enough Salesforce seats for many newcomers."""
    org = SimulatedOrg()
    org.seed_demo()
    org.admin_update("UserLicense", org.id_of("UserLicense", "Salesforce"), TotalLicenses=seats)
    return org


def two_app_options() -> dict[str, Any]:
    """``start_stage``'s options for a stage with both applications and Kim in the workspace."""
    return {"policy": two_app_policy(), "org": roomy_org(), "people": (*PEOPLE, KIM)}


def newcomer(stage: Stage) -> str:
    """A new member of the workspace, with a Slack account only."""
    n = next(_numbers)
    user_id = f"U0NEW{n:04d}"
    stage.slack.add_user(
        user_id, name=f"new{n}", real_name=f"Nova Newcomer{n}", email=f"new{n}@acme.com"
    )
    return user_id


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Wait until ``check`` holds (background work finishes on its own time)."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.02)


async def state_of(stage: Stage, request_id: str) -> State | None:
    """The request's state now."""
    found = await stage.runtime.deps.repo.get(request_id)
    return found.state if found else None


async def pending(stage: Stage, app: AppPeople = SALES) -> AccessRequest:
    """A newcomer's request waiting for the owners of ``app``."""
    subject = newcomer(stage)
    view_id = await open_request_form(stage, subject)
    if app is SERVICE:
        before = stage.slack.view(view_id)
        assert before is not None
        await stage.workspace.pick(subject, view_id, ActionId.REQUEST_APPLICATION, app.name)
        await stage.slack.wait_for(
            lambda: (stage.slack.view(view_id) or {}).get("hash") != before["hash"]
        )
        await fill_request(
            stage,
            subject,
            view_id,
            profile="Support User",
            role="SupportAgent",
            permission_sets=("Knowledge_Author",),
            duration="P7D",
        )
    else:
        await fill_request(stage, subject, view_id, duration="P7D")
    reply = await stage.workspace.submit(subject, view_id)
    assert_submitting(reply.status, reply.json_or_none())
    await confirmed(stage, view_id)
    found = await stage.runtime.deps.repo.find(subject_id=subject)
    assert len(found) == 1 and found[0].application == app.name
    return found[0]


async def approved(stage: Stage, request: AccessRequest, app: AppPeople) -> AccessRequest:
    """The owner approves ``request``; returns it once the bot has finished with it."""
    message = await approval_message(stage, app.owner, request.id)
    await stage.workspace.click(app.owner, message, ActionId.APPROVE)
    await until(lambda: _settled(stage, request.id))
    stored = await stage.runtime.deps.repo.get(request.id)
    assert stored is not None
    return stored


async def _settled(stage: Stage, request_id: str) -> bool:
    await stage.settle()
    return await state_of(stage, request_id) in (State.ACTIVE, State.NEEDS_ADMIN)


async def active(stage: Stage, app: AppPeople = SALES) -> AccessRequest:
    """A newcomer's grant, provisioned, ending in seven days."""
    grant = await approved(stage, await pending(stage, app), app)
    assert grant.state is State.ACTIVE, grant
    return grant


async def needs_admin(stage: Stage, app: AppPeople = SALES) -> AccessRequest:
    """A newcomer's approved grant whose username is taken in another org."""
    request = await pending(stage, app)
    stage.org.take_username_elsewhere(request.subject_email)
    grant = await approved(stage, request, app)
    assert grant.state is State.NEEDS_ADMIN, grant
    return grant


async def blocked(stage: Stage, app: AppPeople = SALES) -> AccessRequest:
    """A revocation Salesforce refused (default case owner); the user is frozen."""
    grant = await active(stage, app)
    assert grant.sf_user_id is not None
    stage.org.block_deactivation(
        grant.sf_user_id, "This user is the default owner of cases and cannot be deactivated."
    )
    reply = await stage.workspace.slash(app.admin, f"revoke <@{grant.subject_id}> leaving")
    assert reply.status == 200
    repo = stage.runtime.deps.repo

    async def is_blocked() -> bool:
        await stage.settle()
        found = await repo.find(grant_id=grant.id, kind=Kind.REVOKE)
        return bool(found) and found[0].state is State.BLOCKED

    await until(is_blocked)
    return (await repo.find(grant_id=grant.id, kind=Kind.REVOKE))[0]


def _dm_message(stage: Stage, user_id: str, action_id: str, value: str) -> PostedMessage:
    """A message in the bot's DM with ``user_id`` holding one button with any value."""
    return PostedMessage(
        channel=stage.slack.dm_channel(user_id),
        ts=f"{time.time():.6f}",
        text="…",
        blocks=[
            {
                "type": "actions",
                "block_id": "forged",
                "elements": [
                    {
                        "type": "button",
                        "action_id": action_id,
                        "value": value,
                        "text": {"type": "plain_text", "text": "Go"},
                    }
                ],
            }
        ],
        user=stage.slack.bot_user_id,
    )


async def press(stage: Stage, user_id: str, action_id: str, value: str) -> Reply:
    """Click a button whose value says anything (as a forged or mistaken click would)."""
    return await stage.workspace.click(
        user_id, _dm_message(stage, user_id, action_id, value), action_id
    )


def _text(action_id: str, text: str) -> dict[str, Any]:
    return {action_id: {"type": "plain_text_input", "value": text}}


def _select(action_id: str, value: str | None) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": value}, "value": value} if value else None
    return {action_id: {"type": "static_select", "selected_option": option}}


def completed_form(request: AccessRequest) -> dict[str, dict[str, Any]]:
    """The complete-request modal's state, filled in with the request's own choices."""
    return {
        BlockId.LICENSE: _select(ActionId.REQUEST_LICENSE, request.license),
        BlockId.PROFILE: _select(ActionId.REQUEST_PROFILE, request.profile),
        BlockId.ROLE: _select(ActionId.REQUEST_ROLE, request.role),
        BlockId.PERMISSION_SETS: {
            ActionId.REQUEST_PERMISSION_SETS: {
                "type": "multi_static_select",
                "selected_options": [
                    {"text": {"type": "plain_text", "text": p}, "value": p}
                    for p in request.permission_sets
                ],
            }
        },
        BlockId.DURATION: _select(
            ActionId.REQUEST_DURATION,
            duration_value(request.duration),
        ),
        BlockId.REASON: _text(ActionId.REQUEST_REASON, request.reason or "completed"),
    }


def modal_values(callback_id: str, request: AccessRequest) -> dict[str, dict[str, Any]]:
    """What a person would have typed into the modal ``callback_id`` about ``request``."""
    known: dict[str, dict[str, dict[str, Any]]] = {
        "deny_reason": {BlockId.DENY_REASON: _text(ActionId.DENY_REASON, "Not this quarter")},
        "revoke": {BlockId.REVOKE_REASON: _text(ActionId.REVOKE_REASON, "Leaving the team")},
        "alternative_username": {
            BlockId.ALTERNATIVE_USERNAME: _text(
                ActionId.ALTERNATIVE_USERNAME, f"{request.subject_email}.acme"
            )
        },
        "complete_request": completed_form(request),
    }
    # A modal added later: the request form's fields cover most of what it could read.
    return known.get(callback_id, completed_form(request))


async def submit_forged(
    stage: Stage, user_id: str, callback_id: str, request: AccessRequest
) -> Reply:
    """Submit a modal about ``request`` that the bot never opened for ``user_id``."""
    slack = stage.slack
    team = payloads.Team(slack.team_id, slack.team_domain, slack.app_id, slack.bot_user_id)
    user = slack.user(user_id)
    assert user is not None
    ref = ModalRef(
        application=request.application, subject_id=request.subject_id, request_id=request.id
    )
    view = {
        "id": f"VFORGED{next(_numbers):04d}",
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": ref.dump(),
        "hash": "1.forged",
        "blocks": [],
        "state": {"values": modal_values(callback_id, request)},
    }
    payload = payloads.view_submission(team, user, view, trigger_id=slack.issue_trigger(user_id))
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return await stage.workspace.post_raw(body, content_type=FORM)


def heard(stage: Stage, user_id: str) -> int:
    """How many replies, ephemeral messages and DMs ``user_id`` has had from the bot."""
    slack = stage.slack
    return len(slack.responses(user_id)) + len(slack.ephemerals(user_id)) + len(slack.dms(user_id))


async def changes_by(stage: Stage, actor: str, after_seq: int) -> list[AuditEntry]:
    """State changes recorded for ``actor`` after audit row ``after_seq``."""
    return [
        entry
        async for entry in stage.runtime.deps.repo.audit.entries()
        if entry.seq > after_seq and entry.actor == actor and entry.to_state is not None
    ]


async def last_seq(stage: Stage) -> int:
    """The newest audit row's number."""
    seq = 0
    async for entry in stage.runtime.deps.repo.audit.entries():
        seq = entry.seq
    return seq
