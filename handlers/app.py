"""The Bolt app: every listener module registered on one AsyncApp."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.response import BoltResponse

from handlers.deps import Deps
from handlers.listeners import approvals, commands, request_modal

log = logging.getLogger(__name__)

FAILURE_TEXT = (
    "Sorry, something went wrong on my side and nothing was changed. "
    "Please try again; if it keeps failing, tell your Salesforce admin."
)


def build_app(deps: Deps, *, signing_secret: str | None, socket_mode: bool = False) -> AsyncApp:
    """An AsyncApp with signature checks (HTTP mode) and every listener registered."""
    app = AsyncApp(
        client=deps.client,
        signing_secret=signing_secret or "",
        request_verification_enabled=not socket_mode,
        ignoring_self_events_enabled=True,
        name="accessbot",
    )
    for module in (commands, request_modal, approvals):
        module.register(app, deps)

    async def on_error(
        error: Exception,
        body: dict[str, Any],
        request: AsyncBoltRequest,
        response: BoltResponse | None,
    ) -> None:
        log.error("listener failed: %s", type(error).__name__, exc_info=error)
        await _tell_user_of_failure(deps, body)

    app.error(on_error)
    return app


async def _tell_user_of_failure(deps: Deps, body: dict[str, Any]) -> None:
    """Best effort: the person who clicked or typed hears that it failed."""
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    if not isinstance(user, str):
        return
    try:
        if isinstance(channel, str):
            await deps.client.chat_postEphemeral(channel=channel, user=user, text=FAILURE_TEXT)
        else:
            await deps.client.chat_postMessage(channel=user, text=FAILURE_TEXT)
    except Exception:  # the failure is already logged; this is only a courtesy
        log.warning("could not tell %s about the failure", user)
