"""Credentials: picking the login flow, naming what a partial set lacks, logging in for real."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import ValidationError

from bot.sandbox.salesforce_org import OrgServer, SimulatedOrg
from bot.sandbox.sf_seed import CLIENT_ID, CLIENT_SECRET, INTEGRATION_USERNAME
from salesforce.auth import AuthMode, SalesforceAuth, connect
from salesforce.errors import AuthenticationFailed, UnknownSalesforceError
from salesforce.gateway import SalesforceGateway

SECRET = "s3cr3t-value-never-logged"


@pytest.mark.parametrize(
    ("values", "mode"),
    [
        ({"username": "u@x.com", "consumer_key": "k", "private_key": "PEM"}, AuthMode.JWT_BEARER),
        (
            {"username": "u@x.com", "consumer_key": "k", "private_key_file": "/k.pem"},
            AuthMode.JWT_BEARER,
        ),
        (
            {"consumer_key": "k", "consumer_secret": "s", "domain": "acme.my"},
            AuthMode.CLIENT_CREDENTIALS,
        ),
        ({"username": "u@x.com", "password": "p", "security_token": "t"}, AuthMode.PASSWORD),
        (
            {"instance_url": "https://acme.my.salesforce.com", "access_token": "00D!x"},
            AuthMode.ACCESS_TOKEN,
        ),
    ],
)
def test_a_complete_set_picks_its_flow(values: dict[str, Any], mode: AuthMode) -> None:
    auth = SalesforceAuth.model_validate(values)
    assert auth.mode is mode
    assert auth.renewable is (mode is not AuthMode.ACCESS_TOKEN)


@pytest.mark.parametrize(
    ("values", "missing"),
    [
        ({"private_key": "PEM"}, "missing username, consumer_key"),
        ({"username": "u@x.com", "private_key": "PEM"}, "missing consumer_key"),
        ({"username": "u@x.com", "consumer_key": "k"}, "missing private_key or private_key_file"),
        ({"consumer_secret": "s", "domain": "acme.my"}, "missing consumer_key"),
        ({"consumer_key": "k", "consumer_secret": "s"}, "missing domain (a My Domain"),
        ({"consumer_key": "k", "consumer_secret": "s", "domain": "test"}, "missing domain"),
        ({"username": "u@x.com", "password": "p"}, "missing security_token"),
        ({"security_token": "t"}, "missing username, password"),
        ({"access_token": "00D!x"}, "missing instance_url"),
        ({"instance_url": "https://acme.my.salesforce.com"}, "missing access_token"),
        ({}, "no Salesforce credentials"),
    ],
)
def test_a_partial_set_names_exactly_what_is_missing(values: dict[str, Any], missing: str) -> None:
    with pytest.raises(ValueError, match=r"(?s)" + missing.replace("(", r"\(")):
        SalesforceAuth.model_validate(values)


def test_domains_are_normalized_and_urls_must_be_https() -> None:
    auth = SalesforceAuth(
        consumer_key="k", consumer_secret=SECRET, domain="https://acme.my.salesforce.com/"
    )
    assert auth.domain == "acme.my"
    assert (
        SalesforceAuth(consumer_key="k", consumer_secret="s", domain="acme.my").domain == "acme.my"
    )
    with pytest.raises(ValidationError, match="https://"):
        SalesforceAuth(instance_url="http://acme.my.salesforce.com", access_token="t")
    assert (
        SalesforceAuth(
            instance_url="https://x.com", access_token="t", api_version="v61.0"
        ).api_version
        == "61.0"
    )


def test_password_login_is_refused_where_soap_login_is_gone() -> None:
    with pytest.raises(ValidationError, match="SOAP login"):
        SalesforceAuth(username="u@x.com", password="p", security_token="t", api_version="65.0")


def test_secrets_never_show_in_reprs_or_errors() -> None:
    auth = SalesforceAuth(
        username="u@x.com",
        consumer_key="k",
        private_key=SECRET,
        password=SECRET,
        consumer_secret=SECRET,
        access_token=SECRET,
        security_token=SECRET,
        instance_url="https://x.my.salesforce.com",
    )
    assert SECRET not in repr(auth) and SECRET not in str(auth)
    assert SECRET not in auth.model_dump_json()
    with pytest.raises(ValidationError) as partial:
        SalesforceAuth(access_token=SECRET)
    assert SECRET not in str(partial.value)


def test_connect_refuses_unverified_tls() -> None:
    session = requests.Session()
    session.verify = False
    with pytest.raises(ValueError, match="TLS"):
        connect(SalesforceAuth(instance_url="https://x.com", access_token="t"), session)


async def test_access_token_mode_reaches_the_org(token_auth: SalesforceAuth) -> None:
    gateway = SalesforceGateway(token_auth)
    try:
        identity = await gateway.identity()
    finally:
        await gateway.aclose()
    assert identity.integration_username == INTEGRATION_USERNAME
    assert identity.org_name == "Acme Corp" and identity.is_sandbox is False


async def test_jwt_bearer_logs_in_through_the_token_endpoint(
    jwt_auth: SalesforceAuth,
    login_session: Callable[..., requests.Session],
    org: SimulatedOrg,
) -> None:
    gateway = SalesforceGateway(jwt_auth, session=login_session())
    try:
        identity = await gateway.identity()
    finally:
        await gateway.aclose()
    assert identity.integration_username == INTEGRATION_USERNAME
    grants = [c for c in org.calls if c.path == "/services/oauth2/token"]
    assert len(grants) == 1


async def test_jwt_bearer_reads_the_key_from_a_file(
    rsa_key: tuple[str, str],
    login_session: Callable[..., requests.Session],
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "server.key"
    key_file.write_text(rsa_key[0])
    auth = SalesforceAuth(
        username=INTEGRATION_USERNAME,
        consumer_key="3MVG9test.jwt.consumer",
        private_key_file=key_file,
    )
    gateway = SalesforceGateway(auth, session=login_session())
    try:
        assert (await gateway.identity()).integration_username == INTEGRATION_USERNAME
    finally:
        await gateway.aclose()


async def test_client_credentials_need_a_my_domain_and_work_through_it(
    login_session: Callable[..., requests.Session],
) -> None:
    auth = SalesforceAuth(consumer_key=CLIENT_ID, consumer_secret=CLIENT_SECRET, domain="acme.my")
    gateway = SalesforceGateway(auth, session=login_session("acme.my"))
    try:
        assert (await gateway.identity()).integration_username == INTEGRATION_USERNAME
    finally:
        await gateway.aclose()


async def test_legacy_password_login_works_and_warns(
    org: SimulatedOrg,
    login_session: Callable[..., requests.Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    org.set_password(INTEGRATION_USERNAME, "pass-word", "TOKEN123")
    auth = SalesforceAuth(
        username=INTEGRATION_USERNAME, password="pass-word", security_token="TOKEN123"
    )
    gateway = SalesforceGateway(auth, session=login_session())
    try:
        with caplog.at_level(logging.WARNING, logger="salesforce.auth"):
            assert (await gateway.identity()).integration_username == INTEGRATION_USERNAME
    finally:
        await gateway.aclose()
    assert any("Summer '27" in r.getMessage() for r in caplog.records)
    assert all("pass-word" not in r.getMessage() for r in caplog.records)


async def test_refused_credentials_raise_without_leaking_the_secret(
    login_session: Callable[..., requests.Session],
) -> None:
    auth = SalesforceAuth(consumer_key=CLIENT_ID, consumer_secret=SECRET, domain="acme.my")
    gateway = SalesforceGateway(auth, session=login_session("acme.my"))
    try:
        with pytest.raises(AuthenticationFailed) as refused:
            await gateway.identity()
    finally:
        await gateway.aclose()
    assert refused.value.error_code == "invalid_client"
    assert SECRET not in str(refused.value) and SECRET not in refused.value.raw_message
    assert not refused.value.retryable


async def test_tls_is_verified_against_the_configured_bundle(
    server: OrgServer, token_auth: SalesforceAuth, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    gateway = SalesforceGateway(token_auth)
    try:
        with pytest.raises(UnknownSalesforceError) as failure:
            await gateway.identity()
    finally:
        await gateway.aclose()
    assert failure.value.error_code == "TLS"
    assert not failure.value.retryable
