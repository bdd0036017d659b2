"""Break-glass: the requester's button and reason modal; the owners' Confirm and Revoke now."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.deps import Deps
from handlers.flows.break_glass import BreakGlassRefused, break_glass, offer_check, review
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.listeners.revoke import action_value, carry_out
from handlers.replies import tell_privately
from handlers.views.break_glass import (
    build_break_glass_modal,
    build_review_refused,
    parse_break_glass_reason,
)
from handlers.views.metadata import ModalRef


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen to the break-glass button, its modal and the review buttons."""

    async def on_break_glass_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        checked = await offer_check(
            deps.repo,
            deps.policy(),
            deps.user_groups,
            request_id=action_value(body),
            actor=str(body["user"]["id"]),
        )
        if isinstance(checked, BreakGlassRefused):
            await tell_privately(deps.client, body, respond, build_review_refused(checked.text))
            return
        modal = build_break_glass_modal(*checked)
        await client.views_open(trigger_id=body["trigger_id"], view=modal)

    async def on_break_glass_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        reason = parse_break_glass_reason(view.get("state", {}).get("values"))
        outcome = await break_glass(
            deps.repo,
            deps.policy(),
            deps.user_groups,
            request_id=ModalRef.load(view.get("private_metadata")).request_id or "",
            actor=str(body["user"]["id"]),
            reason=reason,
        )
        if isinstance(outcome, BreakGlassRefused):
            errors = {str(BlockId.BREAK_GLASS_REASON): outcome.text[:150]}
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        deps.worker.kick(outcome.request.id)
        await deps.break_glass.used(outcome.request)
        await deps.notifier.decided(outcome.request)

    async def on_review_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        confirm = body["actions"][0].get("action_id") == ActionId.BREAK_GLASS_CONFIRM
        outcome = await review(
            deps.repo,
            deps.break_glass_reviews,
            deps.policy(),
            request_id=action_value(body),
            actor=str(body["user"]["id"]),
            confirm=confirm,
        )
        if isinstance(outcome, BreakGlassRefused):
            await tell_privately(deps.client, body, respond, build_review_refused(outcome.text))
            return
        await deps.break_glass.reviewed(outcome)
        if outcome.revocation is not None:
            await carry_out(deps, outcome.revocation)

    app.action(ActionId.BREAK_GLASS)(on_break_glass_clicked)
    app.view(CallbackId.BREAK_GLASS)(on_break_glass_submitted)
    app.action(ActionId.BREAK_GLASS_CONFIRM)(on_review_clicked)
    app.action(ActionId.BREAK_GLASS_REVOKE)(on_review_clicked)
