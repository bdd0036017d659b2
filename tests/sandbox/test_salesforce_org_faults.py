"""The simulated org's faults, holds, latency and login endpoints."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import requests
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.sandbox.salesforce_org import FaultKind, OrgServer, SimulatedOrg
from bot.sandbox.sf_seed import CLIENT_ID, CLIENT_SECRET, INACTIVE_USERNAME, INTEGRATION_USERNAME

Api = Callable[..., requests.Response]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def org(key: rsa.RSAPrivateKey) -> SimulatedOrg:
    sim = SimulatedOrg(seed=7)
    sim.seed_demo()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sim.register_app("jwt-app", certificate_pem=public.decode())
    return sim


@pytest.fixture
def server(
    org: SimulatedOrg, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OrgServer]:
    with OrgServer(org, ca) as running:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_bundle_path)
        yield running


@pytest.fixture
def api(server: OrgServer) -> Api:
    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        timeout = kwargs.pop("timeout", 5)
        headers = {"Authorization": f"Bearer {server.access_token}"}
        url = f"{server.instance_url}/services/data/v62.0/{path}"
        return requests.request(method, url, headers=headers, timeout=timeout, **kwargs)

    return call


def test_injected_errors_use_real_bodies_and_run_out(api: Api, org: SimulatedOrg) -> None:
    org.faults.inject(FaultKind.SERVER_ERROR, count=2)
    first, second, third = api("GET", "limits"), api("GET", "limits"), api("GET", "limits")
    assert first.status_code == second.status_code == 500
    assert first.json()[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    assert third.status_code == 200
    org.faults.inject(FaultKind.UNAVAILABLE)
    assert api("GET", "limits").status_code == 503
    org.faults.inject(FaultKind.REQUEST_LIMIT)
    limited = api("GET", "limits")
    assert limited.status_code == 403
    assert limited.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert "Sforce-Limit-Info" in limited.headers


def test_faults_can_target_paths(api: Api, org: SimulatedOrg) -> None:
    org.faults.fail_next(400, "INSUFFICIENT_ACCESS_OR_READONLY", "no", path="/composite")
    assert api("GET", "limits").status_code == 200
    body = {
        "compositeRequest": [
            {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "l"}
        ]
    }
    refused = api("POST", "composite", json=body)
    assert refused.json() == [
        {"message": "no", "errorCode": "INSUFFICIENT_ACCESS_OR_READONLY", "fields": []}
    ]


def test_a_seeded_rate_fails_the_same_requests_every_run(
    ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    patterns = []
    for _ in range(2):
        sim = SimulatedOrg(seed=42)
        sim.seed_demo()
        sim.faults.set_rate(FaultKind.UNAVAILABLE, 0.3)
        with OrgServer(sim, ca) as running:
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_bundle_path)
            headers = {"Authorization": f"Bearer {running.access_token}"}
            url = f"{running.instance_url}/services/data/v62.0/limits"
            patterns.append(
                [requests.get(url, headers=headers, timeout=5).status_code for _ in range(20)]
            )
    assert patterns[0] == patterns[1]
    assert 2 <= patterns[0].count(503) <= 12


def _title(org: SimulatedOrg, user_id: str) -> object:
    user = org.user(user_id)
    return user.fields.get("Title") if user else None


def test_a_timeout_outlasts_the_client_and_the_change_still_lands(
    api: Api, org: SimulatedOrg
) -> None:
    org.faults.inject(FaultKind.TIMEOUT, hold=0.6)
    maria = org.id_of("User", "maria.garcia@acme.com")
    with pytest.raises(requests.ReadTimeout):
        api("PATCH", f"sobjects/User/{maria}", json={"Title": "Late"}, timeout=0.2)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and _title(org, maria) != "Late":
        time.sleep(0.05)
    assert _title(org, maria) == "Late"


def test_a_dropped_connection(api: Api, org: SimulatedOrg) -> None:
    org.faults.inject(FaultKind.DROP)
    with pytest.raises(requests.ConnectionError):
        api("GET", "limits")
    assert api("GET", "limits").status_code == 200


@pytest.mark.parametrize("after_apply", [False, True])
def test_a_hold_parks_a_request_until_released(
    api: Api, org: SimulatedOrg, after_apply: bool
) -> None:
    maria = org.id_of("User", "maria.garcia@acme.com")
    hold = org.hold(f"/sobjects/User/{maria}", after_apply=after_apply)
    answers: list[int] = []
    worker = threading.Thread(
        target=lambda: answers.append(
            api("PATCH", f"sobjects/User/{maria}", json={"IsActive": False}).status_code
        )
    )
    worker.start()
    assert hold.wait_arrived(2)
    user = org.user(maria)
    assert user is not None and user.is_active is (not after_apply)
    assert answers == [] and hold.waiting == 1
    hold.release()
    worker.join(2)
    assert answers == [204]
    user = org.user(maria)
    assert user is not None and not user.is_active


def test_stopping_releases_parked_requests(
    org: SimulatedOrg, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = OrgServer(org, ca)
    running.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_bundle_path)
    hold = org.hold("/limits")
    headers = {"Authorization": f"Bearer {running.access_token}"}
    url = f"{running.instance_url}/services/data/v62.0/limits"
    worker = threading.Thread(target=lambda: requests.get(url, headers=headers, timeout=3))
    worker.start()
    assert hold.wait_arrived(2)
    started = time.monotonic()
    running.stop()
    worker.join(3)
    assert time.monotonic() - started < 2.5 and not worker.is_alive()


def test_latency_applies_to_every_response(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = SimulatedOrg(delay=0.15)
    sim.seed_demo()
    with OrgServer(sim, ca) as running:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_bundle_path)
        started = time.monotonic()
        requests.get(
            f"{running.instance_url}/services/data/v62.0/limits",
            headers={"Authorization": f"Bearer {running.access_token}"},
            timeout=5,
        )
        assert time.monotonic() - started >= 0.15


def _assertion(key: rsa.RSAPrivateKey, issuer: str, subject: str) -> str:
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": "https://login.salesforce.com",
        "exp": int((datetime.now(UTC) + timedelta(minutes=3)).timestamp()),
    }
    return jwt.encode(claims, key, algorithm="RS256")


def test_token_endpoint_grants(server: OrgServer, key: rsa.RSAPrivateKey) -> None:
    url = f"{server.instance_url}/services/oauth2/token"
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    ok = requests.post(
        url,
        data={"grant_type": grant, "assertion": _assertion(key, "jwt-app", INTEGRATION_USERNAME)},
        timeout=5,
    )
    assert ok.status_code == 200 and ok.json()["instance_url"] == server.instance_url
    info = requests.get(
        f"{server.instance_url}/services/oauth2/userinfo",
        headers={"Authorization": f"Bearer {ok.json()['access_token']}"},
        timeout=5,
    )
    assert info.json()["preferred_username"] == INTEGRATION_USERNAME
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = requests.post(
        url,
        data={"grant_type": grant, "assertion": _assertion(other, "jwt-app", INTEGRATION_USERNAME)},
        timeout=5,
    )
    assert forged.status_code == 400 and forged.json()["error"] == "invalid_grant"
    stranger = requests.post(
        url,
        data={"grant_type": grant, "assertion": _assertion(key, "nobody", INTEGRATION_USERNAME)},
        timeout=5,
    )
    assert stranger.json()["error"] == "invalid_client_id"
    inactive = requests.post(
        url,
        data={"grant_type": grant, "assertion": _assertion(key, "jwt-app", INACTIVE_USERNAME)},
        timeout=5,
    )
    assert inactive.json()["error"] == "invalid_grant"
    client = requests.post(
        url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, CLIENT_SECRET), timeout=5
    )
    assert client.status_code == 200
    wrong = requests.post(
        url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "nope"), timeout=5
    )
    assert wrong.json() == {
        "error": "invalid_client",
        "error_description": "invalid client credentials",
    }


def test_soap_login_until_v64(server: OrgServer, org: SimulatedOrg) -> None:
    org.set_password(INTEGRATION_USERNAME, "pw", "TOK")
    envelope = (
        "<env:Envelope><n1:login><n1:username>{u}</n1:username>"
        "<n1:password>{p}</n1:password></n1:login></env:Envelope>"
    )
    ok = requests.post(
        f"{server.instance_url}/services/Soap/u/62.0",
        data=envelope.format(u=INTEGRATION_USERNAME, p="pwTOK"),
        headers={"content-type": "text/xml"},
        timeout=5,
    )
    assert ok.status_code == 200 and "<sessionId>" in ok.text and server.instance_url in ok.text
    bad = requests.post(
        f"{server.instance_url}/services/Soap/u/62.0",
        data=envelope.format(u=INTEGRATION_USERNAME, p="pw"),
        timeout=5,
    )
    assert bad.status_code == 500 and "INVALID_LOGIN" in bad.text
    gone = requests.post(
        f"{server.instance_url}/services/Soap/u/65.0",
        data=envelope.format(u=INTEGRATION_USERNAME, p="pwTOK"),
        timeout=5,
    )
    assert gone.status_code == 500 and "UNSUPPORTED_API_VERSION" in gone.text
