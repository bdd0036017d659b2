"""Every registered button, modal and subcommand, pressed by people with no rights over the
request, with real and forged values: nothing changes. New listeners are covered as soon as
their ids exist in ``handlers.ids`` or ``SUBCOMMANDS``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.sandbox.stage import ADA, OLIVIA, OMAR, Stage
from handlers.command_text import Subcommand
from handlers.ids import ActionId, CallbackId
from handlers.listeners.commands import SUBCOMMANDS
from handlers.views.catalog_values import (
    CatalogKind,
    CatalogPosition,
    ToggleRequest,
    position_value,
    toggle_value,
)
from storage.models import AccessRequest, State
from tests.e2e.stages import StageOpener
from tests.security.actors import (
    SERVICE,
    STRANGER,
    active,
    blocked,
    needs_admin,
    pending,
    press,
    submit_forged,
    two_app_options,
)
from tests.security.live import listeners_done

FORGED_VALUES = (
    "",
    "R-ZZZZZZZZ",
    "R-ABCD2345' OR '1'='1",
    "*<!channel>*",
    toggle_value(
        ToggleRequest(
            position=CatalogPosition(application="sales", kind=CatalogKind.PROFILES),
            name="Sales User",
            requestable=False,
        )
    ),
    position_value(CatalogPosition(application="sales", kind=CatalogKind.ROLES, page=1)),
)


async def snapshot(stage: Stage) -> tuple[Any, ...]:
    requests = await stage.runtime.deps.repo.find(limit=10_000)
    users = [(u.id, u.is_active, u.profile_id, u.frozen) for u in stage.org.users()]
    return (
        [(r.id, r.state, r.version) for r in requests],
        users,
        stage.runtime.deps.policy(),
    )


async def _try_everything(stage: Stage, user: str, targets: list[AccessRequest]) -> int:
    """Every button with every value, every modal and every subcommand; returns how many."""
    tried = 0
    for action in ActionId:
        for value in (*[t.id for t in targets], *FORGED_VALUES):
            reply = await press(stage, user, action, value)
            assert reply.status == 200, (action, value, reply.body)
            tried += 1
    for callback in CallbackId:
        for target in targets:
            reply = await submit_forged(stage, user, callback, target)
            assert reply.status == 200, (callback, reply.body)
            tried += 1
    for sub in (*SUBCOMMANDS, *Subcommand):
        for target in targets:
            reply = await stage.workspace.slash(user, f"{sub.value} <@{target.subject_id}> why not")
            assert reply.status == 200, (sub, reply.body)
            tried += 1
    return tried


async def test_no_one_without_rights_changes_anything(open_stage: StageOpener) -> None:
    stage = await open_stage(**two_app_options())
    # About who may do what, not Slack's limits: each of the hundreds of refusals is a message
    # to one of three people, which at one a second per conversation takes minutes.
    stage.slack.set_rate_limits(enabled=False)
    try:
        targets: list[AccessRequest] = [
            await pending(stage),
            await active(stage),
            await needs_admin(stage),
            await blocked(stage),
        ]
        await stage.settle()
        before = await snapshot(stage)
        # A stranger, and the other application's owner and admin, all at once.
        outsiders = (STRANGER, SERVICE.owner, SERVICE.admin)
        tried = sum(await asyncio.gather(*(_try_everything(stage, u, targets) for u in outsiders)))
        await listeners_done()
        await stage.settle()
        requests, users, policy = await snapshot(stage)
        assert (users, policy) == before[1:]
        known = {row[0] for row in before[0]}
        assert [row for row in requests if row[0] in known] == before[0]
        # Anyone may ask (for themselves or on someone's behalf): such asks wait for an owner.
        for new in await stage.runtime.deps.repo.find(limit=10_000):
            if new.id not in known:
                assert new.state in (State.PENDING_APPROVAL, State.NEEDS_ADMIN), new
                assert new.requester_id in outsiders and new.decided_by is None, new
        assert tried > 500
    finally:
        await stage.close()


async def test_forged_values_from_owners_and_admins_change_nothing(open_stage: StageOpener) -> None:
    """The right people, but values naming nothing of theirs: a revocation, a made-up id."""
    stage = await open_stage(**two_app_options())
    try:
        revocation = await blocked(stage)
        service_request = await pending(stage, SERVICE)
        await stage.settle()
        before = await snapshot(stage)
        decisions = (ActionId.APPROVE, ActionId.DENY, ActionId.EXTEND)
        for user, actions in (
            (OMAR.id, (*decisions, ActionId.RETRY)),
            (OLIVIA.id, (*decisions, ActionId.RETRY)),
            (ADA.id, decisions),  # Ada may retry a blocked deactivation: that is her job
        ):
            for action in actions:
                # a revocation is not a grant; the Service request is not theirs to decide
                for value in (revocation.id, service_request.id, *FORGED_VALUES[:4]):
                    reply = await press(stage, user, action, value)
                    assert reply.status == 200
        await listeners_done()
        await stage.settle()
        assert await snapshot(stage) == before
    finally:
        await stage.close()
