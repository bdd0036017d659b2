"""Prometheus metrics of one running bot, in a registry of its own.

Counters and histograms are fed as things happen (request changes, Slack 429s); the gauges
read the database and the Salesforce client when scraped. No global registry: several bots
can run in one process (the tests start many) without sharing a number.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from handlers.flows.ports import SalesforceGateway
from storage.db import Clock
from storage.models import Kind, RequestChange, State
from storage.stats import RequestStats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# What a decision's audit action says happened to the request.
_DECISIONS = {"approved": "approved", "denied": "denied", "expired": "expired"}
# Seconds: a provisioning takes seconds when all is well, hours when it waits for an admin.
_LATENCY_BUCKETS = (1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, float("inf"))


class _SalesforceUsage(Collector):
    """The Salesforce client's own counts, read at scrape time."""

    def __init__(self, gateway: SalesforceGateway) -> None:
        self._gateway = gateway

    def collect(self) -> Iterator[Metric]:
        """API calls made, and the org's daily budget as last reported."""
        calls = CounterMetricFamily(
            "accessbot_salesforce_api_calls",
            "Salesforce data API requests this process made",
        )
        calls.add_metric([], self._gateway.api_calls())
        yield calls
        budget = self._gateway.budget()
        if budget is None:  # not known until the first response
            return
        yield GaugeMetricFamily(
            "accessbot_salesforce_api_budget_remaining",
            "Daily Salesforce API requests the org has left (last response)",
            value=budget.remaining,
        )
        yield GaugeMetricFamily(
            "accessbot_salesforce_api_budget_total",
            "Daily Salesforce API requests the org allows",
            value=budget.total,
        )


class _DatabaseActivity(Collector):
    """The database's own counts (statements, write transactions, write-lock time)."""

    def __init__(self, stats: RequestStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        """Counters read at scrape time: every one only goes up."""
        activity = self._stats.activity
        for name, help_text, value in (
            (
                "statements",
                "Database statements (round trips), reads and writes",
                activity.statements,
            ),
            ("write_transactions", "Database write transactions", activity.write_transactions),
            (
                "write_statements",
                "Statements run inside write transactions (the write lock held)",
                activity.write_statements,
            ),
            (
                "write_lock_wait_seconds",
                "Time spent waiting to start a write transaction",
                activity.lock_wait_seconds,
            ),
            (
                "write_lock_held_seconds",
                "Time spent inside write transactions, commit included",
                activity.lock_held_seconds,
            ),
        ):
            family = CounterMetricFamily(f"accessbot_db_{name}", help_text)
            family.add_metric([], value)
            yield family


class Metrics:
    """The bot's metrics; ``render`` refreshes the gauges and writes the text format."""

    def __init__(self, stats: RequestStats, gateway: SalesforceGateway, clock: Clock) -> None:
        self._stats = stats
        self._clock = clock
        self.registry = CollectorRegistry()
        self.requests = Gauge(
            "accessbot_requests",
            "Requests (grants and revocations) in each state",
            ["state"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "accessbot_decisions",
            "Access requests decided: approved, denied, or expired with nobody deciding",
            ["outcome"],
            registry=self.registry,
        )
        self.provisioning = Histogram(
            "accessbot_provisioning_seconds",
            "From approval to access provisioned",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.revocation = Histogram(
            "accessbot_revocation_seconds",
            "From revocation requested to access removed",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.due_work = Gauge(
            "accessbot_due_work",
            "Requests whose Salesforce step is due and not being worked on",
            registry=self.registry,
        )
        self.escalations = Gauge(
            "accessbot_escalations_open",
            "Requests waiting for an admin (escalated grants, blocked revocations)",
            registry=self.registry,
        )
        self.slack_rate_limited = Counter(
            "accessbot_slack_rate_limited",
            "Slack Web API answers of 429 (rate limited), by method",
            ["method"],
            registry=self.registry,
        )
        for outcome in _DECISIONS.values():
            self.decisions.labels(outcome=outcome)  # present at 0 from the start
        self.registry.register(_SalesforceUsage(gateway))
        self.registry.register(_DatabaseActivity(stats))

    def request_changed(self, change: RequestChange) -> None:
        """Count a decision, time a provisioning or a revocation (a request observer)."""
        request = change.request
        if not change.moved:
            return
        outcome = _DECISIONS.get(change.action)
        if outcome is not None and change.from_state is not None:  # a decision moves a request
            self.decisions.labels(outcome=outcome).inc()
        if request.kind is Kind.GRANT and request.state is State.ACTIVE:
            if request.decided_at is not None:
                waited = request.updated_at - request.decided_at
                self.provisioning.observe(max(waited.total_seconds(), 0.0))
        elif request.kind is Kind.REVOKE and request.state is State.DONE:
            waited = request.updated_at - request.created_at
            self.revocation.observe(max(waited.total_seconds(), 0.0))

    def rate_limited(self, method: str) -> None:
        """Slack answered 429 to a call of ``method``."""
        self.slack_rate_limited.labels(method=method).inc()

    async def render(self) -> bytes:
        """Read the database's counts into the gauges, then the whole registry as text."""
        counts = await self._stats.by_state()
        for state in State:
            self.requests.labels(state=state.value).set(counts.get(state, 0))
        self.due_work.set(await self._stats.due_work(self._clock()))
        self.escalations.set(await self._stats.escalations_open())
        return generate_latest(self.registry)
