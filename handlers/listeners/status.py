"""`/salesforce status` (my requests and grants) and `pending` (what waits for me)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.command_text import ParsedCommand
from handlers.deps import Deps
from handlers.listeners.home import escalated_to, requests_of, waiting_for
from handlers.views.message import SlackMessage
from handlers.views.status import build_pending, build_status


async def _answer(respond: AsyncRespond, reply: SlackMessage) -> None:
    await respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral")


async def on_status(
    deps: Deps,
    parsed: ParsedCommand,
    user_id: str,
    respond: AsyncRespond,
    client: AsyncWebClient,
    body: dict[str, Any],
) -> None:
    """The typist's live access (Extend, Revoke) and their requests, only to them."""
    mine = await requests_of(deps.repo, user_id)
    reply = build_status(
        mine,
        policy=deps.policy(),
        now=deps.clock(),
        command=deps.config.command,
        labels=await deps.catalog.labels(),
    )
    await _answer(respond, reply)


async def on_pending(
    deps: Deps,
    parsed: ParsedCommand,
    user_id: str,
    respond: AsyncRespond,
    client: AsyncWebClient,
    body: dict[str, Any],
) -> None:
    """Requests waiting for the typist's decision and, for admins, the ones needing them."""
    policy = deps.policy()
    reply = build_pending(
        await waiting_for(deps.repo, policy, user_id, deps.user_groups),
        policy=policy,
        now=deps.clock(),
        escalations=await escalated_to(deps.repo, policy, user_id),
        labels=await deps.catalog.labels(),
    )
    await _answer(respond, reply)
