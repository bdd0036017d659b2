"""The admins' "Transfer to…" button, its modal, and "Retry failed rows".

Only the application's admins may start a transfer (others are told why not); the successor
must have an active Salesforce user, said beside the picker when they do not.
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.deps import Deps
from handlers.flows.escalate import application_of, check_admin_press
from handlers.flows.outcomes import Refused
from handlers.flows.transfer import choices_from_counts, successor_problem, wanted
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.listeners.approvals import tell_refusal
from handlers.listeners.revoke import action_value
from handlers.replies import tell_privately
from handlers.transfer_runs import retry_failed_rows, start_transfer
from handlers.views.approval import build_cannot_decide
from handlers.views.message import SlackMessage, message
from handlers.views.metadata import ModalRef
from handlers.views.transfer import build_transfer_modal, parse_transfer
from salesforce.errors import SalesforceError
from storage.models import AccessRequest, Kind, State

SALESFORCE_WAIT = 2.0  # a view submission is answered within 3 seconds


async def _transferable(
    deps: Deps, request_id: str, actor: str, button: str
) -> AccessRequest | Refused:
    return await check_admin_press(
        deps.repo,
        deps.policy(),
        request_id=request_id,
        actor=actor,
        button=button,
        # Blocked: from the escalation; done: from the offboarding summary (user deactivated).
        states=(State.BLOCKED, State.DONE),
        kind=Kind.REVOKE,
    )


async def _held_counts(deps: Deps, revocation: AccessRequest) -> dict[str, int]:
    """What Salesforce last said the user holds (counted when the deactivation was blocked)."""
    entries = await deps.repo.audit.for_request(revocation.id)
    for entry in reversed(entries):
        counted = entry.action in ("deactivation_blocked", "deactivated")
        held = entry.detail.get("holdings") if counted else None
        if isinstance(held, dict):
            return {str(k): int(v) for k, v in held.items()}
    return {}


def refusal_text(deps: Deps, refused: Refused) -> str:
    """Why the modal cannot go on, short enough for the error beside a field."""
    request = refused.request
    app = application_of(deps.policy(), request) if request else None
    text = build_cannot_decide(refused.reason, request=request, app=app, helpers=refused.helpers)
    return text.text[:150]


def _note(text: str) -> SlackMessage:
    return message(text)


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen to the transfer buttons and the transfer modal."""

    async def on_transfer_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        found = await _transferable(deps, action_value(body), body["user"]["id"], "transfer_to")
        if isinstance(found, Refused):
            await tell_refusal(deps, body, respond, found)
            return
        offered = choices_from_counts(await _held_counts(deps, found))
        if not offered:
            text = "Salesforce reported nothing this user holds that a transfer can move."
            await tell_privately(client, body, respond, _note(text))
            return
        container = body.get("container") or {}
        thread = None
        if found.state is State.DONE and container.get("message_ts"):
            thread = (str(container.get("channel_id") or ""), str(container["message_ts"]))
        modal = build_transfer_modal(found, offered, thread=thread)
        await client.views_open(trigger_id=str(body.get("trigger_id")), view=modal)

    async def on_transfer_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        ref = ModalRef.load(view.get("private_metadata"))
        actor = body["user"]["id"]
        successor, ticked = parse_transfer(view.get("state", {}).get("values"))
        found = await _transferable(deps, ref.request_id or "", actor, "transfer")
        if isinstance(found, Refused):
            text = refusal_text(deps, found)
            await ack(response_action="errors", errors={BlockId.TRANSFER_SUCCESSOR: text})
            return
        offered = [c.what for c in choices_from_counts(await _held_counts(deps, found))]
        objects = wanted(ticked, offered)
        if not objects:
            errors = {BlockId.TRANSFER_OBJECTS.value: "Tick at least one thing to move."}
            await ack(response_action="errors", errors=errors)
            return
        person = await deps.people.get(successor or "")
        username = f"{person.email.strip().lower()}{deps.config.provisioning.username_suffix}"
        try:
            user_id, problem = await asyncio.wait_for(
                successor_problem(
                    deps.gateway,
                    username if person.email else None,
                    leaver_id=found.sf_user_id or "",
                ),
                SALESFORCE_WAIT,
            )
        except (TimeoutError, SalesforceError):
            user_id, problem = None, "Salesforce did not answer in time; try again."
        if problem or user_id is None:
            errors = {BlockId.TRANSFER_SUCCESSOR.value: (problem or "No Salesforce user.")[:150]}
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        thread = (ref.channel, ref.message_ts) if ref.channel and ref.message_ts else None
        await start_transfer(
            deps,
            found,
            thread=thread,
            successor_id=user_id,
            successor_slack_id=successor,
            objects=objects,
            decided_by=actor,
        )

    async def on_retry_transfer_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        transfer = await deps.transfers.get(action_value(body))
        actor = body["user"]["id"]
        found = await _transferable(
            deps, transfer.revocation_id or "" if transfer else "", actor, "retry_transfer"
        )
        if isinstance(found, Refused):
            await tell_refusal(deps, body, respond, found)
            return
        if transfer is None or await retry_failed_rows(deps, transfer, actor=actor) is None:
            text = "That transfer is running already or has no refused rows to retry."
            await tell_privately(deps.client, body, respond, _note(text))

    app.action(ActionId.TRANSFER_TO)(on_transfer_clicked)
    app.action(ActionId.RETRY_TRANSFER)(on_retry_transfer_clicked)
    app.view(CallbackId.TRANSFER)(on_transfer_submitted)
