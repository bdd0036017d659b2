"""What Slack does with a response_url post or a slash command's immediate reply."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack_blocks import MAX_MESSAGE_BLOCKS, assign_ids, block_problems
from bot.sandbox.slack_records import PostedMessage, ResponsePost
from bot.sandbox.slack_state import RESPONSE_URL_USES, JsonDict, ResponseTarget, SlackState


def _flag(value: Any) -> bool:
    return value in (True, "true", "1", 1)


def post_to_response_url(state: SlackState, token: str, body: Any) -> tuple[int, str]:
    """Apply a response_url post; the HTTP status and body Slack answers with."""
    target = state.response_targets.get(token)
    if target is None:
        return 404, "no_service"
    if target.uses >= RESPONSE_URL_USES:
        # Slack allows five posts per response_url.
        return 404, "used_url"
    if not isinstance(body, dict):
        return 400, "invalid_payload"
    blocks = body.get("blocks") or []
    if blocks and block_problems(blocks, limit=MAX_MESSAGE_BLOCKS):
        return 400, "invalid_blocks"
    target.uses += 1
    show_reply(state, target, body)
    return 200, '{"ok":true}'


def show_reply(state: SlackState, target: ResponseTarget, body: JsonDict) -> None:
    """Record a reply for ``target``'s person and change what people see accordingly."""
    text = str(body.get("text") or "")
    blocks = assign_ids(body.get("blocks") or [], state.random_id)
    replace, delete = _flag(body.get("replace_original")), _flag(body.get("delete_original"))
    response_type = body.get("response_type")
    state.responses[target.user].append(
        ResponsePost(
            user=target.user,
            channel=target.channel,
            text=text,
            blocks=blocks,
            response_type=str(response_type) if response_type else None,
            replace_original=replace,
            delete_original=delete,
            source_ts=target.source_ts,
        )
    )
    if (
        (delete or replace)
        and target.source_ts
        and _change_source(state, target, None if delete else (text, blocks))
    ):
        return
    message = PostedMessage(
        channel=target.channel,
        ts=state.next_ts(),
        text=text,
        blocks=blocks,
        user=state.bot_user_id,
        bot_id=state.bot_id,
    )
    if response_type == "in_channel":
        state.messages[target.channel].append(message)
        return
    state.ephemerals[target.user].append(message.model_copy(update={"ephemeral_to": target.user}))
    if target.source_ts is None:
        # Later replace_original posts replace this first reply, as Slack does for commands.
        target.source_ts = message.ts
        target.ephemeral = True


def _change_source(
    state: SlackState, target: ResponseTarget, content: tuple[str, list[JsonDict]] | None
) -> bool:
    """Replace or delete the message the response_url came from; False when it is gone."""
    if target.ephemeral:
        found = state.find_ephemeral(target.user, target.source_ts)
        if found is None:
            return False
        index, old = found
        listing = state.ephemerals[target.user]
    else:
        matches = [
            (i, m)
            for i, m in enumerate(state.messages.get(target.channel, []))
            if m.ts == target.source_ts and not m.deleted
        ]
        if not matches:
            return False
        index, old = matches[0]
        listing = state.messages[target.channel]
    if content is None:
        listing[index] = old.model_copy(update={"deleted": True})
    else:
        text, blocks = content
        listing[index] = old.model_copy(update={"text": text, "blocks": blocks, "edited": True})
    return True
