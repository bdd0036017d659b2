"""The naive baseline bot: the same wiring, but each handler does its work before it acks.

``python -m bench.naive_bot serve --host H --port P`` reads the same environment as
``accessbot serve``. The slash command reads the catalog from Salesforce and opens the full
form before acknowledging; Approve decides, notifies and provisions (with the naive gateway's
lookup plus one call per record) before acknowledging. Everything else is the real bot.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bench.naive_gateway import NaiveGateway
from bot.cli import load_settings
from bot.logs import configure_logging
from bot.policy_file import PolicyFile
from bot.settings import Settings
from bot.wiring import build_runtime, salesforce_auth
from handlers.deps import Deps
from handlers.flows.choices import build_choices
from handlers.flows.decide import decide
from handlers.flows.outcomes import Refused
from handlers.ids import ActionId
from handlers.listeners import request_modal
from handlers.views.request_modal import build_request_modal
from salesforce.gateway import SalesforceGateway


def build_naive_app(deps: Deps, signing_secret: str) -> AsyncApp:
    """An app whose command and Approve listeners finish their work before the ack."""
    # process_before_response: the HTTP answer goes out when the listener returns.
    app = AsyncApp(
        client=deps.client,
        signing_secret=signing_secret,
        process_before_response=True,
        name="accessbot-naive",
    )

    async def on_command(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        policy = deps.policy()
        catalog = await deps.gateway.fetch_catalog()
        choices = build_choices(policy.default_application, catalog)
        form = build_request_modal(
            choices, applications=[(a.name, a.title) for a in policy.applications]
        )
        await client.views_open(trigger_id=str(body.get("trigger_id")), view=form)
        await ack()

    async def on_approve(ack: AsyncAck, body: dict[str, Any]) -> None:
        actions = body.get("actions") or [{}]
        outcome = await decide(
            deps.repo,
            deps.policy(),
            request_id=str(actions[0].get("value") or ""),
            actor=body["user"]["id"],
            approve=True,
        )
        if not isinstance(outcome, Refused):
            await deps.notifier.decided(outcome.request)
            await deps.worker.provision(outcome.request)
        await ack()

    app.command(deps.config.command)(on_command)
    app.action(ActionId.APPROVE)(on_approve)
    request_modal.register(app, deps)
    return app


def naive_gateway(settings: Settings) -> NaiveGateway:
    """The naive gateway on the settings' instance and token, delegating to the real one."""
    token = settings.salesforce_access_token
    if settings.salesforce_instance_url is None or token is None:
        raise SystemExit("the naive bot needs SALESFORCE_INSTANCE_URL and SALESFORCE_ACCESS_TOKEN")
    return NaiveGateway(
        settings.salesforce_instance_url,
        token.get_secret_value(),
        delegate=SalesforceGateway(salesforce_auth(settings)),
        max_workers=settings.salesforce_concurrency,
    )


async def serve(host: str, port: int) -> None:
    """Serve the naive bot until SIGTERM or SIGINT."""
    settings = load_settings()
    configure_logging(settings.log_level, [])
    secret = settings.slack_signing_secret
    if secret is None:
        raise SystemExit("SLACK_SIGNING_SECRET is required")
    runtime = await build_runtime(
        settings, PolicyFile(settings.policy_file), gateway=naive_gateway(settings)
    )
    runtime.app = build_naive_app(runtime.deps, secret.get_secret_value())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runtime.start_ticking()
    try:
        bound = await runtime.serve_http(host, port)
        print(f"naive bot: listening on http://{host}:{bound}/slack/events", file=sys.stderr)
        await stop.wait()
    finally:
        await runtime.close()


def main() -> None:
    """``python -m bench.naive_bot serve [--host H] [--port P]``."""
    parser = argparse.ArgumentParser(prog="bench.naive_bot")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
