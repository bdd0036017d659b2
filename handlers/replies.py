"""Answers only the person who clicked or typed should see, wherever they clicked."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.views.message import SlackMessage

log = logging.getLogger(__name__)


async def tell_privately(
    client: AsyncWebClient, body: dict[str, Any], respond: AsyncRespond, message: SlackMessage
) -> None:
    """Ephemeral through response_url for messages and commands; a DM for Home tab and modals.

    Clicks in the Home tab or a modal carry no response_url, so ``respond`` cannot answer them.
    """
    if body.get("response_url") or body.get("response_urls"):
        await respond(
            text=message.text,
            blocks=message.blocks,
            response_type="ephemeral",
            replace_original=False,
        )
        return
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    if not isinstance(user, str):
        return
    try:
        await client.chat_postMessage(channel=user, text=message.text, blocks=message.blocks)
    except SlackApiError as error:
        log.warning("could not answer %s: %s", user, error.response.get("error"))
