"""What an owner's approval covers: only more or other access needs the owners again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handlers.flows.approval_scope import ScopeChange, scope_change
from storage.models import AccessRequest, Kind, State

NOW = datetime(2026, 12, 2, tzinfo=UTC)
APPROVED = AccessRequest(
    id="R-1",
    kind=Kind.GRANT,
    application="sales",
    state=State.NEEDS_ADMIN,
    requester_id="U1",
    subject_id="U1",
    license="Salesforce",
    profile="Sales User",
    role="SalesRep",
    permission_sets=("Sales_Ops", "Reports_Export"),
    duration=timedelta(days=7),
    decided_by="U2",
    created_at=NOW,
    updated_at=NOW,
)
SAME: dict[str, Any] = {
    "license": "Salesforce",
    "profile": "Sales User",
    "role": "SalesRep",
    "permission_sets": ("Reports_Export", "Sales_Ops"),
    "duration": timedelta(days=7),
}


def change(**fields: Any) -> ScopeChange:
    return scope_change(APPROVED, **{**SAME, **fields})


def test_the_same_names_in_another_order_change_nothing() -> None:
    assert change().empty and not change().needs_approval


@pytest.mark.parametrize(
    "fields",
    [
        {"license": "Salesforce Platform", "profile": "Standard Platform User"},
        {"profile": "Standard User"},
        {"role": "SalesManager"},
        {"permission_sets": ("Sales_Ops", "Reports_Export", "Knowledge_Author")},
        {"duration": timedelta(days=30)},
        {"duration": None},
    ],
)
def test_more_or_other_access_needs_the_owners_again(fields: dict[str, Any]) -> None:
    assert change(**fields).needs_approval


@pytest.mark.parametrize(
    "fields",
    [{"permission_sets": ("Sales_Ops",)}, {"role": None}, {"duration": timedelta(days=1)}],
)
def test_taking_access_away_stays_inside_the_approval(fields: dict[str, Any]) -> None:
    found = change(**fields)
    assert not found.needs_approval and not found.empty


def test_a_name_the_owner_never_saw_is_other_access() -> None:
    blank = APPROVED.model_copy(update={"role": None, "profile": None})
    found = scope_change(blank, **SAME)
    assert [(c.label, c.before, c.after) for c in found.widened] == [
        ("Profile", None, "Sales User"),
        ("Role", None, "SalesRep"),
    ]
    removed = change(permission_sets=("Knowledge_Author",))
    assert removed.added == ("Knowledge_Author",)
    assert removed.removed == ("Reports_Export", "Sales_Ops")
