"""Approvals by several people, in stages: count distinct approvers, move stage by stage.

A request whose tier needs one owner goes through ``decide`` exactly as before. Otherwise each
approval is stored (once per person), a stage that has its count moves the request to the
next one (its approvers hear of it only then), and the last stage's final approval is the
ordinary decision, which the converger provisions. A deny at any stage ends the request.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from handlers.approval_rules import Stage, Tier
from handlers.flows.decide import audit_refusal, check_decider, decide, record_decision
from handlers.flows.eligibility import GroupMembers
from handlers.flows.outcomes import Decided, RefusalReason, Refused
from handlers.flows.provision import ProvisionStart
from handlers.policy import Application, Policy
from handlers.request_log import log_approval_counted
from storage.models import AccessRequest, ApprovalVote, Kind, State
from storage.requests import RequestRepository


class StageProgress(BaseModel):
    """One stage: how many approvals it needs and who gave them."""

    model_config = ConfigDict(frozen=True)

    name: str
    required: int
    approved_by: tuple[str, ...] = ()
    owners: bool = True  # the application's owners approve it (not a list of its own)

    @property
    def done(self) -> bool:
        """Whether the stage has its count."""
        return len(self.approved_by) >= self.required


class ApprovalProgress(BaseModel):
    """Where a request of several approvals stands."""

    model_config = ConfigDict(frozen=True)

    stages: tuple[StageProgress, ...]
    current: int

    @property
    def waiting(self) -> StageProgress:
        """The stage the request waits at."""
        return self.stages[min(self.current, len(self.stages) - 1)]


class Voted(BaseModel):
    """An approval counted (or, ``repeated``, one given before); the request still waits.

    ``advanced``: the approval completed a stage, whose successor's approvers are asked now.
    """

    model_config = ConfigDict(frozen=True)

    request: AccessRequest
    progress: ApprovalProgress
    advanced: bool = False
    repeated: bool = False


def request_tier(request: AccessRequest) -> Tier:
    """The tier stored on the request (standard for anything unknown)."""
    return Tier(request.tier) if request.tier in set(Tier) else Tier.STANDARD


def needs_several(app: Application, tier: Tier) -> bool:
    """Whether ``tier`` asks more than any one owner's click."""
    stages = app.stages_for(tier)
    return len(stages) > 1 or stages[0].approvers is not None or stages[0].required > 1


async def stage_approvers(stage: Stage, app: Application, groups: GroupMembers) -> frozenset[str]:
    """Everyone who may approve at ``stage``: its members and the members of its user groups."""
    pool = stage.approvers or app.owners
    people = {p for p in pool if not p.startswith("S")}
    for group in (p for p in pool if p.startswith("S")):
        people |= await groups.members(group)
    return frozenset(people)


def progress_of(
    app: Application, request: AccessRequest, votes: list[ApprovalVote]
) -> ApprovalProgress:
    """The request's stages with the approvals each has."""
    stages = app.stages_for(request_tier(request))
    return ApprovalProgress(
        stages=tuple(
            StageProgress(
                name=stage.name,
                required=stage.required,
                approved_by=tuple(v.approver for v in votes if v.stage == i),
                owners=stage.approvers is None,
            )
            for i, stage in enumerate(stages)
        ),
        current=request.approval_stage,
    )


async def check_approver(
    policy: Policy, groups: GroupMembers, request: AccessRequest | None, actor: str
) -> Refused | None:
    """Why ``actor`` may not approve or deny ``request`` now, or None when they may."""
    if request is None or request.kind is not Kind.GRANT:
        return Refused(reason=RefusalReason.NOT_FOUND)
    app = policy.application(request.application)
    if app is None or not needs_several(app, request_tier(request)):
        return check_decider(policy, request, actor)
    if request.state is not State.PENDING_APPROVAL:
        return Refused(
            reason=RefusalReason.ALREADY_DECIDED, request=request, decided_by=request.decided_by
        )
    stages = app.stages_for(request_tier(request))
    stage = stages[min(request.approval_stage, len(stages) - 1)]
    approvers = await stage_approvers(stage, app, groups)
    if actor not in approvers:
        reason = RefusalReason.NOT_OWNER if stage.approvers is None else RefusalReason.NOT_APPROVER
        return Refused(reason=reason, request=request, helpers=tuple(sorted(approvers)))
    if actor in (request.requester_id, request.subject_id):
        return Refused(reason=RefusalReason.OWN_REQUEST, request=request)
    return None


