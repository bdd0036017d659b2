"""Daily reconciliation: one digest to the admins with each kind of drift; fixes only if allowed."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.sandbox.stage import ADA, BOB, JANE, Stage, demo_policy
from handlers.policy import Policy
from storage.models import Kind, State
from tests.e2e.lifecycle_steps import ShiftedClock, grant_access, start, tick
from tests.e2e.stages import StageOpener
from tests.e2e.steps import dm_texts

DIGEST = "Reconciliation found"


def digests(stage: Stage) -> list[str]:
    return [json.dumps(m.blocks) for m in stage.slack.dms(ADA.id) if DIGEST in m.text]


async def drift_everywhere(stage: Stage, clock: ShiftedClock) -> tuple[str, str, str]:
    """Jane revoked then turned back on by hand, Bob turned off by hand, Kim never asked."""
    jane = await grant_access(stage, JANE, duration="P1D")
    bob = await grant_access(stage, BOB, duration="P30D")
    clock.advance(timedelta(days=1, minutes=1))
    await tick(stage)  # Jane's access ends; the first reconciliation runs too
    ended = await stage.runtime.deps.repo.get(jane.id)
    assert ended is not None and ended.state is State.REVOKED
    assert jane.sf_user_id and bob.sf_user_id
    stage.org.admin_update("User", jane.sf_user_id, IsActive=True)
    stage.org.admin_update("User", bob.sf_user_id, IsActive=False)
    profile = stage.org.id_of("Profile", "Sales User")
    stage.org.add_user("kim.park@acme.com", profile, first_name="Kim", last_name="Park")
    clock.advance(timedelta(days=1))
    return jane.id, bob.id, jane.sf_user_id


async def test_the_digest_names_each_kind_of_drift_and_nothing_changes(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock)
    try:
        jane_grant, bob_grant, jane_user = await drift_everywhere(stage, clock)
        before = len(digests(stage))
        await tick(stage)
        assert len(digests(stage)) == before + 1
        digest = digests(stage)[-1]
        for needle in (
            "Active again after the bot revoked them",
            "jane.doe@acme.com",
            jane_grant,
            "Deactivated by hand",
            "bob.stone@acme.com",
            bob_grant,
            "nobody granted",
            "kim.park@acme.com",
            "maria.garcia@acme.com",
        ):
            assert needle in digest, needle
        assert "0 corrected" in digest
        assert "accessbot@acme.com" not in digest and "admin@acme.com" not in digest
        user = stage.org.user(jane_user)
        assert user is not None and user.is_active
        kept = await stage.runtime.deps.repo.get(bob_grant)
        assert kept is not None and kept.state is State.ACTIVE
        await tick(stage)  # once a day only
        assert len(digests(stage)) == before + 1
    finally:
        await stage.close()


async def test_with_auto_revoke_the_drift_is_corrected(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    auto = demo_policy(auto_revoke_drift=True)
    stage = await start(open_stage, clock, policy=Policy(applications=auto.applications))
    try:
        _, bob_grant, jane_user = await drift_everywhere(stage, clock)
        await tick(stage)
        digest = digests(stage)[-1]
        assert "deactivated again" in digest and "The policy corrects" in digest
        jane = stage.org.user_by_username("jane.doe@acme.com")
        assert jane is not None and not jane.is_active
        # a user nobody granted is reported, never switched off by the bot
        kim = stage.org.user_by_username("kim.park@acme.com")
        assert kim is not None and kim.is_active
        assert "never switched off automatically" in digest
        await tick(stage)  # the worker closes Bob's grant: Salesforce says already inactive
        closed = await stage.runtime.deps.repo.get(bob_grant)
        assert closed is not None and closed.state is State.REVOKED
        revocation = (await stage.runtime.deps.repo.find(grant_id=bob_grant, kind=Kind.REVOKE))[0]
        assert revocation.state is State.DONE
        assert any("was removed" in t for t in dm_texts(stage, BOB.id))
        admin = stage.org.user_by_username("admin@acme.com")
        assert admin is not None and admin.is_active and jane_user
    finally:
        await stage.close()


async def test_the_digest_publishes_the_audit_head_which_verify_accepts(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock)
    try:
        await drift_everywhere(stage, clock)
        await tick(stage)
        head = await stage.runtime.deps.repo.audit.head()
        digest = digests(stage)[-1]
        assert f"Audit log head: `{head}`" in digest
        assert f"accessbot audit verify --head {head}" in digest
        check = await stage.runtime.deps.repo.audit.verify(
            key=stage.runtime.db.audit_key, head=head
        )
        assert check.ok and check.signed_from == 1 and check.macs_checked
    finally:
        await stage.close()
