"""The Web API methods the simulator answers, each turning parsed arguments into Slack's reply."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.sandbox.slack_blocks import MAX_MESSAGE_BLOCKS, assign_ids, block_problems
from bot.sandbox.slack_records import PostedMessage, SlackUser
from bot.sandbox.slack_state import JsonDict, SlackFailure, SlackState
from bot.sandbox.slack_views import open_modal, publish_home, push_modal, update_view

Method = Callable[[SlackState, JsonDict], JsonDict]


def _str(args: JsonDict, key: str) -> str | None:
    value = args.get(key)
    return None if value is None or value == "" else str(value)


def _flag(args: JsonDict, key: str) -> bool:
    return args.get(key) in (True, "true", "1", 1, "True")


def _json(args: JsonDict, key: str) -> Any:
    """A structured argument; form and query bodies carry it as a JSON string."""
    value = args.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise SlackFailure("invalid_arguments") from exc
    return value


def user_object(state: SlackState, user: SlackUser, *, include_locale: bool) -> JsonDict:
    """A user as users.info shows it."""
    try:
        zone = ZoneInfo(user.tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    now = datetime.now(zone)
    offset = now.utcoffset()
    profile: JsonDict = {
        "real_name": user.real_name,
        "display_name": user.display_name,
        "real_name_normalized": user.real_name,
        "display_name_normalized": user.display_name,
        "team": state.team_id,
    }
    if user.email:
        profile["email"] = user.email
    if user.is_bot:
        profile["bot_id"] = state.bot_id
    found: JsonDict = {
        "id": user.id,
        "team_id": state.team_id,
        "name": user.name,
        "deleted": user.deleted,
        "real_name": user.real_name,
        "tz": user.tz,
        "tz_label": now.tzname() or user.tz,
        "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_restricted": user.is_restricted,
        "is_ultra_restricted": user.is_ultra_restricted,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": 1_700_000_000,
    }
    if include_locale:
        found["locale"] = user.locale
    return found


def auth_test(state: SlackState, args: JsonDict) -> JsonDict:
    """auth.test: who the bot token belongs to."""
    return {
        "url": f"https://{state.team_domain}.slack.com/",
        "team": state.team_domain,
        "user": state.user(state.bot_user_id).name,
        "team_id": state.team_id,
        "user_id": state.bot_user_id,
        "bot_id": state.bot_id,
        "is_enterprise_install": False,
    }


def users_info(state: SlackState, args: JsonDict) -> JsonDict:
    """users.info."""
    user = state.user(_str(args, "user") or "")
    return {"user": user_object(state, user, include_locale=_flag(args, "include_locale"))}


def users_lookup_by_email(state: SlackState, args: JsonDict) -> JsonDict:
    """users.lookupByEmail (case-insensitive, like Slack)."""
    email = (_str(args, "email") or "").lower()
    for user in state.users.values():
        if user.email and user.email.lower() == email:
            return {"user": user_object(state, user, include_locale=False)}
    raise SlackFailure("users_not_found")


USERS_LIST_MAX = 1000  # Slack serves at most this many members per page


def users_list(state: SlackState, args: JsonDict) -> JsonDict:
    """users.list: every member (deactivated ones too, ``deleted: true``), a page at a time.

    The cursor is opaque (base64 of ``user:<id>``, as Slack's are); past the last page
    ``next_cursor`` is the empty string. Without ``limit`` the whole workspace comes at once.
    """
    raw_limit = _str(args, "limit")
    try:
        limit = int(raw_limit) if raw_limit is not None else 0
    except ValueError as exc:
        raise SlackFailure("invalid_limit") from exc
    if limit < 0:
        raise SlackFailure("invalid_limit")
    limit = min(limit, USERS_LIST_MAX) if limit else len(state.users) or 1
    members = sorted(state.users.values(), key=lambda u: u.id)
    start = 0
    cursor = _str(args, "cursor")
    if cursor is not None:
        after = _cursor_user(cursor)
        start = next((i for i, u in enumerate(members) if u.id > after), len(members))
    page = members[start : start + limit]
    more = start + limit < len(members)
    next_cursor = _user_cursor(page[-1].id) if more and page else ""
    return {
        "members": [
            user_object(state, u, include_locale=_flag(args, "include_locale")) for u in page
        ],
        "cache_ts": int(time.time()),
        "response_metadata": {"next_cursor": next_cursor},
    }


def usergroups_users_list(state: SlackState, args: JsonDict) -> JsonDict:
    """usergroups.users.list: ``{"users": [member ids]}``; ``no_such_subteam`` for an unknown
    group, ``invalid_arguments`` without one (as Slack answers)."""
    group = _str(args, "usergroup")
    if not group:
        raise SlackFailure("invalid_arguments")
    members = state.usergroups.get(group)
    if members is None:
        raise SlackFailure("no_such_subteam")
    return {"users": list(members)}


def _user_cursor(user_id: str) -> str:
    return base64.b64encode(f"user:{user_id}".encode()).decode()


def _cursor_user(cursor: str) -> str:
    try:
        decoded = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise SlackFailure("invalid_cursor") from exc
    if not decoded.startswith("user:") or len(decoded) <= len("user:"):
        raise SlackFailure("invalid_cursor")
    return decoded[len("user:") :]


def conversations_open(state: SlackState, args: JsonDict) -> JsonDict:
    """conversations.open for a single person: the IM with the bot."""
    users = [u for u in (_str(args, "users") or "").split(",") if u]
    if not users:
        raise SlackFailure("users_list_not_supplied")
    if len(users) > 1:
        # Group DMs are outside what the bot does; say so rather than pretend.
        raise SlackFailure("method_not_supported_for_channel_type")
    if users[0] not in state.users:
        raise SlackFailure("user_not_found")
    already = users[0] in state.ims
    channel = state.im_of(users[0])
    answer: JsonDict = {"channel": {"id": channel}}
    return answer | ({"no_op": True, "already_open": True} if already else {})


def _content(args: JsonDict) -> tuple[str, list[JsonDict] | None]:
    text = _str(args, "text") or ""
    blocks = _json(args, "blocks")
    if blocks is not None:
        problems = block_problems(blocks, limit=MAX_MESSAGE_BLOCKS)
        if problems:
            raise SlackFailure(
                "invalid_blocks",
                errors=problems,
                response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
            )
    return text, blocks


def chat_post_message(state: SlackState, args: JsonDict) -> JsonDict:
    """chat.postMessage; a user id as channel posts in that person's IM."""
    channel = state.resolve_channel(_str(args, "channel"))
    text, blocks = _content(args)
    if not text and not blocks and not _json(args, "attachments"):
        raise SlackFailure("no_text")
    thread_ts = _str(args, "thread_ts")
    if thread_ts:
        state.find_message(channel, thread_ts)
    message = PostedMessage(
        channel=channel,
        ts=state.next_ts(),
        text=text,
        blocks=assign_ids(blocks or [], state.random_id),
        user=state.bot_user_id,
        bot_id=state.bot_id,
        thread_ts=thread_ts,
    )
    state.messages[channel].append(message)
    return {"channel": channel, "ts": message.ts, "message": message.to_api(state.team_id)}


def chat_update(state: SlackState, args: JsonDict) -> JsonDict:
    """chat.update; blocks left out keep the old ones, as Slack does."""
    channel = state.known_channel(_str(args, "channel"))
    index, old = state.find_message(channel, _str(args, "ts"))
    if old.user != state.bot_user_id:
        raise SlackFailure("cant_update_message")
    text, blocks = _content(args)
    new = old.model_copy(
        update={
            "text": text if "text" in args else old.text,
            "blocks": old.blocks if blocks is None else assign_ids(blocks, state.random_id),
            "edited": True,
        }
    )
    state.replace_message(channel, index, new)
    return {
        "channel": channel,
        "ts": new.ts,
        "text": new.text,
        "message": new.to_api(state.team_id),
    }


def chat_delete(state: SlackState, args: JsonDict) -> JsonDict:
    """chat.delete."""
    channel = state.known_channel(_str(args, "channel"))
    index, old = state.find_message(channel, _str(args, "ts"))
    state.replace_message(channel, index, old.model_copy(update={"deleted": True}))
    return {"channel": channel, "ts": old.ts}


def chat_post_ephemeral(state: SlackState, args: JsonDict) -> JsonDict:
    """chat.postEphemeral: a message only ``user`` sees."""
    channel = state.resolve_channel(_str(args, "channel"))
    user = state.users.get(_str(args, "user") or "")
    if user is None:
        raise SlackFailure("user_not_in_channel")
    text, blocks = _content(args)
    if not text and not blocks:
        raise SlackFailure("no_text")
    message = PostedMessage(
        channel=channel,
        ts=state.next_ts(),
        text=text,
        blocks=assign_ids(blocks or [], state.random_id),
        user=state.bot_user_id,
        bot_id=state.bot_id,
        thread_ts=_str(args, "thread_ts"),
        ephemeral_to=user.id,
    )
    state.ephemerals[user.id].append(message)
    return {"message_ts": message.ts}


def chat_get_permalink(state: SlackState, args: JsonDict) -> JsonDict:
    """chat.getPermalink."""
    channel = state.known_channel(_str(args, "channel"))
    _, message = state.find_message(channel, _str(args, "message_ts"))
    link = (
        f"https://{state.team_domain}.slack.com/archives/{channel}/p{message.ts.replace('.', '')}"
    )
    return {"channel": channel, "permalink": link}


def views_open(state: SlackState, args: JsonDict) -> JsonDict:
    """views.open."""
    return {"view": open_modal(state, _str(args, "trigger_id"), _json(args, "view"))}


def views_push(state: SlackState, args: JsonDict) -> JsonDict:
    """views.push."""
    return {"view": push_modal(state, _str(args, "trigger_id"), _json(args, "view"))}


def views_update(state: SlackState, args: JsonDict) -> JsonDict:
    """views.update."""
    view = update_view(
        state,
        _json(args, "view"),
        view_id=_str(args, "view_id"),
        external_id=_str(args, "external_id"),
        hash_=_str(args, "hash"),
    )
    return {"view": view}


def views_publish(state: SlackState, args: JsonDict) -> JsonDict:
    """views.publish."""
    view = publish_home(state, _str(args, "user_id"), _json(args, "view"), _str(args, "hash"))
    return {"view": view}


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "users.info": users_info,
    "users.list": users_list,
    "users.lookupByEmail": users_lookup_by_email,
    "usergroups.users.list": usergroups_users_list,
    "conversations.open": conversations_open,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}
