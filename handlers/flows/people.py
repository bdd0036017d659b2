"""People as the flows see them: who asks, who is provisioned."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Person(BaseModel):
    """A Slack member with what Salesforce needs to know about them."""

    model_config = ConfigDict(frozen=True)

    id: str
    email: str = ""
    real_name: str = ""
    first_name: str = ""
    last_name: str = ""
    tz: str = ""
    locale: str = ""
    deleted: bool = False
    is_bot: bool = False

    @property
    def display(self) -> str:
        """A name to show people."""
        return self.real_name or self.email or self.id

    def split_name(self) -> tuple[str, str]:
        """First and last name, derived from the real name or the email when missing."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if last:
            return first, last
        words = self.real_name.split()
        if len(words) >= 2:
            return " ".join(words[:-1]), words[-1]
        if words:
            return "", words[0]
        local = self.email.split("@", 1)[0] or self.id
        return "", local


class Ineligibility(StrEnum):
    """Why a Slack member cannot hold a Salesforce user the bot makes."""

    BOT = "bot"
    DEACTIVATED = "deactivated"
    NO_EMAIL = "no_email"


def ineligibility(person: Person) -> Ineligibility | None:
    """Why ``person`` cannot be given a Salesforce user, or None when they can.

    Salesforce requires an Email on every user; Slack leaves ``profile.email`` out for some
    guests and whenever the app may not read emails (no ``users:read.email`` scope).
    """
    if person.is_bot:
        return Ineligibility.BOT
    if person.deleted:
        return Ineligibility.DEACTIVATED
    if not person.email.strip():
        return Ineligibility.NO_EMAIL
    return None


def make_alias(first: str, last: str) -> str:
    """Salesforce's Alias: at most 8 ASCII letters/digits, from the initial and the last name."""
    raw = (first[:1] + last) or "user"
    ascii_only = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9]", "", ascii_only).lower()
    return (cleaned or "user")[:8]


SALESFORCE_LOCALES = frozenset(
    {
        "en_US",
        "en_GB",
        "en_AU",
        "en_CA",
        "en_IE",
        "en_IN",
        "en_NZ",
        "en_ZA",
        "fr_FR",
        "fr_CA",
        "fr_BE",
        "fr_CH",
        "de_DE",
        "de_AT",
        "de_CH",
        "es_ES",
        "es_MX",
        "it_IT",
        "ja_JP",
        "ko_KR",
        "nl_NL",
        "nl_BE",
        "pt_BR",
        "pt_PT",
        "sv_SE",
        "da_DK",
        "fi_FI",
        "no_NO",
        "pl_PL",
        "zh_CN",
        "zh_TW",
    }
)


def salesforce_locale(slack_locale: str, default: str = "en_US") -> str:
    """Map Slack's ``en-US`` to Salesforce's ``en_US`` when Salesforce knows it."""
    candidate = slack_locale.replace("-", "_")
    return candidate if candidate in SALESFORCE_LOCALES else default


def salesforce_language(locale: str) -> str:
    """LanguageLocaleKey for a locale: Salesforce offers fewer languages than locales."""
    languages = {
        "en_US",
        "en_GB",
        "fr",
        "de",
        "es",
        "it",
        "ja",
        "ko",
        "nl_NL",
        "pt_BR",
        "sv",
        "da",
        "fi",
        "no",
        "pl",
        "zh_CN",
        "zh_TW",
    }
    if locale in languages:
        return locale
    short = locale.split("_", 1)[0]
    return short if short in languages else "en_US"
