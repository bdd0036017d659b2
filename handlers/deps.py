"""What every listener and job is given: the composition root fills this in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from handlers.flows.catalog import CatalogService
from handlers.flows.converge import Converger
from handlers.flows.ports import SalesforceGateway
from handlers.flows.provision import ProvisioningConfig
from handlers.policy import Policy
from storage.break_glass import BreakGlassReviews
from storage.db import Clock
from storage.events import EventLog
from storage.policy_overrides import PolicyOverrides
from storage.requests import RequestRepository
from storage.reviews import Reviews
from storage.transfers import Transfers

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from handlers.break_glass_notices import BreakGlassNotices
    from handlers.listeners.home import HomePublisher
    from handlers.notifier import Notifier
    from handlers.people import SlackPeople
    from handlers.rate_limits import RateLimitCounter
    from handlers.review_messages import ReviewMessenger
    from handlers.user_groups import SlackUserGroups
    from handlers.worker import Worker


@dataclass(frozen=True)
class BotConfig:
    """Settings the Slack side needs, copied out of ``bot.settings.Settings``."""

    command: str = "/salesforce"
    login_url: str = "https://login.salesforce.com"
    instance_url: str = ""
    worker_id: str = "accessbot"
    lease: timedelta = timedelta(minutes=5)
    api_budget_floor: int = 1000
    provisioning: ProvisioningConfig = field(default_factory=ProvisioningConfig)


@dataclass
class Deps:
    """The bot's collaborators; built once per process by ``bot.wiring``."""

    repo: RequestRepository
    events: EventLog
    catalog: CatalogService
    converger: Converger
    gateway: SalesforceGateway
    policy: Callable[[], Policy]
    # The policy file alone, without the admins' changes from Slack.
    file_policy: Callable[[], Policy]
    clock: Clock
    config: BotConfig
    client: AsyncWebClient
    people: SlackPeople
    notifier: Notifier
    worker: Worker
    homes: HomePublisher
    overrides: PolicyOverrides
    user_groups: SlackUserGroups
    # The 429s Slack answered this process (for metrics); the client's retry handler counts.
    rate_limits: RateLimitCounter
    # Break-glass reviews still due, and the messages about break-glass access.
    break_glass_reviews: BreakGlassReviews
    break_glass: BreakGlassNotices
    transfers: Transfers
    # Access review campaigns, and each reviewer's message of them.
    reviews: Reviews
    review_messenger: ReviewMessenger
