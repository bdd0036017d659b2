"""Requests to the app signed as Slack signs them, and the app's answers."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.signature import SignatureVerifier


@dataclass(frozen=True)
class Reply:
    """The app's HTTP answer to one request; ``elapsed`` shows whether it beat Slack's 3 s."""

    status: int
    body: str
    elapsed: float = 0.0

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def json_or_none(self) -> Any:
        """The body parsed as JSON, or None when it is empty or plain text."""
        try:
            return json.loads(self.body) if self.body.strip() else None
        except ValueError:
            return None


class SignedSender:
    """Posts bodies to ``url`` with Slack's ``x-slack-signature`` and timestamp headers."""

    def __init__(self, url: str, signing_secret: str) -> None:
        self.url = url
        self._verifier = SignatureVerifier(signing_secret)
        self._session: aiohttp.ClientSession | None = None

    async def post(
        self,
        body: bytes,
        *,
        content_type: str,
        timestamp: str | int | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """POST ``body`` signed for ``timestamp`` (default now), unless ``signature`` is given."""
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        signed = signature or self._verifier.generate_signature(timestamp=stamp, body=body) or ""
        all_headers = {
            "content-type": content_type,
            "x-slack-request-timestamp": stamp,
            "x-slack-signature": signed,
            **(headers or {}),
        }
        if self._session is None:
            self._session = aiohttp.ClientSession()
        started = time.monotonic()
        async with self._session.post(self.url, data=body, headers=all_headers) as response:
            text = await response.text()
        return Reply(status=response.status, body=text, elapsed=time.monotonic() - started)

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
