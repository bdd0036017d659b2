"""``accessbot``: serve, demo, check, audit — the operator's commands."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError

from bot.policy_file import PolicyError, PolicyFile, load_policy
from bot.settings import Settings

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_bolt.async_app import AsyncApp


DEFAULT_PORT = 3000


class StartupError(Exception):
    """Start-up cannot go on; the message says which setting or file to fix."""


def load_settings() -> Settings:
    """Settings from the environment, with a message naming each missing or bad variable."""
    try:
        return Settings()  # type: ignore[call-arg,unused-ignore]
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            name = ".".join(str(p) for p in problem["loc"])
            what = "is required" if problem["type"] == "missing" else problem["msg"]
            lines.append(f"  {name.upper()}: {what}")
        raise StartupError("the environment is incomplete:\n" + "\n".join(lines)) from None


def socket_mode_handler(app: AsyncApp, settings: Settings) -> AsyncSocketModeHandler | None:
    """The Socket Mode connection when ``SLACK_APP_TOKEN`` is set; None means serve HTTP."""
    if settings.slack_app_token is None:
        return None
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    return AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())


async def _serve(args: argparse.Namespace) -> None:
    from bot.logs import configure_logging
    from bot.wiring import build_runtime

    settings = load_settings()
    configure_logging(settings.log_level, _secrets(settings), fmt=settings.log_format)
    try:
        settings.check_mode()
        policy = PolicyFile(settings.policy_file)
        runtime = await build_runtime(settings, policy)
    except (PolicyError, ValueError) as error:
        raise StartupError(str(error)) from None
    # What start-up built (modules, models, the app) lives as long as the process: frozen, the
    # collector's full passes skip it, which keeps their pauses, and the answers they delay, short.
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runtime.start_ticking()
    try:
        handler = socket_mode_handler(runtime.app, settings)
        if handler is not None:
            if args.port is not None:  # Socket Mode serves HTTP only for the probes
                port = await runtime.serve_probes(args.host, args.port)
                _announce(f"accessbot: health and metrics on http://{args.host}:{port}/")
            await handler.connect_async()  # type: ignore[no-untyped-call]
            _announce("accessbot: connected in Socket Mode")
            await stop.wait()
            await handler.close_async()  # type: ignore[no-untyped-call]
        else:
            port = await runtime.serve_http(
                args.host, DEFAULT_PORT if args.port is None else args.port
            )
            _announce(f"accessbot: listening on http://{args.host}:{port}/slack/events")
            await stop.wait()
    finally:
        await runtime.close()


def _announce(message: str) -> None:
    """A start-up line, written whatever the level, in the log's format (text or JSON)."""
    log = logging.getLogger(__name__)
    log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, message, (), None))


def _secrets(settings: Settings) -> list[str]:
    """Every SecretStr value in the settings, for the log filter to mask."""
    found = [value.get_secret_value() for _, value in settings if isinstance(value, SecretStr)]
    if settings.database_is_postgres:  # a password in the URL is a secret too
        password = urlsplit(settings.database).password
        found += [password] if password else []
    return found


async def _demo(args: argparse.Namespace) -> None:
    from bot.demo import run_demo

    await run_demo(verbose=args.verbose)


async def _check(args: argparse.Namespace) -> int:
    from bot.check import run_check

    settings = load_settings()
    try:
        policy = PolicyFile(settings.policy_file)
    except PolicyError as error:
        raise StartupError(str(error)) from None
    return 0 if await run_check(settings, policy()) else 1


async def _policy(args: argparse.Namespace) -> int:
    from bot.policy_export import export_policy

    settings = load_settings()
    try:
        policy = load_policy(settings.policy_file)
    except PolicyError as error:
        raise StartupError(str(error)) from None
    text = await export_policy(
        policy,
        settings.database,
        source=str(settings.policy_file),
        at=datetime.now(UTC),
    )
    _write(args.output, text)
    return 0


def _write(output: str | None, text: str) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    with open(output, "w", encoding="utf-8") as out:
        out.write(text)


