"""Removing access: ``/salesforce revoke [@person] [reason]``, its modal, and "Revoke now"."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.command_text import ParsedCommand
from handlers.deps import Deps
from handlers.flows.escalate import application_of
from handlers.flows.outcomes import Refused
from handlers.flows.revoke_paths import find_revocable, revoke_grant
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.replies import tell_privately
from handlers.views.message import SlackMessage
from handlers.views.metadata import ModalRef
from handlers.views.revocation import build_cannot_revoke, build_revocation_started
from handlers.views.revoke_modal import (
    REVOKE_REASON_MAX,
    build_revoke_modal,
    parse_revoke_reason,
)
from storage.models import AccessRequest, Kind, State


def action_value(body: dict[str, Any]) -> str:
    """The clicked button's value (a request id), at most 100 characters."""
    actions = body.get("actions") or [{}]
    value = actions[0].get("value") if isinstance(actions[0], dict) else None
    return value[:100] if isinstance(value, str) else ""


def _refusal(deps: Deps, refused: Refused, *, subject_id: str, actor_id: str) -> SlackMessage:
    app = application_of(deps.policy(), refused.request) if refused.request else None
    subject = refused.request.subject_id if refused.request else subject_id
    return build_cannot_revoke(refused.reason, subject_id=subject, actor_id=actor_id, app=app)


async def carry_out(deps: Deps, opened: AccessRequest) -> None:
    """Start the Salesforce side of a new revocation, or show a cancelled grant as such."""
    if opened.kind is Kind.GRANT:
        await deps.notifier.decided(opened)  # cancelled: the approval messages lose their buttons
    elif opened.state is State.REQUESTED:
        deps.worker.kick(opened.id)


async def on_revoke_command(
    deps: Deps,
    parsed: ParsedCommand,
    user_id: str,
    respond: AsyncRespond,
    client: AsyncWebClient,
    body: dict[str, Any],
) -> None:
    """``revoke`` alone is my own access; with a person, theirs; a typed reason acts at once."""
    subject = parsed.target or user_id
    found = await find_revocable(deps.repo, deps.policy(), subject_id=subject, actor=user_id)
    if isinstance(found, Refused):
        refusal = _refusal(deps, found, subject_id=subject, actor_id=user_id)
        await tell_privately(client, body, respond, refusal)
        return
    app = application_of(deps.policy(), found)
    if not parsed.rest:
        modal = build_revoke_modal(app, subject_id=subject, grant=found)
        await client.views_open(trigger_id=str(body.get("trigger_id")), view=modal)
        return
    opened = await revoke_grant(
        deps.repo,
        deps.policy(),
        grant_id=found.id,
        actor=user_id,
        reason=parsed.rest[:REVOKE_REASON_MAX],
    )
    if isinstance(opened, Refused):
        refusal = _refusal(deps, opened, subject_id=subject, actor_id=user_id)
        await tell_privately(client, body, respond, refusal)
        return
    await tell_privately(
        client, body, respond, build_revocation_started(opened, app, actor_id=user_id)
    )
    await carry_out(deps, opened)


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen to the revoke modal and the "Revoke now" button (the command is in SUBCOMMANDS)."""

    async def on_revoke_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        ref = ModalRef.load(view.get("private_metadata"))
        reason = parse_revoke_reason(view.get("state", {}).get("values"))
        actor = body["user"]["id"]
        opened = await revoke_grant(
            deps.repo, deps.policy(), grant_id=ref.request_id or "", actor=actor, reason=reason
        )
        if isinstance(opened, Refused):
            text = _refusal(deps, opened, subject_id=ref.subject_id or "", actor_id=actor).text
            await ack(response_action="errors", errors={BlockId.REVOKE_REASON: text[:150]})
            return
        await ack()
        await carry_out(deps, opened)

    async def on_revoke_now_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        actor = body["user"]["id"]
        opened = await revoke_grant(
            deps.repo, deps.policy(), grant_id=action_value(body), actor=actor, reason=""
        )
        if isinstance(opened, Refused):
            await tell_privately(
                client, body, respond, _refusal(deps, opened, subject_id=actor, actor_id=actor)
            )
            return
        app = application_of(deps.policy(), opened)
        started = build_revocation_started(opened, app, actor_id=actor)
        await tell_privately(client, body, respond, started)
        await carry_out(deps, opened)

    app.view(CallbackId.REVOKE)(on_revoke_submitted)
    app.action(ActionId.REVOKE_NOW)(on_revoke_now_clicked)
