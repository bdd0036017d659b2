"""The admin's catalog on the Home tab: pick a kind, turn pages, offer a record or stop."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from handlers.deps import Deps
from handlers.flows.outcomes import RefusalReason
from handlers.flows.requestable import CatalogRefused, set_requestable
from handlers.ids import ActionId
from handlers.replies import tell_privately
from handlers.views.approval import build_cannot_decide
from handlers.views.catalog_values import (
    CatalogPosition,
    parse_catalog_position,
    parse_toggle_value,
)
from handlers.views.message import SlackMessage, message
from handlers.views.text import SECTION_TEXT_MAX, safe


def _action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    return actions[0] if isinstance(actions[0], dict) else {}


def _value(body: dict[str, Any]) -> object:
    action = _action(body)
    selected = action.get("selected_option")
    return selected.get("value") if isinstance(selected, dict) else action.get("value")


def _refusal(why: str) -> SlackMessage:
    return message(why, [SectionBlock(text=safe(why, SECTION_TEXT_MAX))])


async def _admin_or_tell(
    deps: Deps, body: dict[str, Any], respond: AsyncRespond, position: CatalogPosition
) -> bool:
    """Whether the clicker administers the position's application; if not, they are told."""
    app = deps.policy().application(position.application)
    if app is not None and app.is_admin(body["user"]["id"]):
        return True
    refusal = build_cannot_decide(RefusalReason.NOT_ADMIN, app=app)
    await tell_privately(deps.client, body, respond, refusal)
    return False


async def _show(deps: Deps, user_id: str, position: CatalogPosition) -> None:
    await deps.homes.tabs.move(
        user_id, application=position.application, kind=position.kind.value, page=position.page
    )
    await deps.homes.publish(user_id)


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen to the catalog's kind menu, paging buttons and offer/stop buttons."""

    async def on_catalog_moved(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        position = parse_catalog_position(_value(body))
        if position is None or not await _admin_or_tell(deps, body, respond, position):
            return
        await _show(deps, body["user"]["id"], position)

    async def on_toggle_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        toggle = parse_toggle_value(_value(body))
        if toggle is None or not await _admin_or_tell(deps, body, respond, toggle.position):
            return
        user_id = body["user"]["id"]
        outcome = await set_requestable(
            deps.overrides,
            deps.policy(),
            await deps.catalog.current(),
            gateway=deps.gateway,
            file_policy=deps.file_policy(),
            actor=user_id,
            application=toggle.position.application,
            kind=toggle.position.kind.value,
            name=toggle.name,
            requestable=toggle.requestable,
        )
        if isinstance(outcome, CatalogRefused):
            await tell_privately(client, body, respond, _refusal(outcome.why))
            return
        await _show(deps, user_id, toggle.position)
        application = deps.policy().application(outcome.application)
        if outcome.changed and application is not None:
            # The other admins' catalog pages show the change too.
            deps.homes.refresh(a for a in application.admins if a != user_id)

    for action in (ActionId.CATALOG_KIND, ActionId.CATALOG_PREVIOUS, ActionId.CATALOG_NEXT):
        app.action(action)(on_catalog_moved)
    app.action(ActionId.TOGGLE_REQUESTABLE)(on_toggle_clicked)
