"""Secrets (Slack tokens, the signing secret, Salesforce session ids and keys) stay secret:
typed SecretStr, never in a log line, an error message, a Slack message or the database.
"""

from __future__ import annotations

import io
import logging
import sqlite3
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from bot.cli import _secrets
from bot.logs import MASK, SecretFilter
from bot.sandbox.salesforce_org import FaultKind, OrgServer, SimulatedOrg
from bot.sandbox.sf_login import route_logins
from bot.sandbox.sf_seed import INTEGRATION_USERNAME
from bot.sandbox.stage import JANE, OMAR, SIGNING_SECRET, Stage
from bot.settings import Settings
from handlers.ids import ActionId
from salesforce.auth import SalesforceAuth
from salesforce.errors import AuthenticationFailed
from salesforce.gateway import SalesforceGateway
from storage.models import State
from tests.e2e.steps import approval_message, submit_request
from tests.security.actors import until

SECRET_NAMES = ("TOKEN", "SECRET", "PASSWORD", "PRIVATE_KEY")
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEsecret\n-----END PRIVATE KEY-----"


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, io.StringIO, SecretFilter]]:
    """Every log record at DEBUG, raw and through the production filter."""
    raw, filtered = io.StringIO(), io.StringIO()
    secret_filter = SecretFilter()
    plain = logging.StreamHandler(raw)
    masked = logging.StreamHandler(filtered)
    masked.addFilter(secret_filter)
    root = logging.getLogger()
    level = root.level
    for handler in (plain, masked):
        handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield raw, filtered, secret_filter
    finally:
        root.removeHandler(plain)
        root.removeHandler(masked)
        root.setLevel(level)


def test_every_secret_setting_is_a_secret_str() -> None:
    secret_fields = [
        (name, field)
        for name, field in Settings.model_fields.items()
        if field.alias and field.alias.endswith(SECRET_NAMES)
    ]
    assert len(secret_fields) >= 7
    for name, field in secret_fields:
        assert SecretStr in typing.get_args(field.annotation) or field.annotation is SecretStr, name