async def _audit(args: argparse.Namespace) -> int:
    from bot.audit_cli import MissingDatabase, export_audit, verify_audit
    from bot.audit_secret import load_audit_key
    from storage.audit import ChainHead

    settings = load_settings()
    path = settings.database
    try:
        if args.audit_command == "verify":
            head = ChainHead.parse(args.head) if args.head else None
            key = load_audit_key(settings, create=False)
            return 0 if await verify_audit(path, key, head) else 1
        since = datetime.fromisoformat(args.since) if args.since else None
        await export_audit(path, args.format, since, args.output)
    except (MissingDatabase, ValueError) as error:
        raise StartupError(str(error)) from None
    return 0


async def _db(args: argparse.Namespace) -> int:
    from bot.db_cli import copy_command

    try:
        return await copy_command(args.source, args.target)
    except ValueError as error:
        raise StartupError(str(error)) from None


async def _review(args: argparse.Namespace) -> int:
    from bot.audit_cli import MissingDatabase
    from bot.review_cli import export_reviews, review_status, start_review

    settings = load_settings()
    path = settings.database
    try:
        if args.review_command == "start":
            policy = load_policy(settings.policy_file)
            print(await start_review(path, policy, args.application, actor="cli"))
        elif args.review_command == "status":
            print("\n".join(await review_status(path)))
        else:
            await export_reviews(path, args.format, args.output, campaign_id=args.campaign)
    except (MissingDatabase, PolicyError, ValueError) as error:
        raise StartupError(str(error)) from None
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="accessbot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the bot (HTTP, or Socket Mode with SLACK_APP_TOKEN)")
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server's default
    serve.add_argument(
        "--port",
        type=int,
        help=f"HTTP port: Slack events, health and metrics (default {DEFAULT_PORT}); in "
        "Socket Mode, health and metrics only, served only when given",
    )
    serve.set_defaults(run=_serve)
    demo = sub.add_parser("demo", help="play the whole story on simulated Slack and Salesforce")
    demo.add_argument("--verbose", action="store_true", help="also print the bot's logs")
    demo.set_defaults(run=_demo)
    check = sub.add_parser("check", help="connect to Salesforce and check the policy and rights")
    check.set_defaults(run=_check)
    audit = sub.add_parser("audit", help="verify or export the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check the hash chain of the audit log")
    verify.add_argument(
        "--head",
        metavar="COUNT:HASH",
        help="a head published earlier (digest or export): fail unless the log still holds it",
    )
    export = audit_sub.add_parser("export", help="write the audit log as CSV or JSON lines")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--since", help="ISO date or time, e.g. 2026-11-01")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    audit.set_defaults(run=_audit)
    review = sub.add_parser("review", help="access review campaigns")
    review_sub = review.add_subparsers(dest="review_command", required=True)
    review_start = review_sub.add_parser(
        "start", help="ask for a campaign now; the running bot opens it at its next tick"
    )
    review_start.add_argument("application", help="the application's name in the policy")
    review_sub.add_parser("status", help="every campaign: state, progress, outcomes")
    review_export = review_sub.add_parser(
        "export", help="one row per line: reviewer, decision, when, outcome in Salesforce"
    )
    review_export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    review_export.add_argument("--campaign", help="only this campaign (RV-...)")
    review_export.add_argument("--output", "-o", help="file to write (default: standard output)")
    review.set_defaults(run=_review)
    policy = sub.add_parser("policy", help="the access policy in force")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    policy_export = policy_sub.add_parser(
        "export", help="print the policy file plus the changes made in Slack, as YAML"
    )
    policy_export.add_argument("--output", "-o", help="file to write (default: standard output)")
    policy.set_defaults(run=_policy)
    db = sub.add_parser("db", help="database chores")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_copy = db_sub.add_parser(
        "copy", help="copy a SQLite database into an empty PostgreSQL one (ids and audit kept)"
    )
    db_copy.add_argument("--from", dest="source", required=True, metavar="SQLITE_PATH")
    db_copy.add_argument("--to", dest="target", required=True, metavar="URL")
    db.set_defaults(run=_db)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``accessbot`` command."""
    args = build_parser().parse_args(argv)
    try:
        code = asyncio.run(args.run(args))
    except StartupError as error:
        print(f"accessbot: cannot start: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
