"""Salesforce credentials: which login flow they mean, and a connected simple-salesforce client."""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from pathlib import Path

import requests
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator, model_validator
from simple_salesforce.api import Salesforce

logger = logging.getLogger(__name__)

DEFAULT_API_VERSION = "62.0"
# SOAP login() is unavailable from API v65.0 on (and retired for older versions in Summer '27).
LAST_SOAP_LOGIN_VERSION = 64.0
_VERSION = re.compile(r"^\d{2,3}\.0$")


class AuthMode(StrEnum):
    """How the bot logs in."""

    JWT_BEARER = "jwt_bearer"
    CLIENT_CREDENTIALS = "client_credentials"
    PASSWORD = "password"  # noqa: S105 - the name of a login flow, not a secret
    ACCESS_TOKEN = "access_token"  # noqa: S105 - the name of a login flow, not a secret


_LABELS = {
    AuthMode.JWT_BEARER: "JWT bearer",
    AuthMode.CLIENT_CREDENTIALS: "client credentials",
    AuthMode.PASSWORD: "username/password (legacy)",
    AuthMode.ACCESS_TOKEN: "access token",
}
_MY_DOMAIN = "domain (a My Domain such as acme.my; client credentials cannot use login or test)"


class SalesforceAuth(BaseModel):
    """Credentials for one org. Exactly one complete set picks the login flow (see ``mode``)."""

    # Validation errors must not echo the input: it holds the secrets.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    instance_url: str | None = None
    access_token: SecretStr | None = None
    username: str | None = None
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    private_key: SecretStr | None = None
    private_key_file: Path | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    domain: str = "login"
    api_version: str = DEFAULT_API_VERSION

    @field_validator("domain")
    @classmethod
    def _normalize_domain(cls, value: str) -> str:
        """Accept ``acme.my``, ``acme.my.salesforce.com`` or ``https://acme.my.salesforce.com/``."""
        domain = value.strip().removeprefix("https://").rstrip("/").removesuffix(".salesforce.com")
        if not domain or "/" in domain or ":" in domain:
            raise ValueError(f"domain {value!r} is not login, test or a My Domain like acme.my")
        return domain

    @field_validator("api_version")
    @classmethod
    def _normalize_version(cls, value: str) -> str:
        version = value.strip().removeprefix("v")
        if not _VERSION.match(version):
            raise ValueError(f"api_version {value!r} is not like 62.0")
        return version

    @field_validator("instance_url")
    @classmethod
    def _https_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("instance_url must start with https:// (TLS is always verified)")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _complete(self) -> SalesforceAuth:
        mode = self.mode
        if mode is AuthMode.PASSWORD and float(self.api_version) > LAST_SOAP_LOGIN_VERSION:
            raise ValueError(
                "username/password login uses SOAP login(), which API "
                f"v{self.api_version} no longer offers: use api_version 64.0 or lower, "
                "or switch to JWT bearer or client credentials"
            )
        return self

    def _present(self) -> set[str]:
        names = (
            "instance_url",
            "access_token",
            "username",
            "consumer_key",
            "consumer_secret",
            "private_key",
            "private_key_file",
            "password",
            "security_token",
        )
        present = set()
        for name in names:
            value = getattr(self, name)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            if raw not in (None, ""):
                present.add(name)
        if "private_key" in present or "private_key_file" in present:
            present.add("private key")
        if self.domain not in ("login", "test"):
            present.add("my domain")
        return present

    @property
    def mode(self) -> AuthMode:
        """The login flow these credentials complete; ValueError naming what a partial set lacks."""
        have = self._present()
        needs: dict[AuthMode, dict[str, str]] = {
            AuthMode.JWT_BEARER: {
                "username": "username",
                "consumer_key": "consumer_key",
                "private key": "private_key or private_key_file",
            },
            AuthMode.CLIENT_CREDENTIALS: {
                "consumer_key": "consumer_key",
                "consumer_secret": "consumer_secret",
                "my domain": _MY_DOMAIN,
            },
            AuthMode.PASSWORD: {
                "username": "username",
                "password": "password",
                "security_token": "security_token",
            },
            AuthMode.ACCESS_TOKEN: {"instance_url": "instance_url", "access_token": "access_token"},
        }
        for mode, required in needs.items():
            if set(required) <= have:
                return mode
        signals = {
            AuthMode.JWT_BEARER: {"private key"},
            AuthMode.CLIENT_CREDENTIALS: {"consumer_secret"},
            AuthMode.PASSWORD: {"password", "security_token"},
            AuthMode.ACCESS_TOKEN: {"instance_url", "access_token"},
        }
        for mode, hints in signals.items():
            if hints & have:
                missing = [label for key, label in needs[mode].items() if key not in have]
                raise ValueError(
                    f"incomplete {_LABELS[mode]} credentials: missing {', '.join(missing)}"
                )
        if {"username", "consumer_key"} <= have:
            raise ValueError(
                "incomplete JWT bearer credentials: missing private_key or private_key_file"
            )
        if "consumer_key" in have:
            raise ValueError(
                "incomplete credentials: consumer_key needs consumer_secret and a My Domain "
                "(client credentials) or username and private_key (JWT bearer)"
            )
        if "username" in have:
            raise ValueError(
                "incomplete credentials: username needs consumer_key and private_key "
                "(JWT bearer) or password and security_token (legacy)"
            )
        raise ValueError(
            "no Salesforce credentials: set username, consumer_key and private_key (JWT bearer); "
            "consumer_key, consumer_secret and a My Domain (client credentials); "
            "username, password and security_token (legacy); or instance_url and access_token"
        )

    @property
    def renewable(self) -> bool:
        """True when an expired session can be renewed from these credentials."""
        return self.mode is not AuthMode.ACCESS_TOKEN


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def connect(auth: SalesforceAuth, session: requests.Session) -> Salesforce:
    """Log in with ``auth`` over ``session`` (TLS verified) and return the client."""
    if session.verify is False:
        raise ValueError("TLS verification cannot be turned off for Salesforce")
    mode = auth.mode
    logger.debug("connecting to Salesforce with %s", _LABELS[mode])
    if mode is AuthMode.JWT_BEARER:
        key_file = str(auth.private_key_file) if auth.private_key is None else None
        return Salesforce(
            username=auth.username,
            consumer_key=auth.consumer_key,
            privatekey=_secret(auth.private_key) if auth.private_key is not None else None,
            privatekey_file=key_file,
            domain=auth.domain,
            version=auth.api_version,
            session=session,
        )
    if mode is AuthMode.CLIENT_CREDENTIALS:
        return Salesforce(
            consumer_key=auth.consumer_key,
            consumer_secret=_secret(auth.consumer_secret),
            domain=auth.domain,
            version=auth.api_version,
            session=session,
        )
    if mode is AuthMode.PASSWORD:
        logger.warning(
            "Salesforce username/password login uses SOAP login(), which is gone from API "
            "v65.0 and retired for all versions in Summer '27; switch to JWT bearer or "
            "client credentials"
        )
        return Salesforce(
            username=auth.username,
            password=_secret(auth.password),
            security_token=_secret(auth.security_token),
            domain=auth.domain,
            version=auth.api_version,
            session=session,
        )
    return Salesforce(
        session_id=_secret(auth.access_token),
        instance_url=auth.instance_url,
        version=auth.api_version,
        session=session,
    )
