"""What ``/salesforce help`` answers, and the answer to a subcommand it does not know."""

from __future__ import annotations

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from handlers.views.message import SlackMessage, message
from handlers.views.text import code

COMMAND = "/salesforce"

SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("request", "ask for Salesforce access for yourself"),
    ("request @person", "ask on behalf of someone else"),
    ("status", "your requests and the access you hold"),
    ("revoke", "give up your access"),
    ("revoke @person", "remove someone's access (owners and admins)"),
    ("pending", "requests waiting for your decision or your help"),
    ("help", "this message"),
)


def build_help(*, command: str = COMMAND) -> SlackMessage:
    """The list of subcommands, as an ephemeral message."""
    lines = "\n".join(f"• `{command} {sub}`: {what}" for sub, what in SUBCOMMANDS)
    blocks = [
        SectionBlock(text=f"*Salesforce access from Slack*\n{lines}"),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Owners approve in Slack; the bot sets up and removes the Salesforce "
                    "user, and tells the admins when a person has to step in."
                )
            ]
        ),
    ]
    text = f"{command} commands: " + ", ".join(sub for sub, _ in SUBCOMMANDS)
    return message(text, blocks)


def build_unknown_command(text: str, *, command: str = COMMAND) -> SlackMessage:
    """``I don't know <text>`` followed by the help."""
    first = text.strip().split(maxsplit=1)[0] if text.strip() else ""
    intro = f"I don't know {code(first, 60)}. " if first else ""
    help_message = build_help(command=command)
    note = SectionBlock(text=f"{intro}Here is what I can do:").to_dict()
    return SlackMessage(text=intro + help_message.text, blocks=[note, *help_message.blocks])
