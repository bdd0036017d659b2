"""`accessbot serve` picks Socket Mode when SLACK_APP_TOKEN is set, HTTP otherwise.

These tests stop at the handler: which one `serve` builds, with which token and app. A live
link to the simulated Slack, with a request carried through it, is in test_socket_mode_link.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot import cli, logs
from bot.policy_export import policy_yaml
from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.sf_server import OrgServer
from bot.sandbox.stage import demo_policy
from bot.settings import Settings
from bot.wiring import build_runtime
from storage.audit_key import fingerprint
from storage.db import Database, is_postgres
from tests.handlers.fakes import FakeGateway

APP_TOKEN = "xapp-1-A0DEMO-1-0123456789"


def _settings(tmp_path: Path, database: dict[str, Any] | None = None, **values: Any) -> Settings:
    base: dict[str, Any] = {
        "SLACK_BOT_TOKEN": SecretStr("xoxb-test"),
        "ACCESSBOT_DATABASE": tmp_path / "accessbot.sqlite3",
    }
    return Settings(_env_file=None, **(base | (database or {}) | values))


async def test_an_app_token_gives_a_socket_mode_handler_around_the_app(
    tmp_path: Path, e2e_database: dict[str, Any]
) -> None:
    settings = _settings(tmp_path, e2e_database, SLACK_APP_TOKEN=SecretStr(APP_TOKEN))
    assert settings.socket_mode
    runtime = await build_runtime(settings, demo_policy, gateway=FakeGateway())
    try:
        handler = cli.socket_mode_handler(runtime.app, settings)
        assert isinstance(handler, AsyncSocketModeHandler)
        assert handler.app is runtime.app and handler.app_token == APP_TOKEN
        # the Web API calls of the connection go through the bot's client (token, retries)
        assert handler.client.web_client is runtime.deps.client
        assert handler.client.web_client.retry_handlers
        await handler.client.close()
    finally:
        await runtime.close()


async def test_without_an_app_token_serve_takes_http(
    tmp_path: Path, e2e_database: dict[str, Any]
) -> None:
    settings = _settings(tmp_path, e2e_database, SLACK_SIGNING_SECRET=SecretStr("secret"))
    assert not settings.socket_mode
    runtime = await build_runtime(settings, demo_policy, gateway=FakeGateway())
    try:
        assert cli.socket_mode_handler(runtime.app, settings) is None
        port = await runtime.serve_http("127.0.0.1", 0)
        assert port > 0
    finally:
        await runtime.close()


def test_socket_mode_needs_no_signing_secret_and_http_mode_does(tmp_path: Path) -> None:
    _settings(tmp_path, SLACK_APP_TOKEN=SecretStr(APP_TOKEN)).check_mode()
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        _settings(tmp_path).check_mode()


class Connected(Exception):
    """Raised where the live connection would start."""


@pytest.fixture
def org_server() -> Iterator[OrgServer]:
    org = SimulatedOrg()
    org.seed_demo()
    with OrgServer(org) as server:
        yield server


def test_serve_connects_in_socket_mode_when_the_token_is_set(
    org_server: OrgServer,
    tmp_path: Path,
    e2e_database: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = str(e2e_database.get("ACCESSBOT_DATABASE") or tmp_path / "accessbot.sqlite3")
    key_file = tmp_path / "audit.key"
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(policy_yaml(demo_policy()), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_APP_TOKEN": APP_TOKEN,
        "ACCESSBOT_POLICY_FILE": str(policy_file),
        "ACCESSBOT_DATABASE": database,
        "ACCESSBOT_AUDIT_KEY_FILE": str(key_file),
        "SALESFORCE_INSTANCE_URL": org_server.instance_url,
        "SALESFORCE_ACCESS_TOKEN": org_server.access_token,
        "REQUESTS_CA_BUNDLE": org_server.ca_bundle_path,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    # serve sets up logging for the process; the test keeps pytest's own
    monkeypatch.setattr(logs, "configure_logging", lambda *args, **kwargs: None)
    connected: list[AsyncSocketModeHandler] = []

    async def connect_async(self: AsyncSocketModeHandler) -> None:
        connected.append(self)
        await self.client.close()
        raise Connected

    monkeypatch.setattr(AsyncSocketModeHandler, "connect_async", connect_async)
    with pytest.raises(Connected):
        cli.main(["serve"])
    (handler,) = connected
    assert handler.app_token == APP_TOKEN
    # serve opened the database before connecting: it holds the audit key serve made
    assert is_postgres(database) or Path(database).is_file()
    assert asyncio.run(_registered_key(database)) == fingerprint(
        key_file.read_text().strip().encode()
    )


async def _registered_key(database: str) -> str:
    async with Database(database) as db:
        (row,) = await db.conn.execute_fetchall("SELECT fingerprint FROM audit_keys")
    return str(row["fingerprint"])
