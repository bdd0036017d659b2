"""Logging set-up: one line per record, with every known secret masked before it is written."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Slack tokens, Salesforce session ids (00D...!...), bearer headers and PEM keys.
_PATTERNS = (
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._!-]+"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
)
MASK = "[redacted]"


class SecretFilter(logging.Filter):
    """Masks secret values and secret-shaped strings in every record's final message."""

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
        return True


def configure_logging(level: str, secrets: Iterable[str] = ()) -> SecretFilter:
    """Send logs to stderr through the secret filter; returns the filter for tests."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    secret_filter = SecretFilter(secrets)
    handler.addFilter(secret_filter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    return secret_filter
