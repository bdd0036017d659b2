"""Posts and updates the bot's Slack messages for each step of a request."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.flows.outcomes import NeedsAdmin, Provisioned, RevocationBlocked, RevokedAccess
from handlers.policy import Application, Policy
from handlers.views.approval import build_approval_outcome, build_approval_request
from handlers.views.escalation import build_escalation
from handlers.views.message import SlackMessage
from handlers.views.notices import (
    ThreadEvent,
    build_admin_on_it,
    build_approved_setting_up,
    build_denied,
    build_provisioned,
    build_revoked,
    build_thread_reply,
    build_waiting_for_owners,
)
from handlers.views.problems import Escalation, Resolution
from storage.models import AccessRequest, MessageRef, State
from storage.requests import RequestRepository

log = logging.getLogger(__name__)

APPROVAL = "approval"
ESCALATION = "escalation"


class Notifier:
    """Every message people get about a request goes through here."""

    def __init__(
        self,
        client: AsyncWebClient,
        repo: RequestRepository,
        policy: Callable[[], Policy],
        *,
        login_url: str,
        instance_url: str = "",
    ) -> None:
        self._client = client
        self._repo = repo
        self._policy = policy
        self._login_url = login_url
        self._instance_url = instance_url

    def _app(self, request: AccessRequest) -> Application:
        policy = self._policy()
        return policy.application(request.application) or policy.default_application

    async def _post(
        self, channel: str, message: SlackMessage, *, thread_ts: str | None = None
    ) -> tuple[str, str] | None:
        try:
            response = await self._client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:
            log.warning("could not post to %s: %s", channel, error.response.get("error"))
            return None
        return str(response["channel"]), str(response["ts"])

    async def _update(self, ref: MessageRef, message: SlackMessage) -> bool:
        try:
            await self._client.chat_update(
                channel=ref.channel, ts=ref.ts, text=message.text, blocks=message.blocks
            )
        except SlackApiError as error:
            log.warning(
                "could not update %s/%s: %s", ref.channel, ref.ts, error.response.get("error")
            )
            return False
        return True

    async def _tell_people(self, request: AccessRequest, message: SlackMessage) -> None:
        """DM the subject, and the requester too when they asked on someone's behalf."""
        for user in dict.fromkeys((request.requester_id, request.subject_id)):
            await self._post(user, message)

    async def _thread(
        self,
        request: AccessRequest,
        event: ThreadEvent,
        *,
        actor: str | None = None,
        detail: str = "",
    ) -> None:
        """One line under each approval message, so the story stays in one place."""
        grant_id = request.grant_id or request.id
        grant = await self._repo.get(grant_id) if request.grant_id else request
        if grant is None:
            return
        reply = build_thread_reply(event, grant, self._app(grant), actor=actor, detail=detail)
        for ref in await self._repo.messages(grant.id, APPROVAL):
            await self._post(ref.channel, reply, thread_ts=ref.ts)

    async def submitted(self, request: AccessRequest) -> None:
        """Ask the owners (DM each, or the approval channel) and tell the requester."""
        if request.state is State.NEEDS_ADMIN:
            await self.needs_admin(
                NeedsAdmin(
                    request=request,
                    problem=request.needs_admin_reason or "incomplete",
                    human="The request is missing details Salesforce needs.",
                    fix="Complete the request; it then goes to the owners for approval.",
                )
            )
            return
        app = self._app(request)
        ask = build_approval_request(request, app, subject_name=request.subject_name)
        targets = (
            [app.approval_channel]
            if app.approval_channel
            else [
                owner
                for owner in app.owners
                if owner not in (request.requester_id, request.subject_id)
            ]
            or list(app.owners)
        )
        for target in targets:
            posted = await self._post(target, ask)
            if posted:
                await self._repo.add_message(
                    MessageRef(
                        request_id=request.id,
                        purpose=APPROVAL,
                        channel=posted[0],
                        ts=posted[1],
                        recipient=None if target == app.approval_channel else target,
                    )
                )
        await self._tell_people(request, build_waiting_for_owners(request, app))

    async def decided(self, request: AccessRequest) -> None:
        """Replace the buttons of every approval message with the outcome; tell the requester."""
        app = self._app(request)
        outcome = build_approval_outcome(request, app, subject_name=request.subject_name)
        for ref in await self._repo.messages(request.id, APPROVAL):
            await self._update(ref, outcome)
        if request.state is State.APPROVED:
            await self._tell_people(request, build_approved_setting_up(request, app))
        elif request.state is State.DENIED:
            await self._tell_people(request, build_denied(request, app))

    async def provisioned(self, outcome: Provisioned) -> None:
        """The user is ready: DM with username and login button, thread line, escalation closed."""
        request = outcome.request
        app = self._app(request)
        await self._tell_people(
            request,
            build_provisioned(
                request,
                app,
                username=outcome.result.username,
                login_url=self._login_url,
            ),
        )
        await self._thread(request, ThreadEvent.PROVISIONED)
        await self.close_escalation(request, Resolution(text="The user is set up in Salesforce."))

    async def needs_admin(self, outcome: NeedsAdmin) -> None:
        """One escalation per request: post it to each admin once, update it afterwards."""
        request = outcome.request
        issue = Escalation.from_problem(
            outcome.problem,
            human=outcome.human,
            fix=outcome.fix,
            raw=outcome.raw,
            suggested_username=outcome.suggested_username,
        ).model_copy(update={"attempts": request.attempts})
        first_time = await self._escalate(request, issue)
        if first_time and request.kind.value == "grant":
            app = self._app(request)
            await self._tell_people(request, build_admin_on_it(request, app, kind=issue.kind))
            await self._thread(request, ThreadEvent.NEEDS_ADMIN)

    async def revocation_blocked(self, outcome: RevocationBlocked) -> None:
        """Tell the admins what blocks the deactivation and how to clear it."""
        issue = Escalation.from_blocked(
            outcome.blocked,
            instance_url=self._instance_url,
            sf_username=outcome.revocation.sf_username,
        )
        await self._escalate(outcome.revocation, issue)

    async def revoked(self, outcome: RevokedAccess) -> None:
        """Tell the person their access is gone; close an escalation that was open."""
        grant = outcome.grant or outcome.revocation
        app = self._app(grant)
        revocation = outcome.revocation
        by = revocation.requester_id if revocation.requester_id != "bot" else None
        await self._post(
            grant.subject_id, build_revoked(grant, app, by=by, reason=revocation.reason)
        )
        await self._thread(revocation, ThreadEvent.REVOKED, actor=by)
        await self.close_escalation(revocation, Resolution(text="The user is deactivated."))

    async def _escalate(self, request: AccessRequest, issue: Escalation) -> bool:
        """Post or update the admins' DM; True when it was posted for the first time."""
        app = self._app(request)
        message = build_escalation(request, app, issue)
        existing = await self._repo.messages(request.id, ESCALATION)
        if existing:
            for ref in existing:
                await self._update(ref, message)
            return False
        for admin in app.admins:
            posted = await self._post(admin, message)
            if posted:
                await self._repo.add_message(
                    MessageRef(
                        request_id=request.id,
                        purpose=ESCALATION,
                        channel=posted[0],
                        ts=posted[1],
                        recipient=admin,
                    )
                )
        return True

    async def close_escalation(self, request: AccessRequest, resolution: Resolution) -> None:
        """Replace an open escalation's buttons with how it ended."""
        existing = await self._repo.messages(request.id, ESCALATION)
        if not existing:
            return
        issue = Escalation.from_problem(request.needs_admin_reason or "other")
        message = build_escalation(request, self._app(request), issue, resolution=resolution)
        for ref in existing:
            await self._update(ref, message)
