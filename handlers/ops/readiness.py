"""Readiness: can this process do its work now? The database, Slack and Salesforce, each asked.

Slack and Salesforce answers are kept a little while, so an orchestrator probing every few
seconds costs one ``auth.test`` and one Salesforce call per interval, not one per probe.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ConfigDict
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.flows.ports import SalesforceGateway
from salesforce.errors import SalesforceError
from storage.db import Database, latest_migration

CHECK_TIMEOUT = 5.0  # seconds one check may take before it counts as failed


class CheckFailed(Exception):
    """A check's answer: this part cannot work, and why."""


class Check(BaseModel):
    """One part's answer."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    detail: str


class ReadinessReport(BaseModel):
    """Every part's answer; ready when all passed."""

    model_config = ConfigDict(frozen=True)

    checks: dict[str, Check]

    @property
    def ready(self) -> bool:
        """Whether every check passed."""
        return all(check.ok for check in self.checks.values())

    def body(self) -> dict[str, object]:
        """The JSON the endpoint answers: the verdict, what fails, and each part's detail."""
        return {
            "status": "ready" if self.ready else "not ready",
            "failing": [name for name, check in self.checks.items() if not check.ok],
            "checks": {name: check.model_dump() for name, check in self.checks.items()},
        }


class CachedCheck:
    """A check whose answer is reused for a while: ``ok_ttl`` seconds, ``fail_ttl`` if failed.

    Probes arriving together wait for one run instead of each starting their own.
    """

    def __init__(
        self, run: Callable[[], Awaitable[str]], *, ok_ttl: float, fail_ttl: float
    ) -> None:
        self._run = run
        self._ok_ttl = ok_ttl
        self._fail_ttl = fail_ttl
        self._lock = asyncio.Lock()
        self._answer: Check | None = None
        self._until = 0.0

    async def __call__(self) -> Check:
        """The kept answer while fresh, otherwise a new one."""
        async with self._lock:
            if self._answer is None or time.monotonic() >= self._until:
                self._answer = await run_check(self._run)
                ttl = self._ok_ttl if self._answer.ok else self._fail_ttl
                self._until = time.monotonic() + ttl
            return self._answer


async def run_check(run: Callable[[], Awaitable[str]]) -> Check:
    """Run one check within the time limit; any failure becomes a failed answer with its why."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            return Check(ok=True, detail=await run())
    except CheckFailed as failure:
        return Check(ok=False, detail=str(failure))
    except TimeoutError:
        return Check(ok=False, detail=f"no answer within {CHECK_TIMEOUT:g} seconds")
    except Exception as error:  # a probe reports any failure; it never raises
        return Check(ok=False, detail=f"{type(error).__name__}: {error}")


def database_check(db: Database) -> Callable[[], Awaitable[str]]:
    """The database answers, at the schema version this code migrates to."""

    async def check() -> str:
        version, wanted = await db.schema_version(), latest_migration()
        if version < wanted:
            raise CheckFailed(f"migrations pending: schema version {version}, code needs {wanted}")
        if version > wanted:
            raise CheckFailed(
                f"schema version {version} is newer than this code knows ({wanted}): "
                "a newer accessbot migrated it; upgrade this one"
            )
        return f"schema version {version}"

    return check


def slack_check(client: AsyncWebClient) -> Callable[[], Awaitable[str]]:
    """The bot token works (``auth.test``)."""

    async def check() -> str:
        try:
            answer = await client.auth_test()
        except SlackApiError as error:
            raise CheckFailed(f"auth.test failed: {error.response.get('error')}") from None
        return f"auth.test ok: {answer.get('user')} in {answer.get('team')}"

    return check


def salesforce_check(gateway: SalesforceGateway) -> Callable[[], Awaitable[str]]:
    """The Salesforce session is usable (one cheap call)."""

    async def check() -> str:
        try:
            budget = await gateway.check_session()
        except SalesforceError as error:
            said = " ".join(part for part in (error.error_code, error.raw_message) if part)
            raise CheckFailed(f"{error.human} ({said})" if said else error.human) from None
        return f"session usable; {budget.remaining} of {budget.total} API requests left today"

    return check


class Readiness:
    """The named checks, asked together."""

    def __init__(self, checks: dict[str, Callable[[], Awaitable[Check]]]) -> None:
        self._checks = checks

    async def report(self) -> ReadinessReport:
        """Every check's answer (run concurrently)."""
        answers = await asyncio.gather(*(check() for check in self._checks.values()))
        return ReadinessReport(checks=dict(zip(self._checks, answers, strict=True)))


def bot_readiness(
    db: Database,
    client: AsyncWebClient,
    gateway: SalesforceGateway,
    *,
    ok_ttl: float = 30.0,
    fail_ttl: float = 5.0,
) -> Readiness:
    """Database (asked every time: it is local), Slack and Salesforce (answers kept a while)."""

    def kept(run: Callable[[], Awaitable[str]]) -> CachedCheck:
        return CachedCheck(run, ok_ttl=ok_ttl, fail_ttl=fail_ttl)

    async def database() -> Check:
        return await run_check(database_check(db))

    return Readiness(
        {
            "database": database,
            "slack": kept(slack_check(client)),
            "salesforce": kept(salesforce_check(gateway)),
        }
    )
