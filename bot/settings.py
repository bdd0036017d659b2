"""Process settings from the environment (and an optional .env file), validated at start-up."""

from __future__ import annotations

import hashlib
import re
import socket
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.db import is_postgres


def default_worker_id(database: Path | str) -> str:
    """Names this process in leases: the host and which database, the same after a restart,
    so a restarted process takes back its own leases at once instead of waiting them out."""
    text = str(database)
    if is_postgres(text):
        parts = urlsplit(text)
        text = f"{parts.hostname}:{parts.port}{parts.path}"  # the password is no part of it
    else:
        text = str(Path(text).resolve())
    where = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{socket.gethostname()}:{where}"


def _worker_id_of(data: dict[str, Any]) -> str:
    return default_worker_id(data.get("database") or DEFAULT_DATABASE)


DEFAULT_DATABASE = Path("var/accessbot.sqlite3")
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_POSTGRES = {"postgres", "postgresql"}


def database_target(value: object) -> object:
    """``ACCESSBOT_DATABASE``: a SQLite file (a plain path, or ``sqlite:///path``) or a
    PostgreSQL URL (``postgresql://user:password@host:5432/name?sslmode=verify-full``).

    Any other URL is refused: taken for a path, it would make a folder named after its scheme
    and a database nobody meant.
    """
    if isinstance(value, Path):
        return str(value)
    if not isinstance(value, str):
        return value
    found = _URL_SCHEME.match(value)
    if found is None:
        return value
    scheme = found.group(1).lower()
    if scheme == "sqlite":
        rest = value[len(found.group(0)) :]  # sqlite:///relative, sqlite:////absolute
        if not rest.startswith("/") or rest == "/":
            raise PydanticCustomError(
                "database_url", "write a SQLite URL as sqlite:///path/to/file.sqlite3"
            )
        return rest[1:]
    if scheme in _POSTGRES:
        if not urlsplit(value).path.strip("/"):
            raise PydanticCustomError(
                "database_url",
                "name the database in the URL: postgresql://user@host:5432/accessbot",
            )
        return value
    raise PydanticCustomError(
        "database_url",
        "a {scheme}:// database is not supported; use a SQLite file path (or sqlite:///path) "
        "or a postgresql:// URL",
        {"scheme": scheme},
    )


