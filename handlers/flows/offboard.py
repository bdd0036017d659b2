"""A member left Slack: every grant of theirs ends without approval, Salesforce users in bulk.

Leaving is recorded at once (revocations opened, pending requests cancelled, the fresh
revocations leased to this worker); the deactivations themselves are batched with other
departures. Everything needed to finish is in the database, so a crash loses nothing: the
lease runs out (or the next start gives it back) and the scheduler runs what is left.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from handlers.flows.batch import revoke_together
from handlers.flows.converge import Converger, Outcome
from handlers.flows.outcomes import (
    HandingOver,
    NeedsAdmin,
    Provisioned,
    Refused,
    RevocationBlocked,
    RevokedAccess,
    Skipped,
    WillRetry,
)
from handlers.flows.revoke import (
    CANCELLABLE,
    OFFBOARDING_REASON,
    RevokeSource,
    request_revocation,
)
from storage.models import AccessRequest, Kind, State
from storage.requests import RequestRepository

RevocationOutcome = (
    RevokedAccess | RevocationBlocked | HandingOver | WillRetry | NeedsAdmin | Skipped
)


class OffboardedGrant(BaseModel):
    """One revocation opened (or found open) for the person, and how it ended this time."""

    model_config = ConfigDict(frozen=True)

    revocation: AccessRequest
    outcome: RevocationOutcome


class Offboarding(BaseModel):
    """What leaving Slack did to a person's Salesforce access."""

    model_config = ConfigDict(frozen=True)

    subject_id: str
    revoked: tuple[OffboardedGrant, ...] = ()
    cancelled: tuple[AccessRequest, ...] = ()
    swept: bool = False  # found by the daily sweep: Slack's event never reached the bot

    @property
    def empty(self) -> bool:
        """True when the person held nothing the bot manages."""
        return not self.revoked and not self.cancelled


class Departure(BaseModel):
    """A departure as recorded: revocations waiting to run, ones settled already, cancellations."""

    model_config = ConfigDict(frozen=True)

    subject_id: str
    waiting: tuple[AccessRequest, ...] = ()
    settled: tuple[OffboardedGrant, ...] = ()
    cancelled: tuple[AccessRequest, ...] = ()
    swept: bool = False

    @property
    def opened_anything(self) -> bool:
        """Whether recording it started or cancelled something (not only found it under way)."""
        return bool(self.waiting or self.cancelled)

    def report(self, outcomes: tuple[OffboardedGrant, ...] = ()) -> Offboarding:
        """The summary once the waiting revocations have ``outcomes``."""
        return Offboarding(
            subject_id=self.subject_id,
            revoked=(*self.settled, *outcomes),
            cancelled=self.cancelled,
            swept=self.swept,
        )


def outcome_request_id(outcome: Outcome) -> str:
    """The revocation an outcome is about."""
    if isinstance(outcome, RevokedAccess | RevocationBlocked | HandingOver):
        return outcome.revocation.id
    if isinstance(outcome, WillRetry | NeedsAdmin | Provisioned):
        return outcome.request.id
    return outcome.request_id


async def record_departure(
    repo: RequestRepository,
    *,
    subject_id: str,
    worker: str,
    lease: timedelta = timedelta(minutes=5),
    source: RevokeSource = RevokeSource.OFFBOARDING,
) -> Departure:
    """Open a revocation per active grant, cancel the pending ones, lease the fresh revocations.

    Idempotent: a second call finds the revocations open and leaves them to whoever runs them.
    ``source`` names what found the departure (Slack's event, or the daily sweep) in the audit.
    """
    grants = await repo.find(
        states=(State.ACTIVE, State.PROVISIONING, *CANCELLABLE),
        kind=Kind.GRANT,
        subject_id=subject_id,
    )
    cancelled: list[AccessRequest] = []
    opened: list[AccessRequest] = []
    for grant in grants:
        result = await request_revocation(
            repo,
            grant,
            actor="bot",
            source=source,
            reason=OFFBOARDING_REASON,
        )
        if isinstance(result, Refused):
            continue
        (opened if result.kind is Kind.REVOKE else cancelled).append(result)
    # Only untried ones are ours: a blocked one already has the admins' attention, and one
    # waiting to retry or running elsewhere keeps its own schedule.
    fresh = [r.id for r in opened if r.state is State.REQUESTED and r.attempts == 0]
    leased = await repo.claim(fresh, states=(State.REQUESTED,), worker=worker, lease=lease)
    mine = {r.id for r in leased}
    settled = tuple(
        OffboardedGrant(
            revocation=r, outcome=Skipped(request_id=r.id, why=f"already {r.state.value}")
        )
        for r in opened
        if r.id not in mine
    )
    return Departure(
        subject_id=subject_id,
        waiting=tuple(leased),
        settled=settled,
        cancelled=tuple(cancelled),
        swept=source is RevokeSource.SWEEP,
    )


def pair_outcomes(
    revocations: tuple[AccessRequest, ...] | list[AccessRequest],
    outcomes: list[Outcome],
) -> list[OffboardedGrant]:
    """Each revocation with its outcome; one whose flow raised is retried by the scheduler."""
    by_id = {outcome_request_id(o): o for o in outcomes if not isinstance(o, Provisioned)}
    interrupted = "interrupted; the scheduler tries again"
    return [
        OffboardedGrant(
            revocation=r, outcome=by_id.get(r.id) or Skipped(request_id=r.id, why=interrupted)
        )
        for r in revocations
    ]


async def offboard(
    repo: RequestRepository,
    converger: Converger,
    *,
    subject_id: str,
    worker: str,
    lease: timedelta = timedelta(minutes=5),
) -> Offboarding:
    """Record one departure and converge its users at once (one bulk call per round)."""
    departure = await record_departure(repo, subject_id=subject_id, worker=worker, lease=lease)
    outcomes = await revoke_together(converger, departure.waiting)
    return departure.report(tuple(pair_outcomes(departure.waiting, outcomes)))
