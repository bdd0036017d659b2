"""The async gateway: catalog, identity, permission check, reconciliation reads, concurrency."""

from __future__ import annotations

import asyncio
import time

import pytest
import trustme

from bot.sandbox.salesforce_org import OrgServer, SimulatedOrg
from bot.sandbox.sf_seed import INTEGRATION_USERNAME
from salesforce.auth import SalesforceAuth
from salesforce.gateway import SalesforceGateway


async def test_catalog_is_one_call_with_seats_and_license_names(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    catalog = await gateway.fetch_catalog()
    assert org.api_calls == 1
    sfdc = catalog.license_named("Salesforce")
    assert sfdc is not None and (sfdc.total, sfdc.used, sfdc.free) == (10, 4, 6)
    platform = catalog.profile_named("Standard Platform User")
    assert platform is not None and platform.license_name == "Salesforce Platform"
    assert [r.developer_name for r in catalog.roles] == [
        "CEO",
        "SalesManager",
        "SalesRep",
        "SupportAgent",
    ]
    names = {p.name for p in catalog.permission_sets}
    assert {"Sales_Ops", "Reports_Export", "Knowledge_Author"} <= names
    assert not any(n.startswith("X00e") or n.endswith("_aggregate") for n in names)
    group = catalog.group_named("Sales_Bundle")
    assert group is not None and group.label == "Sales Bundle"
    assert catalog.refreshed_at is not None


async def test_identity_and_permission_check(gateway: SalesforceGateway, org: SimulatedOrg) -> None:
    identity = await gateway.identity()
    assert identity.integration_username == INTEGRATION_USERNAME
    assert identity.org_id.startswith("00D")
    assert set((await gateway.permission_check()).values()) == {True}
    org.admin_update(
        "PermissionSet",
        org.id_of("PermissionSet", "AccessBot_Integration"),
        PermissionsFreezeUsers=False,
    )
    check = await gateway.permission_check()
    assert check["Freeze Users"] is False and check["Manage Internal Users"] is True
    assert check["Transfer Record"] is True
    bot_set = org.id_of("PermissionSet", "AccessBot_Integration")
    org.admin_update("PermissionSet", bot_set, PermissionsTransferAnyEntity=False)
    assert (await gateway.permission_check())["Transfer Record"] is False


async def test_find_get_and_active_users(gateway: SalesforceGateway, org: SimulatedOrg) -> None:
    jordan = await gateway.find_user("JORDAN.LEE@acme.com")
    assert jordan is not None and not jordan.is_active
    assert await gateway.get_user(jordan.id) == jordan
    sales = org.id_of("Profile", "Sales User")
    active = await gateway.active_users([sales])
    assert [u.username for u in active] == ["chris.wu@acme.com", "maria.garcia@acme.com"]
    assert await gateway.active_users([]) == []


async def test_calls_run_off_the_event_loop_in_a_bounded_pool(
    ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SimulatedOrg(delay=0.2)
    slow.seed_demo()
    with OrgServer(slow, ca) as running:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_bundle_path)
        auth = SalesforceAuth(instance_url=running.instance_url, access_token=running.access_token)
        gateway = SalesforceGateway(auth, max_workers=2)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        started = time.monotonic()
        try:
            results = await asyncio.gather(*(gateway.find_user(f"u{n}@acme.com") for n in range(4)))
        finally:
            ticker.cancel()
            await gateway.aclose()
        elapsed = time.monotonic() - started
    assert results == [None] * 4
    assert 0.4 <= elapsed < 1.2  # two at a time, 0.2 s each
    assert ticks >= 20  # the loop kept running meanwhile
