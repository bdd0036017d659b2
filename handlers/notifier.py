"""Posts and updates the bot's Slack messages for each step of a request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from slack_sdk.models.blocks import Block

from handlers.approval_asks import ApprovalAsks
from handlers.break_glass_notices import closed_offer
from handlers.cohort_messages import CohortMessages
from handlers.delivery import Keep, SlackDelivery
from handlers.flows.approval_scope import ScopeChange
from handlers.flows.approvals import Voted
from handlers.flows.eligibility import GroupMembers
from handlers.flows.hand_over import POLICY
from handlers.flows.labels import Labels
from handlers.flows.offboard import OffboardedGrant, Offboarding
from handlers.flows.offboard_recall import rebuilt
from handlers.flows.outcomes import (
    HandingOver,
    NeedsAdmin,
    Provisioned,
    RevocationBlocked,
    RevokedAccess,
    WillRetry,
)
from handlers.flows.revoke import is_offboarding, revocation_effect
from handlers.policy import Application, Policy
from handlers.views.approval import build_approval_outcome
from handlers.views.escalation import build_escalation
from handlers.views.help import COMMAND
from handlers.views.lifecycle import (
    build_extension_cancelled,
    build_reminder,
    build_undecided_escalation,
)
from handlers.views.message import SlackMessage
from handlers.views.notices import (
    ThreadEvent,
    build_admin_on_it,
    build_approved_setting_up,
    build_denied,
    build_expiring_soon,
    build_handing_over,
    build_provisioned,
    build_request_expired,
    build_revoked,
    build_thread_reply,
    build_waiting_for_owners,
)
from handlers.views.problems import Escalation, EscalationKind, Resolution
from handlers.views.reapproval import (
    build_approval_withdrawn,
    build_change_block,
    build_sent_back,
)
from handlers.views.revocation import build_offboarding_summary
from handlers.views.transfer import build_transfer_reply, build_transfer_summary
from salesforce.blockers import classify
from salesforce.models import Blocker
from storage.models import AccessRequest, Kind, MessageRef, State
from storage.requests import RequestRepository
from storage.transfers import Transfer, Transfers

log = logging.getLogger(__name__)

APPROVAL = "approval"
ESCALATION = "escalation"
UNDECIDED = "undecided"
EXPIRY_WARNING = "expiry_warning"
TRANSFER_REPLY = "transfer_reply"  # a transfer's progress under the offboarding summary
OFFBOARDING_SUMMARY = "offboarding_summary"  # kept when the policy's transfer shows under it
HANDING_OVER = "handing_over"  # "frozen until handed over", then the outcome, in one DM
TRANSFER_SUMMARY = "transfer_summary"  # the policy's transfer on a plain revocation, kept


class Notifier:
    """Every message people get about a request goes through here."""

    def __init__(
        self,
        delivery: SlackDelivery,
        repo: RequestRepository,
        policy: Callable[[], Policy],
        *,
        labels: Callable[[], Awaitable[Labels]],
        login_url: str,
        instance_url: str = "",
        command: str = COMMAND,
        cohorts: CohortMessages | None = None,
        groups: GroupMembers | None = None,
        transfers: Transfers | None = None,
    ) -> None:
        self._delivery = delivery
        self._asks = ApprovalAsks(repo, labels=labels, groups=groups)
        self._repo = repo
        self._policy = policy
        # Requests store API names; messages show the catalog's labels (admins see both).
        self._labels = labels
        self._login_url = login_url
        self._instance_url = instance_url
        self._command = command
        self._cohorts = cohorts
        self._transfers = transfers
        self._reply_locks: dict[str, asyncio.Lock] = {}  # one thread reply per summary

    def _app(self, request: AccessRequest) -> Application:
        policy = self._policy()
        return policy.application(request.application) or policy.default_application

    async def _post(
        self,
        channel: str,
        message: SlackMessage,
        *,
        thread_ts: str | None = None,
        keep: Keep | None = None,
    ) -> tuple[str, str] | None:
        return await self._delivery.post(channel, message, thread_ts=thread_ts, keep=keep)

    async def _update(self, ref: MessageRef, message: SlackMessage) -> bool:
        return await self._delivery.update(ref, message)

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
        at: datetime | None = None,
    ) -> None:
        """One line under each approval message, so the story stays in one place."""
        grant_id = request.grant_id or request.id
        grant = await self._repo.get(grant_id) if request.grant_id else request
        if grant is None:
            return
        reply = build_thread_reply(
            event, grant, self._app(grant), actor=actor, detail=detail, at=at
        )
        for ref in await self._repo.messages(grant.id, APPROVAL):
            await self._post(ref.channel, reply, thread_ts=ref.ts)

    async def sent_back(
        self, request: AccessRequest, change: ScopeChange, *, by: str, approved_by: str | None
    ) -> None:
        """An admin changed an approved request beyond its approval: the owners decide again.

        The earlier approval messages say it no longer counts; new ones show what changed.
        """
        app = self._app(request)
        withdrawn = build_approval_withdrawn(request, app, by=by)
        for ref in await self._repo.messages(request.id):
            if ref.purpose in (APPROVAL, UNDECIDED):
                await self._update(ref, withdrawn)
        changed = build_change_block(change, by=by, approved_by=approved_by)
        await self._ask_owners(request, app, changed=changed)
        await self._tell_people(request, build_sent_back(request, app, change, by=by))

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
        await self._ask_owners(request, app)
        await self._tell_people(request, build_waiting_for_owners(request, app))

    async def _ask_owners(
        self, request: AccessRequest, app: Application, *, changed: Block | None = None
    ) -> None:
        targets = await self._asks.targets(request, app)
        if app.cohort_window and self._cohorts is not None and changed is None:
            # One list per owner for a burst of requests; it shows the request's state itself.
            for target in targets:
                await self._cohorts.ask(request, app, target)
            return
        ask = await self._asks.message(request, app, changed=changed)
        for target in targets:
            await self._post(
                target,
                ask,
                keep=Keep(request.id, APPROVAL, None if target == app.approval_channel else target),
            )
        now = await self._repo.get(request.id)
        if now is not None and now.state is not State.PENDING_APPROVAL:
            # An owner decided while the asks were still going out; decided() updated only
            # the asks stored by then, so the later ones lose their buttons here.
            await self._close_asks(now)

    async def auto_approved(self, request: AccessRequest) -> None:
        """Approved by the policy: the owners get an FYI (no buttons), the requester the news."""
        app = self._app(request)
        fyi, targets = await self._asks.auto_approved(request, app)
        for target in targets:
            recipient = None if target == app.approval_channel else target
            await self._post(target, fyi, keep=Keep(request.id, APPROVAL, recipient))
        await self._tell_people(request, build_approved_setting_up(request, app))

    async def voted(self, outcome: Voted) -> None:
        """An approval counted: every ask shows the progress; a finished stage asks the next."""
        request = outcome.request
        app = self._app(request)
        ask = await self._asks.message(request, app)
        for ref in await self._repo.messages(request.id, APPROVAL):
            await self._update(ref, ask)
        if outcome.advanced:
            await self._ask_owners(request, app)

    async def _close_asks(self, request: AccessRequest) -> None:
        """Replace the buttons of every approval message with the decision."""
        app = self._app(request)
        shown = (await self._labels()).shown(request)
        outcome = build_approval_outcome(
            request, app, subject_name=request.subject_name, shown=shown
        )
        for ref in await self._repo.messages(request.id):
            if ref.purpose in (APPROVAL, UNDECIDED):
                await self._update(ref, outcome)
            elif closed := closed_offer(ref.purpose, request, app):
                await self._update(ref, closed)
        if self._cohorts is not None:
            await self._cohorts.changed(request)

    async def cohort_members(self, cohort_id: str) -> list[str]:
        """The requests an owner's list shows, in the order they arrived."""
        return await self._cohorts.members(cohort_id) if self._cohorts is not None else []

    async def decided(self, request: AccessRequest) -> None:
        """Replace the buttons of every approval message with the outcome; tell the requester."""
        app = self._app(request)
        await self._close_asks(request)
        if request.state is State.APPROVED:
            await self._tell_people(request, build_approved_setting_up(request, app))
        elif request.state is State.DENIED:
            await self._tell_people(request, build_denied(request, app, command=self._command))

    async def approved(self, request: AccessRequest) -> None:
        """An Approve click's messages, while provisioning (kicked just before) runs.

        The requester's "approved" DM is asked for before anything here waits, so it takes
        its turn in the conversation ahead of what provisioning says next; the approval
        messages lose their buttons after it.
        """
        await self._tell_people(request, build_approved_setting_up(request, self._app(request)))
        await self._close_asks(request)

    async def extension_cancelled(self, extension: AccessRequest) -> None:
        """An extension ended with its grant: its approval messages say so, its requester hears."""
        await self.decided(extension)
        await self._tell_people(
            extension, build_extension_cancelled(extension, self._app(extension))
        )
        ended = "Cancelled: the access it would extend ended first."
        await self.close_escalation(extension, Resolution(text=ended, success=False))

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
        for older in outcome.supersedes:
            # Its owners approved a profile that no longer applies: say so where they decided.
            until = f"until {request.expires_at:%d %b %Y}" if request.expires_at else "for good"
            await self._thread(
                older,
                ThreadEvent.SUPERSEDED,
                detail=f"Request {request.id} gives profile {request.profile or '?'} {until}; "
                "this one's comes back when that request ends. Its permission sets stay.",
            )

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
        """Tell the admins what blocks the deactivation; a later failure updates the same DM."""
        revocation = outcome.revocation
        issue = Escalation.from_blocked(
            outcome.blocked,
            instance_url=self._instance_url,
            sf_username=revocation.sf_username,
            holdings=outcome.holdings,
        )
        if self._transfers is not None:  # a transfer started earlier stays in the DM
            transfer = await self._transfers.for_revocation(revocation.id)
            issue = issue.model_copy(update={"transfer": transfer})
        entries = await self._repo.audit.for_request(revocation.id)
        tries = sum(1 for entry in entries if entry.action == "deactivation_blocked")
        if tries > 1:
            again = f"Tried again: Salesforce still refuses. {issue.summary}"
            issue = issue.model_copy(update={"attempts": tries, "summary": again})
        first_time = await self._escalate(revocation, issue)
        if first_time and revocation.requester_id != "bot":
            app = self._app(revocation)
            kind = EscalationKind.BLOCKED_DEACTIVATION
            await self._post(revocation.requester_id, build_admin_on_it(revocation, app, kind=kind))

    async def revoked(
        self,
        outcome: RevokedAccess,
        *,
        tell_subject: bool = True,
        resolution: Resolution | None = None,
    ) -> None:
        """Tell the person (and whoever asked for it) the access is gone; close any escalation."""
        # tell_subject is False for people who left Slack: nobody would read it.
        grant = outcome.grant or outcome.revocation
        app = self._app(grant)
        revocation = outcome.revocation
        by = revocation.requester_id if revocation.requester_id != "bot" else None
        labels = await self._labels()
        effect = outcome.effect_in(labels.permission_set)
        if tell_subject:
            await self._revoked_dm(
                revocation.id,
                grant.subject_id,
                build_revoked(grant, app, by=by, reason=revocation.reason, effect=effect),
            )
        if by and by != grant.subject_id:
            await self._revoked_dm(
                revocation.id,
                by,
                build_revoked(revocation, app, by=by, reason=revocation.reason, effect=effect),
            )
        await self._thread(revocation, ThreadEvent.REVOKED, actor=by)
        if is_offboarding(revocation):
            await self.refresh_summary(outcome)
        transfer = outcome.transfer
        if transfer is not None and transfer.decided_by == POLICY:
            # A leaver's: the outcome goes under the offboarding summary (one DM); otherwise
            # the admins get the transfer's own summary.
            reply = build_transfer_reply(transfer, deactivated=outcome.deactivated)
            if not await self._under_summary(revocation.id, reply):
                await self._transfer_summary(revocation, transfer)
        for_admins = outcome.effect_in(lambda n: labels.permission_set(n, with_name=True))
        await self.close_escalation(revocation, resolution or Resolution(text=for_admins))

    async def _revoked_dm(self, revocation_id: str, user: str, message: SlackMessage) -> None:
        """The outcome DM; it replaces the "frozen while handed over" DM when there is one."""
        waited = [
            ref
            for ref in await self._repo.messages(revocation_id, HANDING_OVER)
            if ref.recipient == user
        ]
        for ref in waited:
            await self._update(ref, message)
        if not waited:
            await self._post(user, message)

    async def handing_over(self, outcome: HandingOver) -> None:
        """The policy's transfer started on a plain revocation: the people who hear of the
        revocation learn at once that the user is frozen until its records are handed over."""
        revocation = outcome.revocation
        if not outcome.started or is_offboarding(revocation):
            return  # a leaver's admins see it in the offboarding summary
        grant = await self._repo.get(revocation.grant_id) if revocation.grant_id else None
        grant = grant or revocation
        app = self._app(grant)
        by = revocation.requester_id if revocation.requester_id != "bot" else None
        for user in dict.fromkeys(u for u in (grant.subject_id, by) if u):
            shown = grant if user == grant.subject_id else revocation
            await self._post(
                user,
                build_handing_over(shown, app, by=by, reason=revocation.reason),
                keep=Keep(revocation.id, HANDING_OVER, user),
            )

    async def offboarded(self, report: Offboarding, *, subject_name: str = "") -> None:
        """One summary DM to each admin concerned when a member left Slack: posted once per
        departure (where it landed is recorded for each of its requests, so a restart does not
        post it again), then updated in place as later outcomes come."""
        requests = [item.revocation for item in report.revoked] + list(report.cancelled)
        if not requests:
            return
        lock = self._reply_locks.setdefault(f"summary:{report.subject_id}", asyncio.Lock())
        async with lock:  # a departure's batch and a stray run can finish together
            posted = await self._summaries(requests)
            if posted:
                await self._update_summary(report, posted, subject_name=subject_name)
            else:
                await self._post_summary(report, requests, subject_name=subject_name)
        for item in report.revoked:
            if isinstance(item.outcome, HandingOver) and self._transfers is not None:
                transfer = await self._transfers.get(item.outcome.transfer.id)
                if transfer is not None:
                    await self.transfer_progress(transfer)

    async def _summaries(self, requests: list[AccessRequest]) -> list[MessageRef]:
        """The offboarding summary these requests were listed in, one ref per admin."""
        for request in requests:
            found = await self._repo.messages(request.id, OFFBOARDING_SUMMARY)
            if found:
                return found
        return []

    def _summary(self, report: Offboarding, subject_name: str) -> SlackMessage:
        return build_offboarding_summary(
            report, title_of=lambda r: self._app(r).title, subject_name=subject_name
        )

    async def _post_summary(
        self, report: Offboarding, requests: list[AccessRequest], *, subject_name: str
    ) -> None:
        summary = self._summary(report, subject_name)
        for admin in dict.fromkeys(a for r in requests for a in self._app(r).admins):
            keep = Keep(requests[0].id, OFFBOARDING_SUMMARY, admin)
            posted = await self._post(admin, summary, keep=keep)
            if posted is not None:
                await self._list_in(posted, admin, [r.id for r in requests[1:]])

    async def _list_in(self, posted: tuple[str, str], admin: str, request_ids: list[str]) -> None:
        for request_id in request_ids:
            ref = MessageRef(
                request_id=request_id,
                purpose=OFFBOARDING_SUMMARY,
                channel=posted[0],
                ts=posted[1],
                recipient=admin,
            )
            await self._repo.add_message(ref)

    async def _update_summary(
        self, report: Offboarding, posted: list[MessageRef], *, subject_name: str
    ) -> None:
        """The departure's summary again, every line as it stands now, in the same DMs."""
        listed = await self._repo.messages_at(posted[0].channel, posted[0].ts, OFFBOARDING_SUMMARY)
        whole = await rebuilt(self._repo, self._transfers, report, [r.request_id for r in listed])
        requests = [i.revocation for i in whole.revoked] + list(whole.cancelled)
        name = subject_name or next((r.subject_name for r in requests if r.subject_name), "")
        summary = self._summary(whole, name)
        known = {x.request_id for x in listed}
        new = [r.id for r in requests if r.id not in known]
        for ref in posted:
            await self._update(ref, summary)
            await self._list_in((ref.channel, ref.ts), ref.recipient or "", new)

    async def refresh_summary(self, outcome: RevokedAccess) -> None:
        """A leaver's revocation finished after its summary went (the policy's transfer was
        done): that summary shows it."""
        revocation = outcome.revocation
        item = OffboardedGrant(revocation=revocation, outcome=outcome)
        report = Offboarding(subject_id=revocation.subject_id, revoked=(item,))
        lock = self._reply_locks.setdefault(f"summary:{revocation.subject_id}", asyncio.Lock())
        async with lock:
            posted = await self._summaries([revocation])
            if posted:
                await self._update_summary(report, posted, subject_name="")

    async def _escalate(self, request: AccessRequest, issue: Escalation) -> bool:
        """Post or update the admins' DM; True when it was posted for the first time."""
        app = self._app(request)
        shown = (await self._labels()).shown(request, with_names=True)
        message = build_escalation(request, app, issue, shown=shown)
        existing = await self._repo.messages(request.id, ESCALATION)
        if existing:
            for ref in existing:
                await self._update(ref, message)
            return False
        for admin in app.admins:
            await self._post(
                admin,
                message,
                keep=Keep(request.id, ESCALATION, admin),
            )
        return True

    def _blocked_issue(self, revocation: AccessRequest, transfer: Transfer | None) -> Escalation:
        """A blocked deactivation's DM as stored: the blocker from Salesforce's message."""
        raw = revocation.last_error or ""
        info = classify(raw)
        return Escalation(
            kind=EscalationKind.BLOCKED_DEACTIVATION,
            summary=info.explanation if raw else "",
            fix=info.fix if raw else "",
            raw_message=raw,
            blocker=info.blocker,
            sf_user_id=revocation.sf_user_id,
            sf_username=revocation.sf_username,
            instance_url=self._instance_url,
            setup=info.setup,
            transfer=transfer,
        )

    async def transfer_progress(self, transfer: Transfer) -> None:
        """Show how far a hand-over got in the DM it was started from (progress, outcome)."""
        if not transfer.revocation_id:
            return
        revocation = await self._repo.get(transfer.revocation_id)
        if revocation is None:
            return
        if revocation.state is State.BLOCKED:
            await self._escalate(revocation, self._blocked_issue(revocation, transfer))
            return
        if transfer.decided_by == POLICY and not transfer.channel:
            done = revocation.state is State.DONE
            reply = build_transfer_reply(transfer, deactivated=done)
            if not await self._under_summary(revocation.id, reply) and done:
                # A plain revocation's: its own summary, updated (a retry of failed rows).
                await self._transfer_summary(revocation, transfer, post=False)
            return
        if not transfer.channel or not transfer.thread_ts:
            return
        reply = build_transfer_reply(transfer)
        existing = await self._repo.messages(revocation.id, TRANSFER_REPLY)
        for ref in existing:
            await self._update(ref, reply)
        if not existing:
            await self._post(
                transfer.channel,
                reply,
                thread_ts=transfer.thread_ts,
                keep=Keep(revocation.id, TRANSFER_REPLY, transfer.decided_by),
            )

    async def _transfer_summary(
        self, revocation: AccessRequest, transfer: Transfer, *, post: bool = True
    ) -> None:
        """The admins' summary of the policy's transfer on a plain revocation: posted once
        (kept, with "Retry failed rows" when rows were refused), then updated in place."""
        summary = build_transfer_summary(revocation, self._app(revocation).title, transfer)
        existing = await self._repo.messages(revocation.id, TRANSFER_SUMMARY)
        for ref in existing:
            await self._update(ref, summary)
        if existing or not post:
            return
        for admin in self._app(revocation).admins:
            await self._post(admin, summary, keep=Keep(revocation.id, TRANSFER_SUMMARY, admin))

    async def _under_summary(self, revocation_id: str, reply: SlackMessage) -> bool:
        """Show ``reply`` in the thread of each offboarding summary that announced the
        policy's transfer (posted once, then updated); False when there is no summary."""
        lock = self._reply_locks.setdefault(revocation_id, asyncio.Lock())
        async with lock:  # progress and outcome can race to post the first reply
            summaries = await self._repo.messages(revocation_id, OFFBOARDING_SUMMARY)
            replies = {
                r.recipient: r for r in await self._repo.messages(revocation_id, TRANSFER_REPLY)
            }
            for ref in summaries:
                shown = replies.get(ref.recipient)
                if shown is not None:
                    await self._update(shown, reply)
                    continue
                keep = Keep(revocation_id, TRANSFER_REPLY, ref.recipient)
                await self._post(ref.channel, reply, thread_ts=ref.ts, keep=keep)
        return bool(summaries)

    async def close_escalation(self, request: AccessRequest, resolution: Resolution) -> None:
        """Replace an open escalation's buttons with how it ended."""
        existing = await self._repo.messages(request.id, ESCALATION)
        if not existing:
            return
        issue = Escalation.from_problem(request.needs_admin_reason or "other")
        if request.kind is Kind.REVOKE and request.needs_admin_reason in set(Blocker):
            # A blocked deactivation closes on the message the admins know, link included.
            transfer = None
            if self._transfers is not None:
                transfer = await self._transfers.for_revocation(request.id)
            issue = Escalation(
                kind=EscalationKind.BLOCKED_DEACTIVATION,
                sf_user_id=request.sf_user_id,
                sf_username=request.sf_username,
                instance_url=self._instance_url,
                transfer=transfer,
            )
        shown = (await self._labels()).shown(request, with_names=True)
        message = build_escalation(
            request, self._app(request), issue, resolution=resolution, shown=shown
        )
        for ref in existing:
            await self._update(ref, message)

    async def reminded(self, request: AccessRequest, number: int) -> None:
        """Remind the owners in the thread of each approval message."""
        app = self._app(request)
        reminder = build_reminder(request, app, number=number)
        refs = await self._asks.to_remind(
            request, app, await self._repo.messages(request.id, APPROVAL)
        )
        for ref in refs:
            await self._post(ref.channel, reminder, thread_ts=ref.ts)
        # A request listed in an owner's cohort is reminded of in the list's thread.
        places = await self._cohorts.places(request) if self._cohorts else []
        named = build_reminder(request, app, number=number, in_list=True)
        for channel, ts in places:
            await self._post(channel, named, thread_ts=ts)

    async def asked_admins(self, request: AccessRequest, reminders: int) -> None:
        """Ask the admins to nudge the owners of a request nobody decides."""
        app = self._app(request)
        shown = (await self._labels()).shown(request, with_names=True)
        ask = build_undecided_escalation(request, app, reminders=reminders, shown=shown)
        for admin in app.admins:
            await self._post(
                admin,
                ask,
                keep=Keep(request.id, UNDECIDED, admin),
            )
        await self._thread(request, ThreadEvent.ESCALATED)

    async def expired(self, request: AccessRequest) -> None:
        """Nobody decided in time: no buttons left anywhere, and the requester is told."""
        await self.decided(request)
        await self._tell_people(
            request, build_request_expired(request, self._app(request), command=self._command)
        )
        await self._thread(request, ThreadEvent.EXPIRED)

    async def expiring_soon(self, grant: AccessRequest) -> None:
        """The access ends soon: a DM with Extend and Revoke now."""
        effect = await revocation_effect(self._repo, grant)
        labels = await self._labels()
        notice = build_expiring_soon(
            grant, self._app(grant), effect=effect.sentence(labels.permission_set)
        )
        await self._post(
            grant.subject_id,
            notice,
            keep=Keep(grant.id, EXPIRY_WARNING, grant.subject_id),
        )

    async def direct(self, user_id: str, message: SlackMessage) -> None:
        """A DM about no single request (the reconciliation digest)."""
        await self._post(user_id, message)

    async def retrying(self, outcome: WillRetry) -> None:
        """A passing Salesforce failure, told once in the approval threads (not every attempt)."""
        if outcome.attempt == 1:
            await self._thread(
                outcome.request, ThreadEvent.RETRYING, detail=outcome.human, at=outcome.at
            )
