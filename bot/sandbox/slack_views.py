"""Modals and Home tabs as Slack keeps them: stacks, hashes, input state and submission results."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.views import View

from bot.sandbox.slack_blocks import (
    OPTION_KEYS,
    STATE_KEYS,
    assign_ids,
    block_problems,
    choice_of,
    initial_entry,
    iter_elements,
    options_of,
)
from bot.sandbox.slack_state import JsonDict, SlackFailure, SlackState, StoredView

MAX_STACK = 3
MAX_VIEW_BLOCKS = 100


def _invalid(*messages: str) -> SlackFailure:
    return SlackFailure(
        "invalid_arguments", response_metadata={"messages": [f"[ERROR] {m}" for m in messages]}
    )


def check_view(view: Any, *, kind: str) -> JsonDict:
    """The view if Slack would accept it as a ``kind`` view, else ``invalid_arguments``."""
    if not isinstance(view, dict):
        raise _invalid("missing required field: view")
    if view.get("type") != kind:
        raise _invalid(f"must be {kind!r} [json-pointer:/view/type]")
    problems = block_problems(view.get("blocks", []), limit=MAX_VIEW_BLOCKS)
    if problems:
        raise _invalid(*(p.replace("json-pointer:/", "json-pointer:/view/") for p in problems))
    try:
        View(**view).to_dict()
    except (SlackObjectFormationError, TypeError) as exc:
        raise _invalid(str(exc)) from exc
    has_input = any(b.get("type") == "input" for b in view.get("blocks", []))
    if kind == "modal" and has_input and not view.get("submit"):
        raise _invalid("submit is required when an input block is within the blocks")
    return view


def _carried(entry: JsonDict, element: Mapping[str, Any]) -> bool:
    """Whether a value the person chose still fits the element after the view changed."""
    if entry.get("type") != element.get("type"):
        return False
    key = STATE_KEYS[str(element.get("type"))][0]
    if key not in OPTION_KEYS or element.get("type") in (
        "external_select",
        "multi_external_select",
    ):
        return True
    offered = {o.get("value") for o in options_of(element)}
    chosen = choice_of(entry)
    values = [] if chosen is None else [chosen] if isinstance(chosen, str) else chosen
    return all(v in offered for v in values)


def _state_for(blocks: list[JsonDict], old: StoredView | None) -> tuple[JsonDict, set[Any]]:
    values: dict[str, dict[str, JsonDict]] = {}
    touched: set[tuple[str, str]] = set()
    old_values = old.payload["state"]["values"] if old else {}
    for loc in iter_elements(blocks):
        key = (loc.block_id, loc.action_id)
        previous = old_values.get(loc.block_id, {}).get(loc.action_id)
        if old and key in old.touched and previous and _carried(previous, loc.element):
            # Slack keeps what the person entered when block_id and action_id stay the same.
            values.setdefault(loc.block_id, {})[loc.action_id] = copy.deepcopy(previous)
            touched.add(key)
            continue
        entry = initial_entry(loc.element) if loc.block_type == "input" else None
        if entry is not None:
            values.setdefault(loc.block_id, {})[loc.action_id] = entry
    return {"values": values}, touched


def _store(
    state: SlackState,
    user: str,
    view: JsonDict,
    *,
    view_id: str,
    root_view_id: str | None,
    previous_view_id: str | None,
    old: StoredView | None = None,
) -> StoredView:
    blocks = assign_ids(view.get("blocks", []), state.random_id)
    payload: JsonDict = {
        "id": view_id,
        "team_id": state.team_id,
        "type": view["type"],
        "blocks": blocks,
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": state.new_hash(),
    }
    if view["type"] == "modal":
        payload |= {
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id or view_id,
        }
    payload |= {
        "app_id": state.app_id,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": state.team_id,
        "bot_id": state.bot_id,
    }
    payload["state"], touched = _state_for(blocks, old)
    stored = StoredView(payload=payload, user=user, touched=touched)
    state.views[view_id] = stored
    return stored


def open_modal(state: SlackState, trigger_id: str | None, view: Any) -> JsonDict:
    """views.open: a new modal stack for the person the trigger belongs to."""
    user = state.use_trigger(trigger_id)
    checked = check_view(view, kind="modal")
    close_all(state, user)
    view_id = state.new_id("V")
    stored = _store(state, user, checked, view_id=view_id, root_view_id=None, previous_view_id=None)
    state.stacks[user] = [view_id]
    return copy.deepcopy(stored.payload)


def push_modal(state: SlackState, trigger_id: str | None, view: Any) -> JsonDict:
    """views.push: a modal on top of the person's stack (three at most)."""
    user = state.use_trigger(trigger_id)
    checked = check_view(view, kind="modal")
    stack = state.stacks[user]
    if len(stack) >= MAX_STACK:
        raise SlackFailure("push_limit_reached")
    view_id = state.new_id("V")
    previous = stack[-1] if stack else None
    root = stack[0] if stack else None
    stored = _store(
        state, user, checked, view_id=view_id, root_view_id=root, previous_view_id=previous
    )
    stack.append(view_id)
    return copy.deepcopy(stored.payload)


