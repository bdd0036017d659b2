"""Many revocations at once: their users converge together, so Salesforce sees one bulk call.

A revocation only changes the database (its grant is no longer wanted); the converger then
brings every named user to the desired state of what is left, deactivating the users the bot
made in one ``deactivate_many`` round. A revocation naming no Salesforce user (a grant never
provisioned) is closed at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from handlers.flows.converge import Converger, Outcome, close_revocation
from storage.models import AccessRequest


async def revoke_together(
    converger: Converger, revocations: Sequence[AccessRequest]
) -> list[Outcome]:
    """Converge the users of ``revocations``; the outcome of every request that settled."""
    outcomes: list[Outcome] = []
    for revocation in revocations:
        if not revocation.sf_username:
            outcomes.append(
                await close_revocation(
                    converger.repo,
                    revocation,
                    user_id=None,
                    deactivated=False,
                    already_inactive=False,
                    removed=0,
                    kept_for=(),
                    restored=False,
                )
            )
    usernames = [r.sf_username for r in revocations if r.sf_username]
    if usernames:
        outcomes += await converger.converge(usernames)
    return outcomes
