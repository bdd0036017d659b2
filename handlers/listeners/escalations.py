"""The admins' escalation buttons and the two modals they open (complete request, username).

Every button carries the request id as its value and every modal its id in private_metadata,
so the buttons keep working after a restart: nothing here lives only in memory.
"""

from __future__ import annotations

import asyncio
from re import Pattern
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.deps import Deps
from handlers.flows.admin_conflicts import own_request
from handlers.flows.choices import RequestChoices
from handlers.flows.eligibility import Eligibility, eligible_choices, refused_picks
from handlers.flows.escalate import (
    Resumed,
    StillActive,
    adopt_existing,
    application_of,
    check_admin_press,
    complete_request,
    confirm_resolved,
    retry,
    use_username,
    username_in_this_org,
    username_suggestion,
)
from handlers.flows.outcomes import Refused, Rejected, RevokedAccess
from handlers.flows.tiers import request_tier
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.listeners.approvals import tell_refusal
from handlers.listeners.revoke import action_value
from handlers.replies import tell_privately
from handlers.views.approval import build_cannot_decide
from handlers.views.escalation_modals import (
    build_alternative_username_modal,
    build_complete_request_modal,
    parse_alternative_username,
    username_errors,
)
from handlers.views.metadata import ModalRef
from handlers.views.problems import Resolution
from handlers.views.request_modal import (
    build_loading_modal,
    field_errors_to_blocks,
    parse_request_state,
)
from handlers.views.revocation import (
    build_retrying,
    build_salesforce_unavailable,
    build_still_active,
)
from salesforce.errors import SalesforceError
from storage.models import AccessRequest, Kind, State


async def resume(deps: Deps, resumed: Resumed) -> None:
    """After an admin's fix: back to the owners (escalation closed), or on to Salesforce."""
    request = resumed.request
    if resumed.change is not None:
        await deps.notifier.sent_back(
            request, resumed.change, by=resumed.by, approved_by=resumed.approved_by
        )
        text = "Changed beyond what the owners approved; they approve it again first."
        done = Resolution(text=text, by=resumed.by, at=deps.clock())
        await deps.notifier.close_escalation(request, done)
    elif resumed.to_owners:
        await deps.notifier.submitted(request)
        done = Resolution(text="Completed; the owners decide next.", by=resumed.by, at=deps.clock())
        await deps.notifier.close_escalation(request, done)
    else:
        # The escalation stays until the worker's outcome closes or updates it in place.
        deps.worker.kick(request.id)


async def in_complete_modal(body: dict[str, Any]) -> bool:
    """Matches actions inside the complete-request modal (the request form's ids are shared)."""
    view = body.get("view")
    return isinstance(view, dict) and view.get("callback_id") == CallbackId.COMPLETE_REQUEST


def _refused_text(deps: Deps, refused: Refused) -> str:
    request = refused.request
    app = application_of(deps.policy(), request) if request else None
    text = build_cannot_decide(refused.reason, request=request, app=app, helpers=refused.helpers)
    return text.text[:150]


async def _admin_press(
    deps: Deps, body: dict[str, Any], respond: AsyncRespond, button: ActionId
) -> AccessRequest | None:
    """The grant waiting for an admin that this click names, or None after saying why not."""
    found = await check_admin_press(
        deps.repo,
        deps.policy(),
        request_id=action_value(body),
        actor=body["user"]["id"],
        button=button.value,
        states=(State.NEEDS_ADMIN,),
        kind=Kind.GRANT,
    )
    if isinstance(found, Refused):
        await tell_refusal(deps, body, respond, found)
        return None
    return found


async def _taken_here(deps: Deps, username: str) -> dict[str, str]:
    """An error beside the field when the username belongs to a user of this org already."""
    try:
        # A view submission must be answered within 3 seconds: do not wait longer for Salesforce.
        taken = await asyncio.wait_for(username_in_this_org(deps.gateway, username), 2.0)
    except (TimeoutError, SalesforceError):
        return {BlockId.ALTERNATIVE_USERNAME: "Salesforce did not answer in time; try again."}
    if taken:
        text = f"{username} already belongs to a user in this org; choose a username nobody has."
        return {BlockId.ALTERNATIVE_USERNAME: text[:150]}
    return {}


