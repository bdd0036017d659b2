"""Reading the text typed after the slash command."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")


class Subcommand(StrEnum):
    """What ``/salesforce <subcommand>`` asks for."""

    REQUEST = "request"
    STATUS = "status"
    REVOKE = "revoke"
    PENDING = "pending"
    HELP = "help"


class ParsedCommand(BaseModel):
    """The subcommand, the person it names (if any) and the rest of the text."""

    model_config = ConfigDict(frozen=True)

    subcommand: Subcommand | None
    target: str | None = None
    rest: str = ""
    word: str = ""


def parse_command(text: str) -> ParsedCommand:
    """``""`` is a request; an unknown word gives ``subcommand=None`` (the help text)."""
    text = (text or "").strip()[:4000]
    if not text:
        return ParsedCommand(subcommand=Subcommand.REQUEST)
    word, _, rest = text.partition(" ")
    try:
        subcommand: Subcommand | None = Subcommand(word.lower())
    except ValueError:
        if _MENTION.fullmatch(word):
            subcommand, rest = Subcommand.REQUEST, text
        else:
            return ParsedCommand(subcommand=None, word=word[:50])
    mention = _MENTION.search(rest)
    target = mention.group(1) if mention else None
    remainder = _MENTION.sub("", rest, count=1).strip() if mention else rest.strip()
    return ParsedCommand(subcommand=subcommand, target=target, rest=remainder, word=word[:50])
