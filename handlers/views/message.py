"""A message for ``chat.postMessage``, ``chat.update`` or ``respond``: fallback text and blocks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from slack_sdk.models.blocks import Block

from handlers.views.text import FALLBACK_TEXT_MAX, clip

MESSAGE_BLOCKS_MAX = 50


class SlackMessage(BaseModel):
    """Plain-text fallback (notifications, screen readers) plus validated Block Kit dicts."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(min_length=1, max_length=FALLBACK_TEXT_MAX)
    blocks: list[dict[str, Any]] = Field(default_factory=list, max_length=MESSAGE_BLOCKS_MAX)


def message(text: str, blocks: Sequence[Block] = ()) -> SlackMessage:
    """Validate ``blocks`` (``to_dict`` checks Block Kit limits) and pair them with ``text``."""
    return SlackMessage(
        text=clip(text.strip(), FALLBACK_TEXT_MAX) or "Salesforce access",
        blocks=[block.to_dict() for block in blocks],
    )
