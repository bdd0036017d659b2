"""A departure is never lost: not to a failure while recording it, not to a missed event."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.sandbox.stage import ADA, BOB, JANE, Stage
from storage.models import Kind, State
from tests.e2e.lifecycle_steps import tick
from tests.e2e.test_revocation import active_grant, dms_saying, revocation_of, until_state

# A trigger refusing new revocations, as each backend writes it.
REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse_revocations BEFORE INSERT ON requests "
        "WHEN NEW.kind = 'revoke' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_revocations() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.kind = 'revoke' THEN RAISE EXCEPTION 'database or disk is full' "
        "USING ERRCODE = 'disk_full'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse_revocations BEFORE INSERT ON requests "
        "FOR EACH ROW EXECUTE FUNCTION refuse_revocations()",
    ],
}
ALLOW = {
    "sqlite": ["DROP TRIGGER refuse_revocations"],
    "postgresql": [
        "DROP TRIGGER refuse_revocations ON requests",
        "DROP FUNCTION refuse_revocations()",
    ],
}


@asynccontextmanager
async def revocations_refused(stage: Stage) -> AsyncIterator[None]:
    """While inside, the database refuses to store a revocation (as a full disk would)."""
    db = stage.runtime.db
    async with db.transaction() as conn:
        for statement in REFUSE[db.backend]:
            await conn.execute(statement)
    try:
        yield
    finally:
        async with db.transaction() as conn:
            for statement in ALLOW[db.backend]:
                await conn.execute(statement)


async def test_a_departure_that_failed_to_record_is_recorded_on_slacks_redelivery(
    stage: Stage,
) -> None:
    grant = await active_grant(stage, JANE.id)
    event = {"type": "user_change", "user": stage.slack.set_deleted(JANE.id), "cache_ts": 1}

    async with revocations_refused(stage):
        first = await stage.workspace.event(event, event_id="EvLEFT0001")
    assert await stage.runtime.deps.repo.find(grant_id=grant.id, kind=Kind.REVOKE) == []
    again = await stage.workspace.event(
        event, event_id="EvLEFT0001", retry_num=1, retry_reason="http_error"
    )

    assert again.status == 200
    revoked = await until_state(stage, grant.id, State.REVOKED)
    assert revoked.state is State.REVOKED
    sf_user = stage.org.user(grant.sf_user_id or "")
    assert sf_user is not None and not sf_user.is_active
    revocation = await revocation_of(stage, grant)
    assert revocation.state is State.DONE and revocation.requester_id == "bot"
    # Slack heard the first delivery failed, which is what makes it deliver again
    assert first.status == 500


async def test_the_daily_sweep_revokes_members_deactivated_without_an_event(stage: Stage) -> None:
    jane = await active_grant(stage, JANE.id)
    bob = await active_grant(stage, BOB.id)
    # A workspace of three pages: departed members without grants, a bot, an active guest.
    for n in range(450):
        stage.slack.add_user(f"U2C{n:03d}", name=f"c{n}", real_name=f"C {n}", email=None)
        if n % 3 == 0:
            stage.slack.set_deleted(f"U2C{n:03d}")
    stage.slack.add_user("U2BOT", name="old-bot", real_name="Old Bot", email=None, is_bot=True)
    stage.slack.set_deleted("U2BOT")
    stage.slack.add_user("U2GUEST", name="guest", real_name="A Guest", email=None, guest=True)
    stage.slack.set_deleted(JANE.id)  # while the bot was down: no event ever reaches it
    stage.slack.fail_next("users.list", 429, retry_after=1)

    await tick(stage)

    revoked = await until_state(stage, jane.id, State.REVOKED)
    assert revoked.state is State.REVOKED
    sf_user = stage.org.user(jane.sf_user_id or "")
    assert sf_user is not None and not sf_user.is_active
    revocation = await revocation_of(stage, jane)
    assert revocation.state is State.DONE and revocation.requester_id == "bot"
    opened = (await stage.runtime.deps.repo.audit.for_request(revocation.id))[0]
    assert opened.action == "revocation_requested" and opened.detail["source"] == "sweep"
    # a member still active keeps their access
    kept = await stage.runtime.deps.repo.get(bob.id)
    assert kept is not None and kept.state is State.ACTIVE
    bob_user = stage.org.user(bob.sf_user_id or "")
    assert bob_user is not None and bob_user.is_active
    # every page read, 200 at a time, the rate limit waited out
    calls = stage.slack.calls("users.list")
    assert [c.status for c in calls] == [429, 200, 200, 200]
    assert {str(c.args.get("limit")) for c in calls} == {"200"}
    assert [bool(c.args.get("cursor")) for c in calls[1:]] == [False, True, True]
    # the admins hear of it, with where it came from; the audit names the sweep
    summary = await stage.slack.wait_for(lambda: dms_saying(stage, ADA.id, "left Slack"))
    assert "daily check" in json.dumps(summary[0].blocks)
    swept = [
        e async for e in stage.runtime.deps.repo.audit.entries() if e.action == "departures_swept"
    ]
    assert len(swept) == 1 and swept[0].detail["departed"] == [JANE.id]
    # once a day: the next tick does not list the members again
    await tick(stage)
    assert len(stage.slack.calls("users.list")) == len(calls)
