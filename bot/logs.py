"""Logging set-up: one line per record, text or JSON, with every known secret masked."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any, Literal

# Slack tokens, Salesforce session ids (00D...!...), bearer headers and PEM keys.
_PATTERNS = (
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._!-]+"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
)
MASK = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LogFormat = Literal["text", "json"]
# Libraries that narrate routine work at INFO: APScheduler two lines per job per tick, aiohttp
# one per HTTP request Slack sends, slack_sdk's client one per retry (a 429 waited out is
# routine; handlers.rate_limits counts it and says so at DEBUG). slack_sdk's client checks its
# own logger's level, so it is named exactly.
_CHATTY = ("apscheduler", "aiohttp.access", "slack_sdk.web.async_base_client")
# What every LogRecord has; anything else on a record was given with ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class SecretFilter(logging.Filter):
    """Masks secret values and secret-shaped strings in every record's message and fields."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by the mask."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            message = f"{message}\n{formatted}"
            record.exc_info = None
            record.exc_text = None
        record.msg = self.redact(message)
        record.args = None
        for name, value in _extras(record).items():
            if isinstance(value, str):
                setattr(record, name, self.redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's own fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:  # only when no SecretFilter folded it into the message
            entry["message"] += "\n" + self.formatException(record.exc_info)
        for name, value in _extras(record).items():
            entry.setdefault(name, value)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(
    level: str,
    secrets: Iterable[str] = (),
    *,
    fmt: LogFormat = "text",
    stream: IO[str] | None = None,
) -> SecretFilter:
    """Send logs to stderr (or ``stream``) through the secret filter; returns the filter."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    secret_filter = SecretFilter(secrets)
    handler.addFilter(secret_filter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Their routine lines only when asked for everything (DEBUG); their warnings always.
    chatty_level = logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING
    for name in _CHATTY:
        logging.getLogger(name).setLevel(chatty_level)
    return secret_filter
