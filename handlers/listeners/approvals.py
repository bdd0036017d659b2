"""Approve and Deny on the owners' approval message, and the deny-reason modal."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.deps import Deps
from handlers.flows.approvals import Voted, approve_or_deny, check_approver
from handlers.flows.outcomes import Refused
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.replies import tell_privately
from handlers.views.approval import build_already_approved, build_cannot_decide
from handlers.views.approval_progress import progress_text
from handlers.views.deny_modal import build_deny_modal, deny_reason_errors, parse_deny_reason
from handlers.views.metadata import ModalRef


def _action_value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    value = actions[0].get("value") if isinstance(actions[0], dict) else None
    return value[:100] if isinstance(value, str) else ""


async def tell_refusal(
    deps: Deps, body: dict[str, Any], respond: AsyncRespond, refused: Refused
) -> None:
    """Answer a click that changed nothing, only to the clicker, saying why."""
    request = refused.request
    app = deps.policy().application(request.application) if request else None
    text = build_cannot_decide(
        refused.reason,
        request=request,
        app=app,
        decided_by=refused.decided_by,
        helpers=refused.helpers,
    )
    await tell_privately(deps.client, body, respond, text)


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen to the decision buttons and the deny modal."""

    async def on_approve_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        outcome = await approve_or_deny(
            deps.repo,
            deps.policy(),
            deps.user_groups,
            request_id=_action_value(body),
            actor=body["user"]["id"],
            approve=True,
            start=deps.worker.provision_start,
        )
        if isinstance(outcome, Refused):
            await tell_refusal(deps, body, respond, outcome)
            return
        if isinstance(outcome, Voted):
            if outcome.repeated:
                text = build_already_approved(progress_text(outcome.progress))
                await tell_privately(deps.client, body, respond, text)
            else:
                await deps.notifier.voted(outcome)
            return
        # Provisioning starts now, not after Slack has taken the message updates: under
        # Slack's rate limits those can wait seconds. The requester's "approved" DM still
        # comes first: approved() takes its turn in the conversation before this yields.
        deps.worker.approved(outcome)
        await deps.notifier.approved(outcome.request)

    async def on_deny_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        request = await deps.repo.get(_action_value(body))
        refused = await check_approver(deps.policy(), deps.user_groups, request, body["user"]["id"])
        if refused is not None:
            await tell_refusal(deps, body, respond, refused)
            return
        assert request is not None
        application = deps.policy().application(request.application)
        assert application is not None
        await client.views_open(
            trigger_id=body["trigger_id"], view=build_deny_modal(request, application)
        )

    async def on_deny_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = parse_deny_reason(view.get("state", {}).get("values"))
        errors = deny_reason_errors(reason)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        ref = ModalRef.load(view.get("private_metadata"))
        outcome = await approve_or_deny(
            deps.repo,
            deps.policy(),
            deps.user_groups,
            request_id=ref.request_id or "",
            actor=body["user"]["id"],
            approve=False,
            note=reason,
        )
        if isinstance(outcome, Refused):
            request = outcome.request
            application = deps.policy().application(request.application) if request else None
            text = build_cannot_decide(
                outcome.reason, request=request, app=application, decided_by=outcome.decided_by
            ).text
            await ack(response_action="errors", errors={BlockId.DENY_REASON: text[:150]})
            return
        await ack()
        await deps.notifier.decided(outcome.request)  # a deny: never merely counted

    app.action(ActionId.APPROVE)(on_approve_clicked)
    app.action(ActionId.DENY)(on_deny_clicked)
    app.view(CallbackId.DENY_REASON)(on_deny_submitted)