async def approve_or_deny(
    repo: RequestRepository,
    policy: Policy,
    groups: GroupMembers,
    *,
    request_id: str,
    actor: str,
    approve: bool,
    note: str | None = None,
    start: ProvisionStart | None = None,
) -> Decided | Voted | Refused:
    """Count ``actor``'s approval (or end the request on a deny) under its tier's rules.

    ``start``: the final approval starts provisioning in its own transaction.
    """
    request = await repo.get(request_id)
    app = policy.application(request.application) if request else None
    if request is None or app is None or not needs_several(app, request_tier(request)):
        return await decide(
            repo,
            policy,
            request_id=request_id,
            actor=actor,
            approve=approve,
            note=note,
            start=start,
        )
    refused = await check_approver(policy, groups, request, actor)
    if refused is not None:
        await audit_refusal(repo, request_id, actor, refused.reason.value)
        return refused
    stages = app.stages_for(request_tier(request))
    index = request.approval_stage
    if not approve:
        return await record_decision(
            repo, request, actor=actor, approve=False, note=note, detail={"stage": index}
        )
    if not await repo.votes.add(request_id, stage=index, approver=actor):
        votes = await repo.votes.of(request_id)
        if any(v.approver == actor for v in votes):
            return Voted(request=request, progress=progress_of(app, request, votes), repeated=True)
        current = await repo.get(request_id)  # moved on between the check and the vote
        if current is not None and current.state is State.PENDING_APPROVAL:
            return Refused(reason=RefusalReason.STAGE_DONE, request=current)
        return Refused(
            reason=RefusalReason.ALREADY_DECIDED,
            request=current,
            decided_by=current.decided_by if current else None,
        )
    votes = await repo.votes.of(request_id)
    given = tuple(v.approver for v in votes if v.stage == index)
    if len(given) < stages[index].required:
        log_approval_counted(
            request,
            approver=actor,
            stage=stages[index].name,
            given=len(given),
            required=stages[index].required,
        )
        return Voted(request=request, progress=progress_of(app, request, votes))
    if index + 1 < len(stages):
        return await _next_stage(repo, app, request, votes, actor=actor, given=given)
    return await record_decision(
        repo,
        request,
        actor=actor,
        approve=True,
        detail={"approved_by": list(dict.fromkeys(v.approver for v in votes))},
        start=start,
    )


async def _next_stage(
    repo: RequestRepository,
    app: Application,
    request: AccessRequest,
    votes: list[ApprovalVote],
    *,
    actor: str,
    given: tuple[str, ...],
) -> Voted:
    index = request.approval_stage
    stages = app.stages_for(request_tier(request))
    moved = await repo.transition(
        request.id,
        expected=State.PENDING_APPROVAL,
        to=State.PENDING_APPROVAL,
        actor=actor,
        action="stage_approved",
        # The next stage waits, is reminded and expires on its own clock.
        changes={
            "approval_stage": index + 1,
            "pending_since": repo.clock(),
            "reminders_sent": 0,
            "next_attempt_at": None,
        },
        detail={"stage": stages[index].name, "approved_by": list(given)},
        match={"approval_stage": index},
    )
    if moved is None:  # another approval of this stage moved it on first
        current = await repo.get(request.id) or request
        return Voted(request=current, progress=progress_of(app, current, votes))
    return Voted(request=moved, progress=progress_of(app, moved, votes), advanced=True)
