"""ACCESSBOT_DATABASE: a SQLite file (a path or sqlite:///path) or a postgresql:// URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.sandbox.postgres_server import PostgresServer
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://accessbot:secret@db.internal:5432/accessbot",
        "postgres://db.internal/accessbot?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem",
        "postgresql://accessbot@db.internal/accessbot?sslmode=require",
    ],
)
def test_a_postgresql_url_is_kept_as_it_is(value: str, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, ACCESSBOT_DATABASE=value)  # type: ignore[call-arg]
    assert settings.database == value and settings.database_is_postgres
    with pytest.raises(ValueError, match="not a file"):
        _ = settings.database_path


def test_a_postgresql_url_must_name_its_database() -> None:
    with pytest.raises(ValueError, match="name the database in the URL"):
        Settings(_env_file=None, ACCESSBOT_DATABASE="postgresql://db.internal")  # type: ignore[call-arg]


def test_the_worker_id_leaves_the_password_out() -> None:
    one = Settings(_env_file=None, ACCESSBOT_DATABASE="postgresql://a:one@db/x")  # type: ignore[call-arg]
    two = Settings(_env_file=None, ACCESSBOT_DATABASE="postgresql://a:two@db/x")  # type: ignore[call-arg]
    other = Settings(_env_file=None, ACCESSBOT_DATABASE="postgresql://a:one@db/y")  # type: ignore[call-arg]
    assert one.worker_id == two.worker_id != other.worker_id


def test_serve_on_an_unreachable_server_says_so_and_creates_nothing(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "ACCESSBOT_AUDIT_KEY": "k" * 64,
        # port 9 (discard) on loopback: nothing listens, the connection is refused at once
        "ACCESSBOT_DATABASE": "postgresql://accessbot@127.0.0.1:9/accessbot",
        "ACCESSBOT_POLICY_FILE": str(ROOT / "policy.example.yml"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "accessbot: cannot start: cannot connect to PostgreSQL" in done.stderr
    assert list(tmp_path.iterdir()) == []  # no "postgresql:" folder, no key file


def test_audit_verify_reads_a_postgresql_database(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    postgres_server: PostgresServer,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ACCESSBOT_DATABASE", postgres_server.new_database_url())
    assert main(["audit", "verify"]) == 0
    assert "audit log intact: 0 rows" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["mysql://db/accessbot", "https://example.com/db.sqlite3"])
def test_any_other_url_is_refused_by_its_scheme(value: str) -> None:
    scheme = value.split(":", 1)[0]
    with pytest.raises(ValueError, match=f"a {scheme}:// database is not supported"):
        Settings(_env_file=None, ACCESSBOT_DATABASE=value)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("sqlite:///var/bot.sqlite3", Path("var/bot.sqlite3")),
        ("sqlite:////srv/accessbot/bot.sqlite3", Path("/srv/accessbot/bot.sqlite3")),
        ("var/plain.sqlite3", Path("var/plain.sqlite3")),
    ],
)
def test_a_sqlite_url_names_the_file(value: str, path: Path) -> None:
    settings = Settings(_env_file=None, ACCESSBOT_DATABASE=value)  # type: ignore[call-arg]
    assert settings.database_path == path and not settings.database_is_postgres


def test_a_sqlite_url_without_a_path_is_refused() -> None:
    with pytest.raises(ValueError, match=r"sqlite:///path/to/file\.sqlite3"):
        Settings(_env_file=None, ACCESSBOT_DATABASE="sqlite://")  # type: ignore[call-arg]
