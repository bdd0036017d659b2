"""An owner's list of requests: Approve all, and the details of one line.

Approve and Deny on a line are the single approval message's buttons (handlers.listeners
.approvals): one decide path, whichever message the click came from.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.deps import Deps
from handlers.flows.decide import decide
from handlers.flows.outcomes import RefusalReason, Refused
from handlers.ids import ActionId
from handlers.listeners.approvals import tell_refusal
from handlers.replies import tell_privately
from handlers.views.cohort import build_cohort_details, build_not_all_approved
from storage.models import State


def _action_value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    value = actions[0].get("value") if isinstance(actions[0], dict) else None
    return value[:100] if isinstance(value, str) else ""


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen to the cohort message's own buttons."""

    async def on_approve_all_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        actor = body["user"]["id"]
        refused: list[Refused] = []
        for request_id in await deps.notifier.cohort_members(_action_value(body)):
            request = await deps.repo.get(request_id)
            if request is None or request.state is not State.PENDING_APPROVAL:
                continue  # decided already: the list shows how
            outcome = await decide(
                deps.repo,
                deps.policy(),
                request_id=request_id,
                actor=actor,
                approve=True,
                start=deps.worker.provision_start,
            )
            if isinstance(outcome, Refused):
                refused.append(outcome)
                continue
            deps.worker.approved(outcome)
            await deps.notifier.approved(outcome.request)
        if refused:
            reasons = [r.reason for r in refused]
            if len(set(reasons)) == 1 and reasons[0] is RefusalReason.NOT_OWNER:
                await tell_refusal(deps, body, respond, refused[0])
                return
            await tell_privately(deps.client, body, respond, build_not_all_approved(refused))

    async def on_details_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        request = await deps.repo.get(_action_value(body))
        if request is None:
            await tell_refusal(deps, body, respond, Refused(reason=RefusalReason.NOT_FOUND))
            return
        policy = deps.policy()
        application = policy.application(request.application) or policy.default_application
        shown = (await deps.catalog.labels()).shown(request)
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=build_cohort_details(request, application, shown),
        )

    app.action(ActionId.APPROVE_ALL)(on_approve_all_clicked)
    app.action(ActionId.COHORT_DETAILS)(on_details_clicked)