async def _request_choices(
    deps: Deps, request: AccessRequest
) -> tuple[RequestChoices, RequestChoices]:
    """What the request's application offers, and the part its people may ask for.

    An admin completing or changing a request gives no more than its requester and the person
    it is for could have asked for themselves.
    """
    offered = await deps.catalog.choices_for(application_of(deps.policy(), request))
    may = Eligibility({request.requester_id, request.subject_id}, deps.user_groups)
    return offered, await eligible_choices(offered, may)


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen to Retry, Complete request, Use another username and Resolved in Salesforce."""

    async def on_retry_clicked(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        outcome = await retry(
            deps.repo,
            deps.policy(),
            request_id=action_value(body),
            actor=body["user"]["id"],
            button=str(action.get("action_id"))[:50],  # Retry, or Retry deactivation
        )
        if isinstance(outcome, Refused):
            await tell_refusal(deps, body, respond, outcome)
            return
        if not outcome.to_owners:
            await tell_privately(client, body, respond, build_retrying(outcome.request))
        await resume(deps, outcome)

    async def on_resolved_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        actor = body["user"]["id"]
        try:
            outcome = await confirm_resolved(
                deps.repo,
                deps.gateway,
                deps.policy(),
                request_id=action_value(body),
                actor=actor,
                worker=deps.config.worker_id,
                lease=deps.config.lease,
            )
        except SalesforceError as error:
            await tell_privately(client, body, respond, build_salesforce_unavailable(error.human))
            return
        if isinstance(outcome, Refused):
            await tell_refusal(deps, body, respond, outcome)
        elif isinstance(outcome, StillActive):
            still = build_still_active(outcome.revocation, username=outcome.user.username)
            await tell_privately(client, body, respond, still)
        elif isinstance(outcome, RevokedAccess):
            closed = Resolution(
                text="Resolved in Salesforce: the user is inactive.", by=actor, at=deps.clock()
            )
            await deps.notifier.revoked(outcome, resolution=closed)

    async def on_complete_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        request = await _admin_press(deps, body, respond, ActionId.COMPLETE_REQUEST)
        if request is None:
            return
        opened = await client.views_open(trigger_id=body["trigger_id"], view=build_loading_modal())
        _, choices = await _request_choices(deps, request)
        view = build_complete_request_modal(choices, request)
        loading = opened["view"]
        await client.views_update(view_id=loading["id"], hash=loading["hash"], view=view)

    async def on_complete_choice_changed(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        view = body.get("view") or {}
        ref = ModalRef.load(view.get("private_metadata"))
        request = await deps.repo.get(ref.request_id or "")
        # A forged block_actions payload could name any request: only its admins see it.
        actor = body["user"]["id"]
        if (
            request is None
            or not application_of(deps.policy(), request).is_admin(actor)
            or own_request(request, actor)
        ):
            return
        _, choices = await _request_choices(deps, request)
        selected = parse_request_state(view.get("state", {}).get("values"), choices=choices)
        # The application is the request's own: completing never moves it to another one.
        selected = selected.model_copy(update={"application": request.application})
        form = build_complete_request_modal(choices, request, selected=selected)
        await client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=form)

    async def on_complete_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        ref = ModalRef.load(view.get("private_metadata"))
        request = await deps.repo.get(ref.request_id or "")
        policy = deps.policy()
        application = application_of(policy, request) if request else policy.default_application
        choices = await deps.catalog.choices_for(application)
        draft = parse_request_state(view.get("state", {}).get("values"), choices=choices)
        if request is not None:
            offered, choices = await _request_choices(deps, request)
            who = "The people of this request"
            refused = refused_picks(draft, offered, choices, application.title, who=who)
            if refused:
                shown = {
                    str(b.get("block_id")) for b in view.get("blocks") or [] if isinstance(b, dict)
                }
                errors = field_errors_to_blocks(refused, shown=shown)
                await ack(response_action="errors", errors=errors)
                return
        # The changed request's tier, computed exactly as at submission (org flags read now).
        verdict = (
            await request_tier(
                application,
                draft,
                choices,
                catalog=await deps.catalog.current(),
                gateway=deps.gateway,
            )
            if request is not None
            else None
        )
        outcome = await complete_request(
            deps.repo,
            policy,
            choices,
            request_id=ref.request_id or "",
            actor=body["user"]["id"],
            draft=draft,
            verdict=verdict,
        )
        if isinstance(outcome, Rejected):
            await ack(response_action="errors", errors=field_errors_to_blocks(outcome.errors))
            return
        if isinstance(outcome, Refused):
            await ack(
                response_action="errors", errors={BlockId.REASON: _refused_text(deps, outcome)}
            )
            return
        await ack()
        await resume(deps, outcome)

    async def on_other_username_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        request = await _admin_press(deps, body, respond, ActionId.USE_OTHER_USERNAME)
        if request is None:
            return
        taken, suggested = username_suggestion(request, deps.config.provisioning)
        # Shown as the taken name in the modal; the stored request is not changed.
        shown = request.model_copy(update={"username_override": taken})
        modal = build_alternative_username_modal(shown, suggested=suggested)
        await client.views_open(trigger_id=body["trigger_id"], view=modal)

    async def on_username_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        username = parse_alternative_username(view.get("state", {}).get("values"))
        errors = username_errors(username)
        if not errors:
            errors = await _taken_here(deps, username)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        outcome = await use_username(
            deps.repo,
            deps.policy(),
            request_id=ModalRef.load(view.get("private_metadata")).request_id or "",
            actor=body["user"]["id"],
            username=username,
        )
        if isinstance(outcome, Refused):
            text = _refused_text(deps, outcome)
            await ack(response_action="errors", errors={BlockId.ALTERNATIVE_USERNAME: text})
            return
        await ack()
        await resume(deps, outcome)

    async def on_adopt_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            outcome = await adopt_existing(
                deps.repo,
                deps.gateway,
                deps.policy(),
                request_id=action_value(body),
                actor=body["user"]["id"],
            )
        except SalesforceError as error:
            await tell_privately(client, body, respond, build_salesforce_unavailable(error.human))
            return
        if isinstance(outcome, Refused):
            await tell_refusal(deps, body, respond, outcome)
            return
        await tell_privately(client, body, respond, build_retrying(outcome.request))
        await resume(deps, outcome)

    app.action(ActionId.ADOPT_USER)(on_adopt_clicked)
    app.action(ActionId.RETRY)(on_retry_clicked)
    app.action(ActionId.RETRY_DEACTIVATION)(on_retry_clicked)
    app.action(ActionId.RESOLVED_IN_SALESFORCE)(on_resolved_clicked)
    app.action(ActionId.COMPLETE_REQUEST)(on_complete_clicked)
    app.action(ActionId.USE_OTHER_USERNAME)(on_other_username_clicked)
    for action in (ActionId.REQUEST_APPLICATION, ActionId.REQUEST_LICENSE):
        constraints: dict[str, str | Pattern[Any]] = {"action_id": action, "type": "block_actions"}
        app.action(constraints, matchers=[in_complete_modal])(on_complete_choice_changed)
    app.view(CallbackId.COMPLETE_REQUEST)(on_complete_submitted)
    app.view(CallbackId.ALTERNATIVE_USERNAME)(on_username_submitted)
