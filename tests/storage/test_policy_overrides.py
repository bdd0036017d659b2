"""Overrides of the policy made in Slack, and the record of published Home tabs."""

from __future__ import annotations

from storage.audit import AuditLog
from storage.db import Database
from storage.home_tabs import HomeTabs
from storage.policy_overrides import PolicyOverrides


async def test_a_change_is_stored_with_its_audit_row(db: Database) -> None:
    overrides = PolicyOverrides(db)
    assert await overrides.load() == () and overrides.version == 0
    stored = await overrides.set(
        application="sales",
        kind="profiles",
        name="Deal Desk",
        aliases=("Deal Desk", "", "Deal desk (old)"),
        requestable=True,
        actor="U0ADA",
    )
    assert stored.aliases == ("Deal desk (old)",)
    assert overrides.snapshot == (stored,) and overrides.version == 1
    entries = [e async for e in AuditLog(db).entries()]
    assert [(e.actor, e.action, e.request_id) for e in entries] == [
        ("U0ADA", "catalog_offered", None)
    ]
    assert entries[0].detail == {"application": "sales", "kind": "profiles", "name": "Deal Desk"}
    assert (await AuditLog(db).verify()).ok


async def test_the_last_change_of_a_record_wins_and_other_processes_see_it(db: Database) -> None:
    mine, theirs = PolicyOverrides(db), PolicyOverrides(db)
    await mine.set(application="sales", kind="roles", name="Rep", requestable=True, actor="U1")
    await mine.set(application="sales", kind="roles", name="Rep", requestable=False, actor="U2")
    (row,) = await theirs.load()
    assert (row.requestable, row.changed_by) == (False, "U2")
    version = theirs.version
    await theirs.load()
    assert theirs.version == version  # nothing changed, so cached policies stay valid
    actions = [e.action async for e in AuditLog(db).entries()]
    assert actions == ["catalog_offered", "catalog_withdrawn"]


async def test_home_tabs_remember_who_opened_and_where_they_were(db: Database) -> None:
    tabs = HomeTabs(db)
    assert await tabs.get("U0ADA") is None
    await tabs.opened("U0ADA")
    await tabs.move("U0ADA", application="sales", kind="roles", page=3)
    await tabs.opened("U0ADA")  # opening again keeps the place
    tab = await tabs.get("U0ADA")
    assert tab is not None and (tab.application, tab.catalog_kind, tab.catalog_page) == (
        "sales",
        "roles",
        3,
    )
    await tabs.opened("U0JANE")
    many = {f"U{i:05d}" for i in range(1200)} | {"U0JANE", "U0ADA"}
    assert await tabs.published_among(many) == {"U0JANE", "U0ADA"}
    assert await tabs.published_among(set()) == set()
