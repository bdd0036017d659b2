"""The naive baseline bot: the real bot, but the command and Approve work before they ack.

``python -m bench.naive_bot serve --host H --port P`` reads the same environment as
``accessbot serve``. The slash command reads the catalog from Salesforce and opens the full
form before acknowledging; Approve decides, notifies and provisions (with the naive gateway's
lookup plus one call per record) before acknowledging; deactivation is one PATCH per user.
Everything else is the real bot.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
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
from handlers.views.request_modal import build_request_modal
from salesforce.gateway import SalesforceGateway


def add_naive_shortcuts(app: AsyncApp, deps: Deps) -> None:
    """Answer the slash command and Approve only after their work is done.

    A global middleware runs after Bolt's signature check and before any listener; when it
    returns a response without calling ``next``, that response is the HTTP answer. Every other
    request goes on to the real listeners.
    """

    async def naive_first(
        body: dict[str, Any], client: AsyncWebClient, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        if body.get("command") == deps.config.command:
            await _open_full_form(deps, client, str(body.get("trigger_id")))
            return BoltResponse(status=200, body="")
        actions = body.get("actions") or [{}]
        if body.get("type") == "block_actions" and actions[0].get("action_id") == ActionId.APPROVE:
            await _approve_and_provision(deps, body, str(actions[0].get("value") or ""))
            return BoltResponse(status=200, body="")
        await next()
        return None

    app.middleware(naive_first)


async def _open_full_form(deps: Deps, client: AsyncWebClient, trigger_id: str) -> None:
    policy = deps.policy()
    catalog = await deps.gateway.fetch_catalog()  # straight from Salesforce, every time
    choices = build_choices(policy.default_application, catalog)
    form = build_request_modal(
        choices, applications=[(a.name, a.title) for a in policy.applications]
    )
    await client.views_open(trigger_id=trigger_id, view=form)


async def _approve_and_provision(deps: Deps, body: dict[str, Any], request_id: str) -> None:
    outcome = await decide(
        deps.repo, deps.policy(), request_id=request_id, actor=body["user"]["id"], approve=True
    )
    if not isinstance(outcome, Refused):
        await deps.notifier.decided(outcome.request)
        await deps.worker.provision(outcome.request)


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
    secrets = [value.get_secret_value() for _, value in settings if isinstance(value, SecretStr)]
    configure_logging(settings.log_level, secrets)
    runtime = await build_runtime(
        settings, PolicyFile(settings.policy_file), gateway=naive_gateway(settings)
    )
    add_naive_shortcuts(runtime.app, runtime.deps)
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
