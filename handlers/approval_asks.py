"""The approval rules' side of the messages: who is asked at a request's stage, the ask they
get (with its progress), who is reminded, and who hears of an auto-approval."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from slack_sdk.models.blocks import Block

from handlers.flows.approvals import needs_several, progress_of, request_tier, stage_approvers
from handlers.flows.auto_approve import RULE as AUTO_RULE
from handlers.flows.eligibility import GroupMembers
from handlers.flows.labels import Labels
from handlers.policy import Application
from handlers.views.approval import build_approval_request, build_auto_approved_fyi
from handlers.views.approval_progress import progress_text
from handlers.views.message import SlackMessage
from storage.models import AccessRequest, MessageRef
from storage.requests import RequestRepository


class ApprovalAsks:
    """Composes approval asks under the policy's approval rules; the notifier posts them."""

    def __init__(
        self,
        repo: RequestRepository,
        *,
        labels: Callable[[], Awaitable[Labels]],
        groups: GroupMembers | None = None,
    ) -> None:
        self._repo = repo
        self._labels = labels
        # Approvers named by user group are read from Slack when their stage is asked.
        self._groups = groups

    async def message(
        self, request: AccessRequest, app: Application, *, changed: Block | None = None
    ) -> SlackMessage:
        """The approval ask, with its progress when the tier needs more than one click."""
        shown = (await self._labels()).shown(request)
        progress = None
        if needs_several(app, request_tier(request)):
            votes = await self._repo.votes.of(request.id)
            progress = progress_text(progress_of(app, request, votes))
        return build_approval_request(
            request,
            app,
            subject_name=request.subject_name,
            shown=shown,
            changed=changed,
            progress=progress,
        )

    async def stage_people(self, request: AccessRequest, app: Application) -> frozenset[str]:
        """Who approves at the stage the request waits at (owners when it has no list)."""
        stages = app.stages_for(request_tier(request))
        stage = stages[min(request.approval_stage, len(stages) - 1)]
        if stage.approvers is None or self._groups is None:
            return frozenset(stage.approvers or app.owners)
        return await stage_approvers(stage, app, self._groups)

    async def targets(self, request: AccessRequest, app: Application) -> list[str]:
        """The approval channel, or each approver of the current stage by DM."""
        stages = app.stages_for(request_tier(request))
        stage = stages[min(request.approval_stage, len(stages) - 1)]
        if app.approval_channel and stage.approvers is None:
            return [app.approval_channel]
        people = sorted(await self.stage_people(request, app))
        if stage.approvers is None:
            people = list(app.owners)  # in the policy's order, as before
        own = (request.requester_id, request.subject_id)
        return [p for p in people if p not in own] or people

    async def to_remind(
        self, request: AccessRequest, app: Application, refs: Sequence[MessageRef]
    ) -> list[MessageRef]:
        """The asks to remind: only the stage the request waits at (earlier ones are done)."""
        if not needs_several(app, request_tier(request)):
            return list(refs)
        people = await self.stage_people(request, app)
        return [r for r in refs if r.recipient is None or r.recipient in people]

    async def auto_approved(
        self, request: AccessRequest, app: Application
    ) -> tuple[SlackMessage, list[str]]:
        """The FYI (no buttons) of an auto-approval, and where it goes."""
        shown = (await self._labels()).shown(request)
        fyi = build_auto_approved_fyi(request, app, shown=shown, rule=AUTO_RULE)
        own = (request.requester_id, request.subject_id)
        targets = (
            [app.approval_channel]
            if app.approval_channel
            else [o for o in app.owners if o not in own] or list(app.owners)
        )
        return fyi, targets
