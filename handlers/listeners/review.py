"""Keep, Revoke, Keep the rest and the pages of a reviewer's access review message."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError

from handlers.deps import Deps
from handlers.flows.review_decide import (
    LineDecided,
    ReviewContext,
    ReviewRefusal,
    ReviewRefused,
    decide_line,
)
from handlers.ids import ActionId
from handlers.listeners.revoke import action_value
from handlers.replies import tell_privately
from handlers.views.review import build_review_refusal, parse_review_value
from storage.review_models import Campaign, Decision, Outcome, ReviewItem, escalation_key


async def _member_by_email(deps: Deps, email: str) -> str | None:
    """The Slack member whose email is ``email`` (a kept user's owner), if any."""
    try:
        found = await deps.client.users_lookupByEmail(email=email)
    except SlackApiError:
        return None
    user = found.get("user")
    member = user.get("id") if isinstance(user, dict) else None
    return member if isinstance(member, str) else None


async def _where_clicked(deps: Deps, body: dict[str, Any], campaign: Campaign, key: str) -> None:
    channel = (body.get("channel") or {}).get("id")
    ts = (body.get("message") or {}).get("ts")
    if isinstance(channel, str) and isinstance(ts, str):
        await deps.review_messenger.seen_at(campaign, key, channel, ts)


async def _decide(
    deps: Deps, item: ReviewItem, actor: str, decision: Decision
) -> LineDecided | ReviewRefused:
    campaign = await deps.reviews.get(item.campaign_id)
    app = deps.policy().application(campaign.application) if campaign else None
    if app is None:
        return ReviewRefused(reason=ReviewRefusal.CLOSED, item=item)
    subject = None
    may_decide = actor == item.reviewer or (
        item.outcome is Outcome.ESCALATED and actor in app.admins
    )
    if item.drift and item.grant_id is None and not item.subject_id and may_decide:
        subject = await _member_by_email(deps, item.username)
    outcome = await decide_line(
        deps.reviews,
        deps.repo,
        deps.gateway,
        ReviewContext(app=app, catalog=await deps.catalog.current()),
        item_id=item.id,
        actor=actor,
        decision=decision,
        subject_id=subject,
    )
    if isinstance(outcome, LineDecided) and outcome.revocation is not None:
        deps.worker.kick(outcome.revocation.id)
    return outcome


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen to the buttons of review messages."""

    async def on_line(body: dict[str, Any], respond: AsyncRespond, decision: Decision) -> None:
        actor = body["user"]["id"]
        item = await deps.reviews.item(action_value(body))
        if item is None:
            refusal = build_review_refusal(ReviewRefusal.NOT_FOUND, None)
            await tell_privately(deps.client, body, respond, refusal)
            return
        outcome = await _decide(deps, item, actor, decision)
        if isinstance(outcome, ReviewRefused):
            refusal = build_review_refusal(outcome.reason, outcome.item)
            await tell_privately(deps.client, body, respond, refusal)
            return
        campaign = await deps.reviews.get(item.campaign_id)
        if campaign is not None:
            # a line the admins were handed is clicked in the admin's message of them
            key = escalation_key(actor) if item.outcome is Outcome.ESCALATED else actor
            await _where_clicked(deps, body, campaign, key)
            await deps.review_messenger.show_line(campaign, outcome.item)
        deps.homes.refresh([actor])

    async def on_keep_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await on_line(body, respond, Decision.KEEP)

    async def on_revoke_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await on_line(body, respond, Decision.REVOKE)

    async def on_keep_rest_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        actor = body["user"]["id"]
        campaign_id, _, escalated = parse_review_value(action_value(body))
        campaign = await deps.reviews.get(campaign_id)
        if campaign is not None and escalated:
            await _keep_escalated(body, respond, campaign, actor)
            return
        mine = await deps.reviews.items(campaign.id, reviewer=actor) if campaign else []
        if campaign is None or not mine:
            reason = ReviewRefusal.NOT_FOUND if campaign is None else ReviewRefusal.NOT_YOURS
            await tell_privately(deps.client, body, respond, build_review_refusal(reason, None))
            return
        for item in mine:
            if item.decision is None and item.outcome is None:
                await _decide(deps, item, actor, Decision.KEEP)
        await _where_clicked(deps, body, campaign, actor)
        await deps.review_messenger.show(campaign, actor)
        deps.homes.refresh([actor])

    async def _keep_escalated(
        body: dict[str, Any], respond: AsyncRespond, campaign: Campaign, actor: str
    ) -> None:
        """An admin keeps every escalated line nobody decided yet, except their own."""
        app = deps.policy().application(campaign.application)
        if app is None or actor not in app.admins:
            refusal = build_review_refusal(ReviewRefusal.ADMINS_ONLY, None)
            await tell_privately(deps.client, body, respond, refusal)
            return
        for item in await deps.reviews.items(campaign.id):
            waiting = item.outcome is Outcome.ESCALATED and item.decision is None
            if waiting and item.subject_id != actor:
                await _decide(deps, item, actor, Decision.KEEP)
        await _where_clicked(deps, body, campaign, escalation_key(actor))
        await deps.review_messenger.refresh_all(campaign)

    async def on_page_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        actor = body["user"]["id"]
        campaign_id, page, escalated = parse_review_value(action_value(body))
        key = escalation_key(actor) if escalated else actor
        campaign = await deps.reviews.get(campaign_id)
        if campaign is None or await deps.reviews.message(campaign.id, key) is None:
            refusal = build_review_refusal(ReviewRefusal.NOT_FOUND, None)
            await tell_privately(deps.client, body, respond, refusal)
            return
        await _where_clicked(deps, body, campaign, key)
        await deps.review_messenger.show(campaign, key, page)

    app.action(ActionId.REVIEW_KEEP)(on_keep_clicked)
    app.action(ActionId.REVIEW_REVOKE)(on_revoke_clicked)
    app.action(ActionId.REVIEW_KEEP_REST)(on_keep_rest_clicked)
    app.action(ActionId.REVIEW_PAGE)(on_page_clicked)