def _lookup(state: SlackState, view_id: str | None, external_id: str | None) -> StoredView:
    by_id = state.views.get(view_id or "")
    if by_id is not None:
        # Views are stored under their id; a workspace with thousands need not be scanned.
        if by_id.closed:
            raise SlackFailure("not_found")
        return by_id
    for stored in state.views.values():
        payload = stored.payload
        if (view_id and payload["id"] == view_id) or (
            external_id and payload.get("external_id") == external_id
        ):
            if stored.closed:
                break
            return stored
    raise SlackFailure("not_found")


def update_view(
    state: SlackState,
    view: Any,
    *,
    view_id: str | None,
    external_id: str | None = None,
    hash_: str | None = None,
) -> JsonDict:
    """views.update: replace an open view; a stale ``hash`` fails with ``hash_conflict``."""
    if not view_id and not external_id:
        raise _invalid("either view_id or external_id is required")
    old = _lookup(state, view_id, external_id)
    if hash_ and hash_ != old.payload["hash"]:
        raise SlackFailure("hash_conflict")
    checked = check_view(view, kind=old.payload["type"])
    stored = _replace(state, old, checked)
    return copy.deepcopy(stored.payload)


def _replace(state: SlackState, old: StoredView, view: JsonDict) -> StoredView:
    payload = old.payload
    return _store(
        state,
        old.user,
        view,
        view_id=payload["id"],
        root_view_id=payload.get("root_view_id"),
        previous_view_id=payload.get("previous_view_id"),
        old=old,
    )


def publish_home(state: SlackState, user_id: str | None, view: Any, hash_: str | None) -> JsonDict:
    """views.publish: the person's Home tab."""
    user = state.user(user_id or "").id
    checked = check_view(view, kind="home")
    current = state.views.get(state.homes.get(user, ""))
    if current is None:
        view_id = state.new_id("V")
        stored = _store(
            state, user, checked, view_id=view_id, root_view_id=None, previous_view_id=None
        )
        state.homes[user] = view_id
    else:
        if hash_ and hash_ != current.payload["hash"]:
            raise SlackFailure("hash_conflict")
        stored = _replace(state, current, checked)
    return copy.deepcopy(stored.payload)


def close_view(state: SlackState, user: str, view_id: str) -> None:
    """The person closed ``view_id``: it and anything above it leave the stack."""
    stack = state.stacks[user]
    if view_id in stack:
        for closed in stack[stack.index(view_id) :]:
            state.views[closed].closed = True
        del stack[stack.index(view_id) :]


def close_all(state: SlackState, user: str) -> None:
    """Close every modal the person has open."""
    for view_id in state.stacks[user]:
        state.views[view_id].closed = True
    state.stacks[user] = []


def apply_submission_reply(state: SlackState, user: str, view_id: str, reply: Any) -> None:
    """Do what the app's answer to a view_submission asks: close, errors, update, push, clear."""
    stored = state.views[view_id]
    action = reply.get("response_action") if isinstance(reply, dict) else None
    if action == "errors":
        stored.errors = {str(k): str(v) for k, v in dict(reply.get("errors") or {}).items()}
        return
    stored.errors = {}
    if action == "update":
        _replace(state, stored, check_view(reply.get("view"), kind="modal"))
    elif action == "push":
        checked = check_view(reply.get("view"), kind="modal")
        stack = state.stacks[user]
        new_id = state.new_id("V")
        root = stack[0] if stack else view_id
        _store(state, user, checked, view_id=new_id, root_view_id=root, previous_view_id=view_id)
        stack.append(new_id)
    elif action == "clear":
        close_all(state, user)
    else:
        close_view(state, user, view_id)


def set_entry(
    state: SlackState, view_id: str, block_id: str, action_id: str, entry: JsonDict
) -> None:
    """Record what the person entered in one element of an open view."""
    stored = state.views.get(view_id)
    if stored is None or stored.closed:
        raise LookupError(f"view {view_id} is not open")
    stored.payload["state"]["values"].setdefault(block_id, {})[action_id] = entry
    stored.touched.add((block_id, action_id))
