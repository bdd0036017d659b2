"""Request bodies exactly as Slack sends them to an app: commands, interactions and events."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.sandbox.slack_blocks import STATE_KEYS, Located
from bot.sandbox.slack_records import PostedMessage, SlackUser

JsonDict = dict[str, Any]
# Slack still sends the deprecated verification token; Bolt ignores it.
VERIFICATION_TOKEN = "sandbox-verification"  # noqa: S105 - not a secret


@dataclass(frozen=True)
class Team:
    """The workspace and app that every payload names."""

    team_id: str
    domain: str
    app_id: str
    bot_user_id: str

    def user_ref(self, user: SlackUser) -> JsonDict:
        """The ``user`` object of interaction payloads."""
        return {"id": user.id, "username": user.name, "name": user.name, "team_id": self.team_id}

    def common(self, kind: str, user: SlackUser) -> JsonDict:
        """Fields every interaction payload starts with."""
        return {
            "type": kind,
            "user": self.user_ref(user),
            "api_app_id": self.app_id,
            "token": VERIFICATION_TOKEN,
            "team": {"id": self.team_id, "domain": self.domain},
            "enterprise": None,
            "is_enterprise_install": False,
        }


def action_ts() -> str:
    """An action_ts as Slack stamps it."""
    return f"{time.time():.6f}"


def slash_form(
    team: Team,
    user: SlackUser,
    *,
    command: str,
    text: str,
    channel_id: str,
    channel_name: str,
    response_url: str,
    trigger_id: str,
) -> str:
    """The form body of a slash command, fields in Slack's order."""
    return urlencode(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team.team_id,
            "team_domain": team.domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user.id,
            "user_name": user.name,
            "command": command,
            "text": text,
            "api_app_id": team.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def action_of(loc: Located, entry: JsonDict | None) -> JsonDict:
    """``actions[0]`` for an element the person used; ``entry`` is its new state, if it has one."""
    element = loc.element
    action: JsonDict = {
        "type": loc.kind,
        "action_id": loc.action_id,
        "block_id": loc.block_id,
    }
    if loc.kind == "button":
        action["text"] = element.get("text")
        if "value" in element:
            action["value"] = element["value"]
        if "style" in element:
            action["style"] = element["style"]
    elif entry is not None:
        action |= {k: v for k, v in entry.items() if k != "type"}
    if "placeholder" in element:
        action["placeholder"] = element["placeholder"]
    action["action_ts"] = action_ts()
    return action


def message_actions(
    team: Team,
    user: SlackUser,
    message: PostedMessage,
    action: JsonDict,
    *,
    channel_name: str,
    trigger_id: str,
    response_url: str,
) -> JsonDict:
    """A block_actions payload from a message (ephemeral ones carry no ``message``)."""
    payload = team.common("block_actions", user)
    payload |= {
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": message.is_ephemeral,
        },
        "trigger_id": trigger_id,
        "channel": {"id": message.channel, "name": channel_name},
    }
    if not message.is_ephemeral:
        payload["message"] = message.to_api(team.team_id)
    payload |= {"state": {"values": {}}, "response_url": response_url, "actions": [action]}
    return payload


def view_actions(
    team: Team, user: SlackUser, view: JsonDict, action: JsonDict, *, trigger_id: str
) -> JsonDict:
    """A block_actions payload from inside a modal or Home tab, with the whole view."""
    payload = team.common("block_actions", user)
    payload |= {
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": trigger_id,
        "view": view,
        "actions": [action],
    }
    return payload


def view_submission(team: Team, user: SlackUser, view: JsonDict, *, trigger_id: str) -> JsonDict:
    """A view_submission payload."""
    payload = team.common("view_submission", user)
    payload |= {"trigger_id": trigger_id, "view": view, "response_urls": []}
    return payload


def view_closed(team: Team, user: SlackUser, view: JsonDict) -> JsonDict:
    """A view_closed payload (sent when the view asked for ``notify_on_close``)."""
    payload = team.common("view_closed", user)
    payload |= {"view": view, "is_cleared": False}
    return payload


def block_suggestion(
    team: Team, user: SlackUser, view: JsonDict, loc: Located, query: str
) -> JsonDict:
    """A block_suggestion payload: an external select asking for options."""
    payload = team.common("block_suggestion", user)
    payload |= {
        "container": {"type": "view", "view_id": view["id"]},
        "action_id": loc.action_id,
        "block_id": loc.block_id,
        "value": query,
        "view": view,
    }
    return payload


def event_envelope(team: Team, event: JsonDict, *, event_id: str) -> JsonDict:
    """An Events API ``event_callback`` body around ``event``."""
    now = time.time()
    inner = dict(event)
    inner.setdefault("event_ts", f"{now:.6f}")
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team.team_id,
        "api_app_id": team.app_id,
        "event": inner,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(now),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team.team_id,
                "user_id": team.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def holds_value(loc: Located) -> bool:
    """Whether the element keeps a value in ``view.state``."""
    return loc.kind in STATE_KEYS
