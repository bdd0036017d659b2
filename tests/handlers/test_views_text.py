"""Escaping, clipping and unique labels for user-supplied text."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from handlers.views.options import KEY_PREFIX, OPTION_VALUE_MAX, option_value, resolve_value
from handlers.views.text import (
    ELLIPSIS,
    ZWSP,
    clip,
    code,
    code_block,
    escape_mrkdwn,
    mention,
    mentions,
    quote,
    safe,
    salesforce_lines,
    slack_date,
    unique_labels,
)


def test_escape_turns_angle_brackets_and_ampersands_into_entities() -> None:
    assert escape_mrkdwn("a & b <c>") == "a &amp; b &lt;c&gt;"


def test_escape_neutralises_broadcasts_and_typed_mentions() -> None:
    text = escape_mrkdwn("<!channel> <!here|here> <@U123ABC> <#C123ABC|general> @channel @Here")
    assert "<!" not in text and "<@" not in text and "<#" not in text
    assert "@channel" not in text and "@Here" not in text
    assert "@" + ZWSP + "channel" in text


def test_escape_breaks_formatting_markers() -> None:
    text = escape_mrkdwn("*bold* _it_ ~strike~ `code` ```block```")
    for marker in ("*bold*", "_it_", "~strike~", "`code`", "```"):
        assert marker not in text
    assert text.replace(ZWSP, "") == "*bold* _it_ ~strike~ `code` ```block```"


def test_escape_stops_user_quotes_and_links() -> None:
    text = escape_mrkdwn("> quoted\n  > again\n<https://evil.example|click me>")
    assert not any(line.lstrip().startswith("&gt;") for line in text.splitlines())
    assert "<https" not in text


def test_escape_drops_control_characters_but_keeps_newlines() -> None:
    assert escape_mrkdwn("a\x00b\x1bc\nd\te") == "abc\nd\te"


def test_salesforce_line_break_tags_become_lines_before_escaping() -> None:
    raw = "One.<br>Two.<br/>Three.<BR>Four.<br />Five. <b>bold</b>"
    lines = salesforce_lines(raw)
    assert lines == "One.\nTwo.\nThree.\nFour.\nFive. <b>bold</b>"
    assert escape_mrkdwn(lines).endswith("Five. &lt;b&gt;bold&lt;/b&gt;")  # other tags stay inert
    assert (
        code_block(lines, 200) == "```One.\nTwo.\nThree.\nFour.\nFive. &lt;b&gt;bold&lt;/b&gt;```"
    )


def test_clip_never_cuts_an_entity_or_a_link() -> None:
    escaped = escape_mrkdwn("x" * 8 + "&&&&")
    clipped = clip(escaped, 12)
    assert clipped.endswith(ELLIPSIS) and len(clipped) <= 12
    assert clipped.count("&") == clipped.count(";")
    assert clip("see <@U123ABC> now", 9) == "see" + ELLIPSIS


def test_quote_prefixes_every_line_and_fits() -> None:
    quoted = quote("one\ntwo <!channel>", 100)
    assert quoted.splitlines() == [">one", ">two &lt;!channel&gt;"]
    assert len(quote("line\n" * 2000, 3000)) <= 3000


def test_code_keeps_identifiers_copyable() -> None:
    assert code("jane_doe@acme.com.uat") == "`jane_doe@acme.com.uat`"
    assert code("a`b<c>") == "`a\u02cbb&lt;c&gt;`"
    assert code_block("x```y", 20).count("```") == 2


def test_mention_accepts_only_user_ids() -> None:
    assert mention("U0123ABCD") == "<@U0123ABCD>"
    assert mention("<!channel>") == "&lt;!channel&gt;"
    assert mention(None) == "someone"
    assert mentions(["U01AAA", "U02BBB", "U03CCC"]) == "<@U01AAA>, <@U02BBB> or <@U03CCC>"


def test_slack_date_localises_with_a_utc_fallback() -> None:
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert slack_date(when) == (
        f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|2024-05-01 12:30 UTC>"
    )
    assert slack_date(when.replace(tzinfo=None)) == slack_date(when)


def test_long_labels_that_share_a_prefix_stay_distinct_and_readable() -> None:
    base = "Custom Sales Representative Profile for the Europe Middle East and Africa Region"
    texts = [f"{base} - variant {i}" for i in range(12)]
    labels = unique_labels(texts, 75)
    assert len(set(labels)) == 12
    assert all(len(label) <= 75 for label in labels)
    assert all(label.startswith("Custom Sales") for label in labels)
    assert labels[3].endswith("variant 3")


@given(st.lists(st.text(max_size=200), max_size=40), st.integers(min_value=12, max_value=75))
def test_unique_labels_are_always_distinct_and_short(texts: list[str], limit: int) -> None:
    labels = unique_labels(texts, limit)
    assert len(labels) == len(texts)
    assert len(set(labels)) == len(labels)
    assert all(0 < len(label) <= limit for label in labels)


@given(st.text(max_size=4000), st.integers(min_value=2, max_value=3000))
def test_safe_text_is_inert_and_within_limits(text: str, limit: int) -> None:
    out = safe(text, limit)
    assert len(out) <= limit
    assert "<" not in out and ">" not in out


@given(st.text(min_size=1, max_size=300))
def test_option_values_fit_and_map_back(name: str) -> None:
    value = option_value(name)
    assert len(value) <= OPTION_VALUE_MAX
    assert resolve_value(value, ["other", name]) == name
    if value.startswith(KEY_PREFIX):
        assert resolve_value(value) is None
    else:
        assert resolve_value(value) == name


def test_hashed_keys_do_not_depend_on_order() -> None:
    long_name = "P" * 120
    assert option_value(long_name) == option_value("P" * 120)
    assert option_value(long_name) != option_value("P" * 121)
    assert option_value("~short").startswith(KEY_PREFIX)