def test_settings_never_show_their_secrets() -> None:
    values = {
        "SLACK_BOT_TOKEN": "xoxb-1111-2222-secretbot",
        "SLACK_SIGNING_SECRET": "signing-secret-value",
        "SLACK_APP_TOKEN": "xapp-1-A111-secretapp",
        "SALESFORCE_ACCESS_TOKEN": "00D5g000000ABCD!AQ8secret.session",
        "SALESFORCE_CONSUMER_SECRET": "consumer-secret-value",
        "SALESFORCE_PRIVATE_KEY": PEM,
        "SALESFORCE_PASSWORD": "pass-word-value",
        "SALESFORCE_SECURITY_TOKEN": "security-token-value",
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[arg-type]
    shown = "\n".join((repr(settings), str(settings), settings.model_dump_json()))
    for secret in values.values():
        assert secret not in shown
    # the log filter of `accessbot serve` is given every one of them
    assert set(_secrets(settings)) == set(values.values())


def test_the_filter_masks_known_and_secret_shaped_values() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(SecretFilter(["signing-secret-value"]))
    logger = logging.getLogger("tests.security.filter")
    logger.addHandler(handler)
    logger.propagate = False
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----"
    try:
        logger.warning(
            "secret %s, bot xoxb-123-456-abc, user xoxp-9-8-7, app xapp-1-A1-2, session "
            "00D5g000000ABCD!AQ8xYz.123, header Bearer abc.def, key %s",
            "signing-secret-value",
            key,
        )
        try:
            raise RuntimeError("refused with token xoxb-999-888-zzz")
        except RuntimeError:
            logger.exception("call failed")
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    for secret in (
        "signing-secret-value",
        "xoxb-123",
        "xoxp-9",
        "xapp-1",
        "00D5g000000ABCD!AQ8",
        "abc.def",
        "MIIEabc",
        "xoxb-999",
    ):
        assert secret not in text
    assert text.count(MASK) >= 8 and "Bearer " in text


def _stage_secrets(stage: Stage) -> dict[str, str]:
    return {
        "bot token": stage.slack.bot_token,
        "signing secret": SIGNING_SECRET,
        "Salesforce session id": stage.org_server.access_token,
    }


def _database_text(path: Path) -> str:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT * FROM requests").fetchall()
        rows += db.execute("SELECT * FROM audit_log").fetchall()
    return "\n".join(map(str, rows))


async def test_a_whole_run_with_failures_leaks_no_secret(
    stage: Stage, captured: tuple[io.StringIO, io.StringIO, SecretFilter]
) -> None:
    raw, filtered, _ = captured
    secrets = _stage_secrets(stage)
    repo = stage.runtime.deps.repo
    # a request through, with Salesforce and Slack failing on the way
    first = await submit_request(stage, JANE.id)
    stage.org.faults.inject(FaultKind.SERVER_ERROR, count=1, path="/composite")
    message = await approval_message(stage, OMAR.id, first.id)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)

    async def retried() -> bool:
        await stage.settle()
        found = await repo.get(first.id)
        return found is not None and found.attempts == 1

    await until(retried)
    # the session expires: the bot's token is refused, the admins are asked (with the error)
    stage.org.expire_sessions()
    await stage.runtime.deps.worker.process(first.id)
    stuck = await repo.get(first.id)
    assert stuck is not None and stuck.state is State.NEEDS_ADMIN
    assert stuck.last_error and "session" in stuck.last_error.lower()
    # Slack refusing every post; a forged request; a listener failing on a bad trigger
    for _ in range(4):
        stage.slack.fail_next("chat.postMessage", 500)
    await stage.workspace.slash(JANE.id, "status")
    await stage.workspace.post_raw(b"command=%2Fsalesforce", content_type="form", signature="v0=1")
    reply = await stage.workspace.slash(JANE.id, "")
    assert reply.status == 200
    await stage.settle()  # the listeners' work after their acks too

    logs = raw.getvalue()
    assert "INVALID_SESSION_ID" in logs or "Session expired" in logs  # the failures were logged
    shown_to_people = "\n".join(str(call.args) for call in stage.slack.calls())
    stored = _database_text(stage.runtime.settings.database_path)
    for name, secret in secrets.items():
        assert secret not in logs, f"{name} in the logs"
        assert secret not in filtered.getvalue(), f"{name} in the filtered logs"
        assert secret not in shown_to_people, f"{name} in a Slack message"
        assert secret not in stored, f"{name} in the database"


@pytest.fixture
def jwt_org() -> Iterator[OrgServer]:
    org = SimulatedOrg()
    org.seed_demo()
    with OrgServer(org, trustme.CA()) as server:
        yield server


async def test_a_refused_jwt_login_never_shows_the_private_key(
    jwt_org: OrgServer,
    monkeypatch: pytest.MonkeyPatch,
    captured: tuple[io.StringIO, io.StringIO, SecretFilter],
) -> None:
    raw, _, _ = captured
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", jwt_org.ca_bundle_path)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    body = pem.splitlines()[5]  # a line from the middle of the key
    # the org knows no app with this key: the login is refused
    auth = SalesforceAuth(
        username=INTEGRATION_USERNAME, consumer_key="3MVG9unknown.app", private_key=pem
    )
    session = route_logins(requests.Session(), jwt_org.instance_url)
    gateway = SalesforceGateway(auth, session=session, timeout=5)
    try:
        with pytest.raises(AuthenticationFailed) as refused:
            await gateway.identity()
    finally:
        await gateway.aclose()
    error = refused.value
    for text in (str(error), error.raw_message, error.human, repr(auth), raw.getvalue()):
        assert body not in text and "PRIVATE KEY" not in text
