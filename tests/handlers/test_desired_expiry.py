"""When each assignment ends (pure): the latest end of its time-bound grants, none when a
permanent grant or the baseline also gives it; and what ``difference`` sends for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.flows.desired import GrantAccess, desired_state, difference
from salesforce.models import UserState
from storage.models import Baseline, ManagedOrigin

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SET_A, SET_B = "0PS000000000001AAA", "0PS000000000002AAA"


def grant(grant_id: str, *sets: str, ends: datetime | None) -> GrantAccess:
    return GrantAccess(
        grant_id=grant_id, profile_id="00e1", assignables=sets, since=NOW, expires_at=ends
    )


def user(expirations: dict[str, datetime | None] | None, *held: str) -> UserState:
    return UserState(
        id="0051",
        username="jane@acme.com",
        is_active=True,
        profile_id="00e1",
        assignments={i: f"0Pa{n}" for n, i in enumerate(held)},
        expirations=expirations,
    )


def test_the_latest_end_wins_and_a_permanent_grant_or_the_baseline_means_no_end() -> None:
    day, week = NOW + timedelta(days=1), NOW + timedelta(days=7)
    two_ends = desired_state(
        ManagedOrigin.CREATED, None, [grant("g1", SET_A, ends=day), grant("g2", SET_A, ends=week)]
    )
    assert two_ends.ends == {SET_A: week}
    mixed = desired_state(
        ManagedOrigin.CREATED,
        None,
        [grant("g1", SET_A, SET_B, ends=day), grant("g2", SET_A, ends=None)],
    )
    assert mixed.ends == {SET_B: day}
    adopted = desired_state(
        ManagedOrigin.ADOPTED,
        Baseline(is_active=True, assignments=(SET_A,)),
        [grant("g1", SET_A, ends=day)],
    )
    assert adopted.ends == {}


def test_difference_sets_moves_and_clears_ends_only_where_the_org_has_them() -> None:
    day, week = NOW + timedelta(days=1), NOW + timedelta(days=7)
    desired = desired_state(
        ManagedOrigin.CREATED, None, [grant("g1", SET_A, ends=week), grant("g2", SET_B, ends=day)]
    )
    new = difference(user({}), desired, frozenset(), now=NOW)
    assert new.assign == (SET_A, SET_B) and new.expires == {SET_A: week, SET_B: day}
    without = difference(user(None), desired, frozenset(), now=NOW)
    assert without.assign == (SET_A, SET_B) and without.expires == {}

    held = user({SET_A: day, SET_B: day}, SET_A, SET_B)
    moved = difference(held, desired, frozenset({SET_A, SET_B}), now=NOW)
    assert moved.reexpire == {"0Pa0": week} and moved.assign == ()
    # an assignment the bot did not make keeps whatever end it has
    assert difference(held, desired, frozenset({SET_B}), now=NOW).empty

    permanent = desired_state(ManagedOrigin.CREATED, None, [grant("g1", SET_A, ends=None)])
    cleared = difference(user({SET_A: day}, SET_A), permanent, frozenset({SET_A}), now=NOW)
    assert cleared.reexpire == {"0Pa0": None}


def test_an_ended_assignment_is_not_given_again() -> None:
    desired = desired_state(
        ManagedOrigin.CREATED,
        None,
        [grant("g1", SET_A, ends=None), grant("g2", SET_B, ends=NOW - timedelta(minutes=1))],
    )
    change = difference(user({SET_A: None}, SET_A), desired, frozenset({SET_A}), now=NOW)
    assert change.empty
