"""The request modal: open it at once, refill it when a choice changes, store what is submitted."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from handlers.deps import Deps
from handlers.flows.auto_approve import auto_approve
from handlers.flows.choices import RequestChoices
from handlers.flows.drafts import RequestDraft, check_draft
from handlers.flows.eligibility import (
    Eligibility,
    eligible_choices,
    nothing_to_ask_for,
    refused_picks,
)
from handlers.flows.outcomes import Ineligible, Rejected, Submitted
from handlers.flows.people import ineligibility
from handlers.flows.submit import submit_request
from handlers.flows.tiers import duration_error, listed_tier, request_tier
from handlers.ids import ActionId, CallbackId
from handlers.policy import Application, Policy
from handlers.views.metadata import ModalRef
from handlers.views.options import build_options
from handlers.views.request_modal import (
    build_cannot_request_for,
    build_loading_modal,
    build_nothing_to_request,
    build_request_modal,
    build_unavailable_modal,
    field_errors_to_blocks,
    parse_request_state,
)
from handlers.views.request_options import items_for_action
from handlers.views.submission import (
    build_refused_modal,
    build_submitted_modal,
    build_submitting_modal,
)
from salesforce.errors import SalesforceError

log = logging.getLogger(__name__)


def _eligibility(deps: Deps, requester: str, subject: str | None) -> Eligibility:
    # Asking for someone else: both people must be listed.
    return Eligibility({requester, subject or requester}, deps.user_groups)


async def _applications(policy: Policy, may: Eligibility) -> list[Application]:
    return [app for app in policy.applications if await may.allows(app.requesters)]


async def _choices(deps: Deps, app: Application, may: Eligibility) -> RequestChoices:
    return await eligible_choices(await deps.catalog.choices_for(app), may)


# How long the form may take to build before a loading view opens instead: Slack's trigger
# lasts 3 s from the command, and the ack has already spent some of it.
FORM_BUDGET_SECONDS = 1.0


async def open_request_modal(
    deps: Deps, client: AsyncWebClient, *, trigger_id: str, requester: str, subject: str | None
) -> None:
    """Open the form itself when it is ready within the budget (the catalog in memory, the
    person known); otherwise a loading view within the trigger's 3 s, then the form."""
    building = asyncio.ensure_future(request_view(deps, requester=requester, subject=subject))
    done, _ = await asyncio.wait({building}, timeout=FORM_BUDGET_SECONDS)
    if done:
        await client.views_open(trigger_id=trigger_id, view=building.result())
        return
    try:
        opened = await client.views_open(trigger_id=trigger_id, view=build_loading_modal())
    except BaseException:
        building.cancel()
        raise
    view = opened["view"]
    await client.views_update(view_id=view["id"], hash=view["hash"], view=await building)


async def fill_request_modal(
    deps: Deps,
    client: AsyncWebClient,
    view: dict[str, Any],
    *,
    requester: str,
    subject: str | None,
) -> None:
    """Replace the open ``view`` with the request form (or why there is none to fill)."""
    form = await request_view(deps, requester=requester, subject=subject)
    await client.views_update(view_id=view["id"], hash=view["hash"], view=form)


async def request_view(deps: Deps, *, requester: str, subject: str | None) -> View | dict[str, Any]:
    """The request form for ``requester`` (or why there is none to fill)."""
    policy = deps.policy()
    app = policy.default_application
    on_behalf = bool(subject and subject != requester)
    person = await deps.people.get(subject if subject and on_behalf else requester)
    reason = ineligibility(person)
    if reason is not None:
        return build_cannot_request_for(person.id, reason, admins=app.admins, own=not on_behalf)
    may = _eligibility(deps, requester, subject)
    applications = await _applications(policy, may)
    try:
        choices = None
        for candidate in applications:  # the first application with something to ask for
            choices = await _choices(deps, candidate, may)
            if not nothing_to_ask_for(choices):
                break
    except SalesforceError as error:
        log.warning("catalog unavailable: %s", error.human)
        return build_unavailable_modal(f"Salesforce can't be reached right now ({error.human}).")
    if choices is None or nothing_to_ask_for(choices):
        return build_nothing_to_request(
            [a.title for a in policy.applications],
            admins=app.admins,
            on_behalf_of=subject if on_behalf else None,
        )
    return _form(
        choices, tuple((a.name, a.title) for a in applications), subject if on_behalf else None
    )


