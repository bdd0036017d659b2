"""Fixtures: the simulated org over HTTPS (TLS verified through REQUESTS_CA_BUNDLE) and gateways."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import requests
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.sandbox.salesforce_org import OrgServer, SimulatedOrg
from bot.sandbox.sf_login import route_logins
from bot.sandbox.sf_seed import INTEGRATION_USERNAME
from salesforce.auth import SalesforceAuth
from salesforce.client import SalesforceClient
from salesforce.gateway import SalesforceGateway
from salesforce.models import Catalog, UserSpec

JWT_CONSUMER_KEY = "3MVG9test.jwt.consumer"


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def rsa_key() -> tuple[str, str]:
    """A private key (PEM) and its public key (PEM) for the JWT bearer flow."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture
def org(rsa_key: tuple[str, str]) -> SimulatedOrg:
    sim = SimulatedOrg()
    sim.seed_demo()
    sim.register_app(JWT_CONSUMER_KEY, certificate_pem=rsa_key[1])
    return sim


@pytest.fixture
def server(
    org: SimulatedOrg, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OrgServer]:
    with OrgServer(org, ca) as running:
        # requests lets REQUESTS_CA_BUNDLE override a session's verify: name the sim's CA there.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_bundle_path)
        yield running


@pytest.fixture
def token_auth(server: OrgServer) -> SalesforceAuth:
    return SalesforceAuth(instance_url=server.instance_url, access_token=server.access_token)


@pytest.fixture
def jwt_auth(rsa_key: tuple[str, str]) -> SalesforceAuth:
    return SalesforceAuth(
        username=INTEGRATION_USERNAME, consumer_key=JWT_CONSUMER_KEY, private_key=rsa_key[0]
    )


@pytest.fixture
def login_session(server: OrgServer) -> Callable[..., requests.Session]:
    """A session whose login.salesforce.com (and other given domains) reach the sim."""

    def make(*domains: str) -> requests.Session:
        return route_logins(requests.Session(), server.instance_url, domains or ("login", "test"))

    return make


@pytest.fixture
async def gateway(token_auth: SalesforceAuth) -> AsyncIterator[SalesforceGateway]:
    gw = SalesforceGateway(token_auth, timeout=5)
    yield gw
    await gw.aclose()


@pytest.fixture
def client(token_auth: SalesforceAuth) -> Iterator[SalesforceClient]:
    sf = SalesforceClient(token_auth, requests.Session())
    yield sf
    sf.close()


@pytest.fixture
async def catalog(gateway: SalesforceGateway, org: SimulatedOrg) -> Catalog:
    result = await gateway.fetch_catalog()
    org.reset_counters()
    return result


@pytest.fixture
def make_spec(catalog: Catalog) -> Callable[..., UserSpec]:
    """A UserSpec for the demo org: Sales User, SalesRep, Sales_Ops and the Sales_Bundle group."""

    def make(username: str = "new.hire@acme.com", **overrides: object) -> UserSpec:
        profile = catalog.profile_named("Sales User")
        role = catalog.role_named("SalesRep")
        sales_ops = catalog.permission_set_named("Sales_Ops")
        bundle = catalog.group_named("Sales_Bundle")
        assert profile and role and sales_ops and bundle
        values: dict[str, object] = {
            "username": username,
            "email": username,
            "first_name": "New",
            "last_name": "Hire",
            "alias": "nhire",
            "profile_id": profile.id,
            "role_id": role.id,
            "permission_set_ids": (sales_ops.id,),
            "permission_set_group_ids": (bundle.id,),
        }
        values.update(overrides)
        return UserSpec.model_validate(values)

    return make
