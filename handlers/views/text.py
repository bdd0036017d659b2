"""Making user-supplied text safe for Block Kit and short enough for Slack's limits."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from handlers.policy import SLACK_CHANNEL_ID, SLACK_USER_ID

ELLIPSIS = "…"
ZWSP = "\u200b"

# Block Kit limits (see docs.slack.dev, Block Kit reference).
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
CONTEXT_TEXT_MAX = 2000
OPTION_TEXT_MAX = 75
BUTTON_TEXT_MAX = 75
CONFIRM_TEXT_MAX = 300
PLACEHOLDER_MAX = 150
ERROR_TEXT_MAX = 2000
FALLBACK_TEXT_MAX = 3000

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Slack has no escape character for these, but a marker next to a zero-width space no
# longer sits on a word boundary, so it stays a literal character.
_MARKERS = frozenset("*_~`")
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
# Control characters, and bidi overrides that could make a name read backwards.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
# A backtick inside code would end it early; U+02CB looks the same and does not.
_BACKTICK_LOOKALIKE = "\u02cb"
_QUOTE_START = re.compile(r"^(\s*)&gt;", re.MULTILINE)
# Salesforce writes line breaks in its messages as HTML: <br>, <br/>, <BR>, <br />.
_LINE_BREAK_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)


def clean(text: str) -> str:
    """Drop control characters (except newlines and tabs) and bidi overrides."""
    return _CONTROL.sub("", text)


def salesforce_lines(text: str) -> str:
    """A Salesforce message with its HTML line-break tags as line breaks (escape it after)."""
    return _LINE_BREAK_TAG.sub("\n", text)


def escape_mrkdwn(text: str) -> str:
    """User text made inert in mrkdwn: no links, mentions, broadcasts, formatting or quotes."""
    parts: list[str] = []
    for ch in clean(text):
        if ch in _ENTITIES:
            parts.append(_ENTITIES[ch])
        elif ch in _MARKERS:
            parts.append(f"{ZWSP}{ch}{ZWSP}")
        else:
            parts.append(ch)
    escaped = _BROADCAST.sub("@" + ZWSP, "".join(parts))
    return _QUOTE_START.sub(lambda m: f"{m.group(1)}{ZWSP}&gt;", escaped)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, never inside an entity or a link."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    lt = cut.rfind("<")
    if lt != -1 and ">" not in cut[lt:]:
        cut = cut[:lt]
    return cut.rstrip() + ELLIPSIS


def safe(text: str, limit: int) -> str:
    """User text escaped for mrkdwn and clipped to ``limit``."""
    return clip(escape_mrkdwn(text), limit)


def plain(text: str, limit: int) -> str:
    """User text for a plain_text object (shown literally), clipped to ``limit``."""
    return clip(clean(text), limit) or "-"


def code(text: str, limit: int = 200) -> str:
    """An identifier (username, API name) as inline code: copyable, never formatted."""
    inner = clip(
        clean(text).replace("`", _BACKTICK_LOOKALIKE).replace("\n", " "), max(limit - 2, 1)
    )
    escaped = "".join(_ENTITIES.get(ch, ch) for ch in inner)
    return f"`{escaped}`"


def code_block(text: str, limit: int) -> str:
    """Raw text (an error message) as a code block, clipped so the whole block fits ``limit``."""
    body = "".join(_ENTITIES.get(ch, ch) for ch in clean(text).replace("`", _BACKTICK_LOOKALIKE))
    return f"```{clip(body, max(limit - 6, 1))}```"


def quote(text: str, limit: int) -> str:
    """User text as a mrkdwn block quote, escaped and clipped to ``limit``."""
    lines = escape_mrkdwn(text.strip()).splitlines() or [""]
    return clip("\n".join(f">{line}" for line in lines), limit)


def mention(user_id: str | None) -> str:
    """A user mention, or the escaped text when ``user_id`` is not a Slack user id."""
    if not user_id:
        return "someone"
    if SLACK_USER_ID.match(user_id):
        return f"<@{user_id}>"
    return safe(user_id, 80)


def mentions(user_ids: Iterable[str], *, conjunction: str = "or") -> str:
    """``<@A>, <@B> or <@C>``."""
    items = [mention(u) for u in user_ids]
    if len(items) <= 1:
        return items[0] if items else "nobody"
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def channel_link(channel_id: str) -> str:
    """A channel link, or the escaped text when it is not a channel id."""
    return f"<#{channel_id}>" if SLACK_CHANNEL_ID.match(channel_id) else safe(channel_id, 80)


def slack_date(when: datetime, *, with_time: bool = True) -> str:
    """A date Slack shows in each reader's own time zone, with a UTC fallback."""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    utc = aware.astimezone(UTC)
    token = "{date_short_pretty} at {time}" if with_time else "{date_short_pretty}"
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")
    return f"<!date^{int(utc.timestamp())}^{token}|{fallback}>"


def plain_date(when: datetime) -> str:
    """A date for plain-text fallbacks (notifications cannot localise)."""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def shorten(text: str, limit: int) -> str:
    """``text`` cut at the end to ``limit`` characters with an ellipsis."""
    text = " ".join(clean(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def _shorten_middle(text: str, limit: int) -> str:
    """Keep the start and the end: long names often differ only in their last words."""
    text = " ".join(clean(text).split())
    if len(text) <= limit:
        return text
    head = (limit - 1) * 3 // 5
    tail = limit - 1 - head
    return text[:head].rstrip() + ELLIPSIS + text[-tail:].lstrip()


def unique_labels(texts: Sequence[str], limit: int) -> list[str]:
    """Labels of at most ``limit`` characters that stay distinct when the texts are."""
    labels = [shorten(t, limit) or "-" for t in texts]
    clashes = {label for label, n in Counter(labels).items() if n > 1}
    labels = [
        (_shorten_middle(t, limit) or "-") if label in clashes else label
        for t, label in zip(texts, labels, strict=True)
    ]
    seen: Counter[str] = Counter()
    counts = Counter(labels)
    result: list[str] = []
    taken = set(labels)
    for label in labels:
        if counts[label] == 1:
            result.append(label)
            continue
        seen[label] += 1
        if seen[label] == 1:
            result.append(label)
            continue
        n = seen[label]
        while True:
            suffix = f" ({n})"
            candidate = shorten(label, limit - len(suffix)) + suffix
            if candidate not in taken:
                break
            n += 1
        taken.add(candidate)
        result.append(candidate)
    return result
