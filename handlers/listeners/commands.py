"""The slash command: ``request`` (default), ``help`` and the others, routed by the first word."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.command_text import ParsedCommand, Subcommand, parse_command
from handlers.deps import Deps
from handlers.listeners.request_modal import open_request_modal
from handlers.listeners.revoke import on_revoke_command
from handlers.listeners.status import on_pending, on_status
from handlers.views.help import build_help, build_unknown_command


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen to the configured slash command."""

    async def on_command(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        parsed = parse_command(str(body.get("text") or ""))
        user_id = str(body.get("user_id") or "")
        if parsed.subcommand is Subcommand.REQUEST:
            await ack()
            await open_request_modal(
                deps,
                client,
                trigger_id=str(body.get("trigger_id")),
                requester=user_id,
                subject=parsed.target,
            )
            return
        handler = SUBCOMMANDS.get(parsed.subcommand) if parsed.subcommand else None
        if handler is None:
            # help, and anything unknown: the list of subcommands, only to the one who typed it
            help_message = (
                build_help(command=deps.config.command)
                if parsed.subcommand
                else build_unknown_command(parsed.word, command=deps.config.command)
            )
            await ack(text=help_message.text, blocks=help_message.blocks)
            return
        await ack()
        await handler(deps, parsed, user_id, respond, client, body)

    app.command(deps.config.command)(on_command)


Handler = Callable[
    [Deps, ParsedCommand, str, AsyncRespond, AsyncWebClient, dict[str, Any]], Awaitable[None]
]
SUBCOMMANDS: dict[Subcommand, Handler] = {
    Subcommand.REVOKE: on_revoke_command,
    Subcommand.STATUS: on_status,
    Subcommand.PENDING: on_pending,
}
