"""Fixtures for the simulated Slack workspace: the Web API server and a client pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SimulatedSlack


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def advance_clock(clock: FakeClock) -> Callable[[float], None]:
    """Moves the simulator's clock (trigger expiry) forward by some seconds."""
    return clock.advance


@pytest.fixture
def slack(clock: FakeClock) -> Iterator[SimulatedSlack]:
    sim = SimulatedSlack(clock=clock)
    sim.add_user("U0ALICE", name="alice", real_name="Alice Martin", email="alice@example.com")
    sim.add_user(
        "U0BOB",
        name="bob",
        real_name="Bob Stone",
        email="Bob.Stone@example.com",
        tz="America/New_York",
        locale="fr-FR",
    )
    sim.add_channel("C0APPROVE", "access-approvals")
    with sim:
        yield sim


@pytest.fixture
def slack_client(slack: SimulatedSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
