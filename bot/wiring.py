"""The composition root: turns Settings and a policy into a running bot."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from aiohttp import ClientSession, ClientTimeout, web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.audit_secret import load_audit_key
from bot.heartbeat import WorkerHeartbeat
from bot.scheduler import Ticker
from bot.settings import Settings
from handlers.app import build_app
from handlers.break_glass_notices import BreakGlassNotices
from handlers.cohort_messages import CohortMessages
from handlers.delivery import SlackDelivery
from handlers.deps import BotConfig, Deps
from handlers.flows.catalog import CatalogService
from handlers.flows.converge import Converger
from handlers.flows.ports import SalesforceGateway
from handlers.flows.provision import ProvisioningConfig
from handlers.flows.requestable import EffectivePolicy
from handlers.http_front import slack_front
from handlers.jobs import JobSettings, LifecycleJobs
from handlers.listeners.home import HomePublisher
from handlers.notifier import Notifier
from handlers.offboarding_batch import BatchWindow
from handlers.ops.endpoints import OpsEndpoints
from handlers.ops.metrics import Metrics
from handlers.ops.readiness import bot_readiness
from handlers.people import SlackPeople
from handlers.policy import Policy
from handlers.rate_limits import RateLimitCounter, retry_handlers
from handlers.request_log import log_request_change
from handlers.review_jobs import ReviewJobs
from handlers.review_messages import ReviewMessenger
from handlers.user_groups import SlackUserGroups
from handlers.worker import Worker
from salesforce.auth import SalesforceAuth
from salesforce.gateway import SalesforceGateway as RealGateway
from storage.break_glass import BreakGlassReviews
from storage.cohorts import Cohorts
from storage.db import Clock, Database, utc_now
from storage.due import DueWork
from storage.events import EventLog
from storage.home_tabs import HomeTabs
from storage.kv import CatalogCache, JobLeases
from storage.outbox import Outbox
from storage.policy_overrides import PolicyOverrides
from storage.requests import RequestRepository
from storage.reviews import Reviews
from storage.stats import RequestStats
from storage.transfers import Transfers
from storage.workers import Heartbeats

log = logging.getLogger(__name__)

SLACK_API_DEFAULT = "https://slack.com/api/"


def slack_client(settings: Settings, rate_limits: RateLimitCounter | None = None) -> AsyncWebClient:
    """A Web API client that waits out 429s (counted in ``rate_limits``) and retries 5xx and
    dropped connections.

    Call it inside the running loop: the client keeps one HTTP session, so calls reuse open
    connections instead of paying a new connection (and session) each; ``Runtime.close``
    closes it.
    """
    token = settings.slack_bot_token
    return AsyncWebClient(
        token=token.get_secret_value() if token else None,
        base_url=settings.slack_api_url or SLACK_API_DEFAULT,
        session=ClientSession(timeout=ClientTimeout(total=30)),
        retry_handlers=retry_handlers(rate_limits or RateLimitCounter()),
    )


def salesforce_auth(settings: Settings) -> SalesforceAuth:
    """The Salesforce credentials the settings hold (the mode follows from which are set)."""
    optional = {"api_version": settings.salesforce_api_version}
    return SalesforceAuth(
        **{name: value for name, value in optional.items() if value is not None},
        instance_url=settings.salesforce_instance_url,
        access_token=settings.salesforce_access_token,
        username=settings.salesforce_username,
        consumer_key=settings.salesforce_consumer_key,
        consumer_secret=settings.salesforce_consumer_secret,
        private_key=settings.salesforce_private_key,
        private_key_file=settings.salesforce_private_key_file,
        password=settings.salesforce_password,
        security_token=settings.salesforce_security_token,
        domain=settings.salesforce_domain,
    )


@dataclass
class Runtime:
    """A wired bot: its app, collaborators, database and ticker."""

    settings: Settings
    db: Database
    deps: Deps
    app: AsyncApp
    ticker: Ticker
    ops: OpsEndpoints
    jobs: LifecycleJobs | None = None
    heartbeat: WorkerHeartbeat | None = None
    _runners: list[web.AppRunner] = field(default_factory=list)

    async def serve_http(self, host: str = "0.0.0.0", port: int = 3000) -> int:  # noqa: S104
        """Serve /slack/events and the operator endpoints over HTTP; returns the bound port
        (0 picks a free one)."""
        web_app = self.app.web_app(path="/slack/events", port=port)
        secret = self.settings.slack_signing_secret
        if secret is not None:
            web_app.middlewares.append(slack_front(secret.get_secret_value(), self.deps.client))
        self.ops.add_to(web_app)
        return await self._serve(web_app, host, port)

    async def serve_probes(self, host: str = "0.0.0.0", port: int = 3000) -> int:  # noqa: S104
        """Serve only /healthz, /readyz and /metrics (Socket Mode); returns the bound port."""
        return await self._serve(self.ops.app(), host, port)

    async def _serve(self, web_app: web.Application, host: str, port: int) -> int:
        runner = web.AppRunner(web_app)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runners.append(runner)
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        return int(sockets[0].getsockname()[1]) if sockets else port

    def start_ticking(self) -> None:
        """Start the scheduler (reminders, expiries, retries, recovery)."""
        self.ticker.start()

    async def close(self) -> None:
        """Stop serving, wait for background steps, close Salesforce and the database."""
        # Each step runs whatever the one before it did: a database left open keeps its thread,
        # and with it the process, alive after the loop has ended.
        try:
            await self.ticker.stop()
            for runner in self._runners:
                await runner.cleanup()
            self.deps.worker.stop()  # queued departures stay leased; the next start runs them
            await self.deps.worker.drain()
            await self.deps.catalog.close()
        finally:
            try:
                closer = getattr(self.deps.gateway, "aclose", None)
                if closer is not None:
                    await closer()
                if self.deps.client.session is not None:
                    await self.deps.client.session.close()
                if self.heartbeat is not None:
                    await self.heartbeat.stop()  # the next process with this id starts at once
            finally:
                await self.db.close()


async def build_runtime(
    settings: Settings,
    policy: Callable[[], Policy],
    *,
    gateway: SalesforceGateway | None = None,
    clock: Clock = utc_now,
) -> Runtime:
    """Open the database, connect Salesforce, and register every listener and job."""
    settings.check_mode()
    audit_key = load_audit_key(settings, create=True)
    db = await Database(settings.database, clock=clock, audit_key=audit_key).open()
    heartbeat = WorkerHeartbeat(
        Heartbeats(db), settings.worker_id, timedelta(seconds=settings.tick_seconds)
    )
    try:
        await heartbeat.start()
    except BaseException:
        await db.close()
        raise
    if gateway is None:
        gateway = RealGateway(
            salesforce_auth(settings),
            max_workers=settings.salesforce_concurrency,
            timeout=settings.salesforce_timeout,
        )
    repo = RequestRepository(db)
    overrides = PolicyOverrides(db)
    await overrides.load()
    # Every flow and message reads one policy: the file plus what admins changed in Slack.
    file_policy = policy
    policy = EffectivePolicy(file_policy, overrides)
    homes = HomePublisher(HomeTabs(db))
    metrics = Metrics(RequestStats(db), gateway, clock)
    rate_limits = RateLimitCounter(listeners=[metrics.rate_limited])
    client = slack_client(settings, rate_limits)
    instance_url = settings.salesforce_instance_url or ""
    lease = timedelta(seconds=settings.lease_seconds)
    config = BotConfig(
        command=settings.slack_command,
        login_url=settings.salesforce_login_url or instance_url or "https://login.salesforce.com",
        instance_url=instance_url,
        worker_id=settings.worker_id,
        api_budget_floor=settings.api_budget_floor,
        lease=lease,
        provisioning=ProvisioningConfig(
            username_suffix=settings.salesforce_username_suffix, lease=lease
        ),
    )
    worker = Worker(
        concurrency=settings.salesforce_concurrency,
        window=BatchWindow(
            quiet=settings.offboarding_quiet_seconds,
            max_wait=settings.offboarding_max_wait_seconds,
        ),
    )
    outbox = Outbox(db)
    delivery = SlackDelivery(
        client, repo, outbox, clock, worker=settings.worker_id, lease=lease, limits=rate_limits
    )
    catalog = CatalogService(
        gateway,
        CatalogCache(db),
        clock,
        max_age=timedelta(seconds=settings.catalog_max_age_seconds),
    )
    people = SlackPeople(client)
    transfers = Transfers(db)
    converger = Converger(
        repo,
        repo.managed,
        gateway,
        catalog,
        policy,
        people.get,
        worker=settings.worker_id,
        lease=lease,
        cfg=config.provisioning,
        transfers=transfers,
        launch=worker.launch_transfer,
    )
    user_groups = SlackUserGroups(client)
    reviews = Reviews(db)
    deps = Deps(
        repo=repo,
        transfers=transfers,
        events=EventLog(db),
        catalog=catalog,
        converger=converger,
        gateway=gateway,
        policy=policy,
        file_policy=file_policy,
        clock=clock,
        config=config,
        client=client,
        people=people,
        notifier=Notifier(
            delivery,
            repo,
            policy,
            labels=catalog.labels,
            login_url=config.login_url,
            instance_url=instance_url,
            command=config.command,
            cohorts=CohortMessages(Cohorts(db), delivery, repo, policy),
            groups=user_groups,
            transfers=transfers,
        ),
        worker=worker,
        homes=homes,
        overrides=overrides,
        user_groups=user_groups,
        rate_limits=rate_limits,
        break_glass_reviews=BreakGlassReviews(db),
        break_glass=BreakGlassNotices(delivery, repo, policy, user_groups, labels=catalog.labels),
        reviews=reviews,
        review_messenger=ReviewMessenger(delivery, reviews, policy, clock),
    )
    worker.bind(deps)
    homes.bind(deps)
    repo.observe(homes.request_changed)
    repo.observe(worker.request_changed)
    repo.observe_changes(log_request_change)
    repo.observe_changes(metrics.request_changed)
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    app = build_app(deps, signing_secret=secret, socket_mode=settings.socket_mode)
    ticker = Ticker(settings.tick_seconds)
    ticker.add("due-work", worker.run_due)
    ticker.add("slack-outbox", delivery.flush)
    # Another process may have changed what is requestable; reading the small table is cheap.
    ticker.add("policy-overrides", overrides.load, seconds=30)
    jobs = LifecycleJobs(
        deps,
        DueWork(db),
        JobLeases(db),
        JobSettings(
            catalog_every=timedelta(seconds=settings.catalog_max_age_seconds),
            reconcile_every=timedelta(seconds=settings.reconcile_seconds),
            sweep_every=timedelta(seconds=settings.departure_sweep_seconds),
        ),
    )
    await jobs.recover()
    await outbox.release_claims_of(settings.worker_id)
    for name, job in jobs.jobs():
        ticker.add(name, job)
    ticker.add("reviews", ReviewJobs(deps, DueWork(db)).run)
    ticker.add("heartbeat", heartbeat.beat, seconds=heartbeat.every)
    ops = OpsEndpoints(bot_readiness(db, client, gateway), metrics)
    return Runtime(
        settings=settings,
        db=db,
        deps=deps,
        app=app,
        ticker=ticker,
        ops=ops,
        jobs=jobs,
        heartbeat=heartbeat,
    )