@functools.lru_cache(maxsize=64)
def _form(
    choices: RequestChoices, applications: tuple[tuple[str, str], ...], on_behalf_of: str | None
) -> dict[str, Any]:
    """The empty form as Slack takes it, built once per catalog and set of choices: building
    and validating the blocks is most of a slash command's work. Never mutated."""
    form = build_request_modal(choices, applications=applications, on_behalf_of=on_behalf_of)
    return form.to_dict()


def _application(deps: Deps, ref: ModalRef, draft: RequestDraft) -> Application:
    policy = deps.policy()
    return (
        policy.application(draft.application or "")
        or policy.application(ref.application or "")
        or policy.default_application
    )


def _field_errors(errors: dict[str, str], view: dict[str, Any]) -> dict[str, str]:
    shown = {str(b.get("block_id")) for b in view.get("blocks") or [] if isinstance(b, dict)}
    return field_errors_to_blocks(errors, shown=shown)


async def _decide(
    deps: Deps,
    application: Application,
    offered: RequestChoices,
    draft: RequestDraft,
    ref: ModalRef,
    requester_id: str,
    view: dict[str, Any],
) -> tuple[View, Submitted | None]:
    """Look the people up, check eligibility and tier, store: the view to show, what was stored."""
    may = _eligibility(deps, requester_id, ref.subject_id)
    choices = await eligible_choices(offered, may)
    refused = refused_picks(draft, offered, choices, application.title)
    if refused:
        log.warning("request form of %s refused: %s", requester_id, ", ".join(sorted(refused)))
        return build_refused_modal(refused, ref), None
    # Read afresh: what Slack shares (the email above all) may have changed since the form
    # opened.
    requester = await deps.people.get(requester_id, fresh=True)
    subject = await deps.people.get(ref.subject_id, fresh=True) if ref.subject_id else requester
    verdict = await request_tier(
        application, draft, choices, catalog=await deps.catalog.current(), gateway=deps.gateway
    )
    outcome = await submit_request(
        deps.repo,
        application,
        choices,
        draft,
        requester=requester,
        subject=subject,
        idempotency_key=f"view:{view.get('id')}",
        verdict=verdict,
    )
    if isinstance(outcome, Rejected):
        log.warning("request of %s refused: %s", requester_id, ", ".join(sorted(outcome.errors)))
        return build_refused_modal(outcome.errors, ref), None
    if isinstance(outcome, Ineligible):
        refusal = build_cannot_request_for(
            outcome.subject_id,
            outcome.reason,
            admins=outcome.admins,
            own=outcome.subject_id == requester_id,
        )
        return refusal, None
    return build_submitted_modal(outcome.request), outcome