class Settings(BaseSettings):
    """Everything the process needs that is not the access policy. Secrets stay SecretStr."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str | None = Field(default=None, alias="SLACK_API_URL")
    slack_command: str = Field(default="/salesforce", alias="ACCESSBOT_COMMAND")

    policy_file: Path = Field(default=Path("policy.yml"), alias="ACCESSBOT_POLICY_FILE")
    # A SQLite file path, or a postgresql:// URL (see ``database_target``).
    database: str = Field(default=str(DEFAULT_DATABASE), alias="ACCESSBOT_DATABASE")
    # The secret that signs the audit log; without it, a key file (created on first start).
    audit_key: SecretStr | None = Field(default=None, alias="ACCESSBOT_AUDIT_KEY")
    audit_key_file: Path | None = Field(default=None, alias="ACCESSBOT_AUDIT_KEY_FILE")
    # One live process per worker id and database (a heartbeat enforces it).
    worker_id: str = Field(default_factory=_worker_id_of, alias="ACCESSBOT_WORKER_ID")
    tick_seconds: float = Field(default=5.0, gt=0, alias="ACCESSBOT_TICK_SECONDS")
    catalog_max_age_seconds: float = Field(default=900.0, gt=0, alias="ACCESSBOT_CATALOG_MAX_AGE")
    api_budget_floor: int = Field(default=1000, ge=0, alias="ACCESSBOT_API_BUDGET_FLOOR")
    lease_seconds: float = Field(default=300.0, gt=0, alias="ACCESSBOT_LEASE_SECONDS")
    reconcile_seconds: float = Field(default=86400.0, gt=0, alias="ACCESSBOT_RECONCILE_SECONDS")
    departure_sweep_seconds: float = Field(
        default=86400.0, gt=0, alias="ACCESSBOT_DEPARTURE_SWEEP_SECONDS"
    )
    # Departures are deactivated together: after this long without a new one, or once the
    # oldest has waited the maximum (a full call of 200 users goes at once).
    offboarding_quiet_seconds: float = Field(
        default=0.5, gt=0, le=60, alias="ACCESSBOT_OFFBOARDING_QUIET_SECONDS"
    )
    offboarding_max_wait_seconds: float = Field(
        default=5.0, gt=0, le=600, alias="ACCESSBOT_OFFBOARDING_MAX_WAIT_SECONDS"
    )
    log_level: str = Field(default="INFO", alias="ACCESSBOT_LOG_LEVEL")
    # "json": one JSON object per line, for log shippers; "text": one readable line per record.
    log_format: Literal["text", "json"] = Field(default="text", alias="ACCESSBOT_LOG_FORMAT")

    salesforce_instance_url: str | None = Field(default=None, alias="SALESFORCE_INSTANCE_URL")
    salesforce_access_token: SecretStr | None = Field(default=None, alias="SALESFORCE_ACCESS_TOKEN")
    salesforce_username: str | None = Field(default=None, alias="SALESFORCE_USERNAME")
    salesforce_consumer_key: str | None = Field(default=None, alias="SALESFORCE_CONSUMER_KEY")
    salesforce_consumer_secret: SecretStr | None = Field(
        default=None, alias="SALESFORCE_CONSUMER_SECRET"
    )
    salesforce_private_key: SecretStr | None = Field(default=None, alias="SALESFORCE_PRIVATE_KEY")
    salesforce_private_key_file: Path | None = Field(
        default=None, alias="SALESFORCE_PRIVATE_KEY_FILE"
    )
    salesforce_password: SecretStr | None = Field(default=None, alias="SALESFORCE_PASSWORD")
    salesforce_security_token: SecretStr | None = Field(
        default=None, alias="SALESFORCE_SECURITY_TOKEN"
    )
    salesforce_domain: str = Field(default="login", alias="SALESFORCE_DOMAIN")
    salesforce_api_version: str | None = Field(default=None, alias="SALESFORCE_API_VERSION")
    salesforce_username_suffix: str = Field(default="", alias="SALESFORCE_USERNAME_SUFFIX")
    salesforce_login_url: str | None = Field(default=None, alias="SALESFORCE_LOGIN_URL")
    # Salesforce calls in flight at once. Each waits mostly on the network, so throughput grows
    # with it; an org allows 25 long-running (>20 s) requests, so 16 leaves room for others.
    salesforce_concurrency: int = Field(default=16, ge=1, le=25, alias="SALESFORCE_CONCURRENCY")
    # Seconds one Salesforce call may take before it counts as failed and is retried later
    # (provisioning is idempotent, so a call that lands after the timeout is not repeated).
    salesforce_timeout: float = Field(default=30.0, gt=0, le=300, alias="SALESFORCE_TIMEOUT")

    _database = field_validator("database", mode="before")(database_target)

    @field_validator("slack_command")
    @classmethod
    def _command(cls, value: str) -> str:
        if not value.startswith("/") or " " in value:
            raise ValueError("must look like /salesforce")
        return value

    @property
    def database_is_postgres(self) -> bool:
        """Whether the database is a PostgreSQL server rather than a SQLite file."""
        return is_postgres(self.database)

    @property
    def database_path(self) -> Path:
        """The SQLite file (a PostgreSQL database has none: ValueError)."""
        if self.database_is_postgres:
            raise ValueError("the database is PostgreSQL, not a file")
        return Path(self.database)

    @property
    def audit_key_path(self) -> Path:
        """The audit key file: ``ACCESSBOT_AUDIT_KEY_FILE``, or ``audit.key`` by the database
        (by the default database's folder with PostgreSQL: give replicas ACCESSBOT_AUDIT_KEY)."""
        if self.audit_key_file:
            return self.audit_key_file
        folder = DEFAULT_DATABASE.parent if self.database_is_postgres else self.database_path.parent
        return folder / "audit.key"

    @property
    def socket_mode(self) -> bool:
        """Socket Mode when an app-level token is given, HTTP otherwise."""
        return self.slack_app_token is not None

    def check_mode(self) -> None:
        """Serving needs the bot token, and HTTP mode the signing secret to verify requests."""
        if self.slack_bot_token is None:
            raise ValueError("SLACK_BOT_TOKEN is required to serve (the bot's xoxb- token)")
        if not self.socket_mode and self.slack_signing_secret is None:
            raise ValueError(
                "SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for "
                "Socket Mode)"
            )
