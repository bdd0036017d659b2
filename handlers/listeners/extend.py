"""The "Extend" button (the "ends soon" DM, the Home tab): ask the owners for more time."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.deps import Deps
from handlers.flows.extend import request_extension
from handlers.flows.outcomes import Refused
from handlers.ids import ActionId
from handlers.listeners.revoke import action_value
from handlers.replies import tell_privately
from handlers.views.approval import build_cannot_decide
from handlers.views.lifecycle import build_extension_asked


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen to Extend."""

    async def on_extend_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        policy = deps.policy()
        outcome = await request_extension(
            deps.repo, policy, grant_id=action_value(body), actor=body["user"]["id"]
        )
        if isinstance(outcome, Refused):
            grant = outcome.request
            application = policy.application(grant.application) if grant else None
            refusal = build_cannot_decide(outcome.reason, request=grant, app=application)
            await tell_privately(client, body, respond, refusal)
            return
        extension = outcome.request
        application = policy.application(extension.application) or policy.default_application
        asked = build_extension_asked(extension, application, created=outcome.created)
        await tell_privately(client, body, respond, asked)
        if outcome.created:
            await deps.notifier.submitted(extension)

    app.action(ActionId.EXTEND)(on_extend_clicked)
