"""Slack's rate limits in the simulated workspace: tiers per method, postMessage per channel."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SimulatedSlack
from bot.sandbox.slack_limits import METHOD_TIERS, PER_MINUTE, RateLimits, Tier, TokenBucket
from bot.sandbox.slack_methods import METHODS

Advance = Callable[[float], None]


async def _refused(call: Callable[[], object]) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call()  # type: ignore[misc]
    return caught.value


def _retry_after(error: SlackApiError) -> str:
    assert error.response.status_code == 429
    assert error.response.data == {"ok": False, "error": "ratelimited"}
    return str(error.response.headers["Retry-After"])


@pytest.mark.parametrize(
    ("method", "tier", "retry_after"),
    # A refill every 60/limit seconds: Retry-After is that gap rounded up to whole seconds.
    [("users.info", Tier.TIER_4, "1"), ("conversations.open", Tier.TIER_3, "2")],
)
async def test_a_method_takes_its_tiers_minute_at_once_then_answers_429(
    slack: SimulatedSlack,
    slack_client: AsyncWebClient,
    advance_clock: Advance,
    method: str,
    tier: Tier,
    retry_after: str,
) -> None:
    assert METHOD_TIERS[method] is tier

    async def call() -> object:
        if method == "users.info":
            return await slack_client.users_info(user="U0ALICE")
        return await slack_client.conversations_open(users="U0ALICE")

    for _ in range(PER_MINUTE[tier]):
        await call()
    refused = await _refused(call)
    assert _retry_after(refused) == retry_after
    # Another method has its own allowance.
    assert (await slack_client.users_list(limit=200))["ok"] is True
    advance_clock(int(retry_after))
    await call()
    assert int(_retry_after(await _refused(call))) >= 1


async def test_users_list_refills_one_call_every_three_seconds(
    slack: SimulatedSlack, slack_client: AsyncWebClient, advance_clock: Advance
) -> None:
    for _ in range(20):
        await slack_client.users_list(limit=200)
    assert _retry_after(await _refused(lambda: slack_client.users_list(limit=200))) == "3"
    advance_clock(1)
    assert _retry_after(await _refused(lambda: slack_client.users_list(limit=200))) == "2"
    advance_clock(2)
    assert (await slack_client.users_list(limit=200))["ok"] is True
    assert _retry_after(await _refused(lambda: slack_client.users_list(limit=200))) == "3"
    # Quiet for a minute: the whole burst is back.
    advance_clock(60)
    for _ in range(20):
        await slack_client.users_list(limit=200)


async def test_post_message_allows_a_short_burst_per_channel_then_one_a_second(
    slack: SimulatedSlack, slack_client: AsyncWebClient, advance_clock: Advance
) -> None:
    for number in range(3):
        await slack_client.chat_postMessage(channel="U0ALICE", text=f"burst {number}")
    # The person's id and their IM are one channel.
    refused = await _refused(lambda: slack_client.chat_postMessage(channel="D0ALICE", text="4"))
    assert _retry_after(refused) == "1"
    # Other channels are not held back.
    await slack_client.chat_postMessage(channel="U0BOB", text="to bob")
    await slack_client.chat_postMessage(channel="C0APPROVE", text="to the channel")
    advance_clock(1)
    await slack_client.chat_postMessage(channel="U0ALICE", text="a second later")
    assert _retry_after(
        await _refused(lambda: slack_client.chat_postMessage(channel="U0ALICE", text="again"))
    )
    texts = [m.text for m in slack.dms("U0ALICE")]
    assert texts == ["burst 0", "burst 1", "burst 2", "a second later"]
    assert [c.status for c in slack.rate_limited_calls("chat.postMessage")] == [429, 429]


async def test_limits_can_be_switched_off(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    slack.set_rate_limits(enabled=False)
    for number in range(10):
        await slack_client.chat_postMessage(channel="U0ALICE", text=str(number))
    for _ in range(25):
        await slack_client.users_list(limit=200)
    assert not slack.rate_limited_calls()
    slack.set_rate_limits(enabled=True)
    for _ in range(3):
        await slack_client.chat_postMessage(channel="U0ALICE", text="limited again")
    await _refused(lambda: slack_client.chat_postMessage(channel="U0ALICE", text="over"))


def test_every_method_the_simulator_answers_has_its_limit() -> None:
    special = {"auth.test", "chat.getPermalink", "chat.postMessage"}
    assert set(METHODS) == set(METHOD_TIERS) | special


def test_a_bucket_refills_evenly_and_never_beyond_its_burst() -> None:
    bucket = TokenBucket.full(capacity=PER_MINUTE[Tier.TIER_1], per_second=1 / 60, now=0.0)
    assert bucket.take(0.0) is None
    assert bucket.take(0.0) == 60
    assert bucket.take(45.0) == 15
    assert bucket.take(60.0) is None
    assert bucket.take(10_000.0) is None  # a long quiet spell still allows one, not hundreds
    assert bucket.take(10_000.0) == 60


def test_a_refused_call_does_not_count() -> None:
    now = [0.0]
    limits = RateLimits(lambda: now[0])
    for _ in range(3):
        assert limits.check("chat.postMessage", "D0ALICE") is None
    for _ in range(5):
        assert limits.check("chat.postMessage", "D0ALICE") == 1
    now[0] = 1.0
    assert limits.check("chat.postMessage", "D0ALICE") is None
    assert limits.check("chat.postMessage", "D0ALICE") == 1
