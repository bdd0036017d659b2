"""What the simulated Slack workspace remembers: people, Web API calls, messages, responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class SlackUser(_Frozen):
    """A member of the simulated workspace."""

    id: str
    name: str
    real_name: str
    display_name: str = ""
    email: str | None = None
    tz: str = "Europe/Paris"
    locale: str = "en-US"
    deleted: bool = False
    is_bot: bool = False
    is_restricted: bool = False  # a guest (multi-channel; single-channel ones are also ultra)
    is_ultra_restricted: bool = False

    @property
    def shown_name(self) -> str:
        """The name people see in Slack: display name, else real name, else handle."""
        return self.display_name or self.real_name or self.name


class ApiCall(_Frozen):
    """One Web API request as the simulator received and answered it."""

    method: str
    args: dict[str, Any] = Field(default_factory=dict)
    token: str | None = None
    status: int = 200
    ok: bool = True
    error: str | None = None
    at: float = 0.0  # when it arrived, on the workspace clock (latency measurements)


class PostedMessage(_Frozen):
    """A message as it currently looks in a channel, or an ephemeral one shown to one person."""

    channel: str
    ts: str
    text: str = ""
    blocks: list[dict[str, Any]] = Field(default_factory=list)
    user: str
    bot_id: str | None = None
    thread_ts: str | None = None
    ephemeral_to: str | None = None
    edited: bool = False
    deleted: bool = False

    @property
    def is_reply(self) -> bool:
        """Whether this message sits in a thread under another one."""
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def is_ephemeral(self) -> bool:
        """Whether only one person sees this message."""
        return self.ephemeral_to is not None

    def to_api(self, team_id: str) -> dict[str, Any]:
        """The message object as Slack shows it in API responses and interaction payloads."""
        message: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "text": self.text,
            "ts": self.ts,
            "team": team_id,
        }
        if self.bot_id:
            message["bot_id"] = self.bot_id
        if self.blocks:
            message["blocks"] = [dict(b) for b in self.blocks]
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        if self.edited:
            message["edited"] = {"user": self.user, "ts": self.ts}
        return message


class ResponsePost(_Frozen):
    """One post to a ``response_url``, kept for the person the URL belongs to."""

    user: str
    channel: str
    text: str = ""
    blocks: list[dict[str, Any]] = Field(default_factory=list)
    response_type: str | None = None
    replace_original: bool = False
    delete_original: bool = False
    source_ts: str | None = None
