"""User.LastLoginDate for a review's lines: 1,000 users a call, never-logged-in as None."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.sandbox.salesforce_org import SimulatedOrg
from salesforce.client import SalesforceClient
from salesforce.errors import SalesforceError
from salesforce.gateway import SalesforceGateway


async def test_logins_of_many_users_in_few_calls(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    profile = org.id_of("Profile", "Sales User")
    org.admin_update("UserLicense", org.id_of("UserLicense", "Salesforce"), TotalLicenses=3000)
    ids = [org.add_user(f"login{n:04d}@acme.com", profile) for n in range(2100)]
    when = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    org.record_login(ids[7], when)
    org.reset_counters()
    found = await gateway.last_logins([*ids, ids[7], "not-an-id"])
    assert org.api_calls == 3  # 2,100 users: 1,000 a call (five queries of 200 each)
    assert len(found) == 2100 and found[ids[7]] == when
    assert found[ids[8]] is None  # never logged in
    assert await gateway.last_logins([]) == {}


def test_last_login_date_is_read_only(org: SimulatedOrg, client: SalesforceClient) -> None:
    user = org.id_of("User", "maria.garcia@acme.com")
    with pytest.raises(SalesforceError) as refused:
        client.rest(
            "PATCH", f"sobjects/User/{user}", json={"LastLoginDate": "2026-01-01T00:00:00Z"}
        )
    assert refused.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
