"""Expired sessions are renewed once where credentials allow; usage is read from every answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest
import requests
import trustme
from simple_salesforce.api import SFType

from bot.sandbox.salesforce_org import OrgServer, SimulatedOrg
from bot.sandbox.sf_seed import CLIENT_ID, CLIENT_SECRET
from salesforce.auth import SalesforceAuth
from salesforce.client import SalesforceClient
from salesforce.errors import ApiBudgetExhausted, SessionExpired
from salesforce.gateway import SalesforceGateway
from salesforce.models import ApiBudget


def _grants(org: SimulatedOrg) -> int:
    return sum(1 for c in org.calls if c.path == "/services/oauth2/token")


async def test_jwt_session_is_renewed_once_and_the_call_retried(
    jwt_auth: SalesforceAuth, login_session: Callable[..., requests.Session], org: SimulatedOrg
) -> None:
    gateway = SalesforceGateway(jwt_auth, session=login_session())
    try:
        await gateway.get_user(org.id_of("User", "pat.jones@acme.com"))
        assert _grants(org) == 1
        org.expire_sessions()
        org.reset_counters()
        user = await gateway.get_user(org.id_of("User", "pat.jones@acme.com"))
        assert user is not None and user.username == "pat.jones@acme.com"
        assert _grants(org) == 1  # renewed exactly once
        data = [c for c in org.calls if c.path.startswith("/services/data/")]
        assert len(data) == 2 and org.api_calls == 1  # the 401 and the retried call
        org.expire_sessions()
        catalog = await gateway.fetch_catalog()  # composite calls renew too
        assert catalog.licenses and _grants(org) == 2
    finally:
        await gateway.aclose()


async def test_client_credentials_renew_too(
    login_session: Callable[..., requests.Session], org: SimulatedOrg
) -> None:
    auth = SalesforceAuth(consumer_key=CLIENT_ID, consumer_secret=CLIENT_SECRET, domain="acme.my")
    gateway = SalesforceGateway(auth, session=login_session("acme.my"))
    try:
        await gateway.fetch_catalog()
        org.expire_sessions()
        assert (await gateway.fetch_catalog()).profiles
        assert _grants(org) == 2
    finally:
        await gateway.aclose()


async def test_a_bare_token_cannot_be_renewed(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    await gateway.fetch_catalog()
    org.expire_sessions()
    with pytest.raises(SessionExpired, match="Salesforce session expired"):
        await gateway.get_user(org.id_of("User", "pat.jones@acme.com"))
    assert _grants(org) == 0


async def test_budget_comes_from_the_header_of_every_response(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    assert gateway.budget() is None
    await gateway.fetch_catalog()
    assert gateway.budget() == ApiBudget(used=1, total=100_000)
    await gateway.find_user("nobody@acme.com")
    budget = gateway.budget()
    assert budget is not None and budget.used == 2 and budget.remaining == 99_998
    assert gateway.budget_low(100_000) and not gateway.budget_low(10)


def test_calls_outside_restful_update_the_budget_too(
    client: SalesforceClient, org: SimulatedOrg
) -> None:
    pat = org.id_of("User", "pat.jones@acme.com")
    # an SFType call, which simple-salesforce's own api_usage bookkeeping does not see
    record = client.call(lambda sf: cast(SFType, sf.User).get(pat))
    assert record["Username"] == "pat.jones@acme.com"
    assert client.budget == ApiBudget(used=1, total=100_000)


async def test_the_org_refuses_once_its_daily_allocation_is_used(
    ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = SimulatedOrg(api_total=3)
    small.seed_demo()
    with OrgServer(small, ca) as running:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_bundle_path)
        auth = SalesforceAuth(instance_url=running.instance_url, access_token=running.access_token)
        gateway = SalesforceGateway(auth)
        try:
            for _ in range(3):
                await gateway.fetch_catalog()
            assert gateway.budget() == ApiBudget(used=3, total=3) and gateway.budget_low(1)
            with pytest.raises(ApiBudgetExhausted):
                await gateway.fetch_catalog()
        finally:
            await gateway.aclose()