async def _show(client: AsyncWebClient, view_id: str, view: View) -> None:
    """Replace the submitted modal with ``view``; if Slack refuses, the DMs still tell.

    A person who closed the modal meanwhile gets ``not_found``: nothing to show it in.
    """
    try:
        await client.views_update(view_id=view_id, view=view)
    except SlackApiError as error:
        code = error.response.get("error")
        if code == "not_found":
            log.info("request form %s closed before its outcome was shown", view_id)
        else:
            log.warning("request form %s: outcome not shown (%s)", view_id, code)


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen to the request modal's selects, options searches and submission."""

    async def on_request_choice_changed(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        view = body.get("view") or {}
        if not view.get("id"):
            return  # the same select outside a modal: there is no form of ours to refill
        ref = ModalRef.load(view.get("private_metadata"))
        draft = parse_request_state(view.get("state", {}).get("values"))
        application = _application(deps, ref, draft)
        may = _eligibility(deps, str(body["user"]["id"]), ref.subject_id)
        choices = await _choices(deps, application, may)
        selected = parse_request_state(view.get("state", {}).get("values"), choices=choices)
        if selected.application != application.name:
            selected = RequestDraft(application=application.name)
        applications = await _applications(deps.policy(), may)
        form = build_request_modal(
            choices,
            applications=[(a.name, a.title) for a in applications],
            selected=selected,
            on_behalf_of=ref.subject_id,
        )
        try:
            await client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=form)
        except SlackApiError as error:
            if error.response.get("error") not in ("hash_conflict", "not_found"):
                raise
            # A later pick already refilled the form, or the person closed it.
            log.info("request form %s not refilled: %s", view.get("id"), error.response["error"])

    async def on_request_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        # Only what the payload and the cached catalog tell is checked before the answer: Slack
        # waits 3 s for it. The look-ups, the tier check and the write come after, and the
        # same modal then shows their outcome.
        ref = ModalRef.load(view.get("private_metadata"))
        values = view.get("state", {}).get("values")
        application = _application(deps, ref, parse_request_state(values))
        offered = await deps.catalog.choices_for(application)
        draft = parse_request_state(values, choices=offered)
        requester_id = str(body["user"]["id"])
        errors = check_draft(draft, offered)
        # The tier the policy lists is known without asking anyone; the org's flags come later.
        too_long = duration_error(application, listed_tier(draft, offered), draft.duration)
        if too_long and "duration" not in errors:
            errors["duration"] = too_long
        if errors:
            log.info("request form of %s has errors: %s", requester_id, ", ".join(sorted(errors)))
            await ack(response_action="errors", errors=_field_errors(errors, view))
            return
        await ack(response_action="update", view=build_submitting_modal())
        try:
            shown, submitted = await _decide(
                deps, application, offered, draft, ref, requester_id, view
            )
        except SalesforceError as error:
            log.warning("request of %s not submitted: %s", requester_id, error.human)
            reason = f"Salesforce can't be reached right now ({error.human}). Nothing was stored."
            await _show(client, str(view.get("id")), build_unavailable_modal(reason))
            return
        except Exception:
            # Never leave "Submitting…" up: the store is the last step, so nothing was stored.
            failed = "Your request could not be submitted because of an error. Nothing was stored."
            await _show(client, str(view.get("id")), build_unavailable_modal(failed))
            raise
        if submitted is None or not submitted.created:
            await _show(client, str(view.get("id")), shown)
            return
        approved = await auto_approve(deps.repo, application, submitted.request)
        if approved is not None:
            shown = build_submitted_modal(approved.request, auto_approved=True)
        await _show(client, str(view.get("id")), shown)
        if approved is None:
            await deps.notifier.submitted(submitted.request)
            await deps.break_glass.offer(submitted.request)
            return
        await deps.notifier.auto_approved(approved.request)
        deps.worker.kick(approved.request.id)

    async def on_start_again(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        view = body.get("view") or {}
        if not view.get("id"):
            return
        ref = ModalRef.load(view.get("private_metadata"))
        requester = str(body["user"]["id"])
        await fill_request_modal(deps, client, view, requester=requester, subject=ref.subject_id)

    async def on_request_options(ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body.get("view") or {}
        ref = ModalRef.load(view.get("private_metadata"))
        values = view.get("state", {}).get("values")
        application = _application(deps, ref, parse_request_state(values))
        may = _eligibility(deps, str((body.get("user") or {}).get("id") or ""), ref.subject_id)
        choices = await _choices(deps, application, may)
        draft = parse_request_state(values, choices=choices)
        items = items_for_action(
            choices,
            str(body.get("action_id")),
            license_name=draft.license,
            applications=[(a.name, a.title) for a in await _applications(deps.policy(), may)],
        )
        await ack(options=build_options(items, str(body.get("value") or "")))

    for action in (ActionId.REQUEST_APPLICATION, ActionId.REQUEST_LICENSE):
        app.action({"action_id": action, "type": "block_actions"})(on_request_choice_changed)
    for action in (
        ActionId.REQUEST_APPLICATION,
        ActionId.REQUEST_LICENSE,
        ActionId.REQUEST_PROFILE,
        ActionId.REQUEST_ROLE,
        ActionId.REQUEST_PERMISSION_SETS,
        ActionId.REQUEST_DURATION,
    ):
        # Selects without dispatch_action send nothing; with external data they ask for options.
        app.options(action)(on_request_options)
    app.view(CallbackId.REQUEST)(on_request_submitted)
    app.action({"action_id": ActionId.REQUEST_START_AGAIN, "type": "block_actions"})(on_start_again)
