"""ACCESSBOT_DATABASE is a SQLite file: a path or sqlite:///path; other URLs are refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = "postgresql://accessbot:secret@db.internal:5432/accessbot"
REFUSAL = "PostgreSQL support is not available in this version; use a SQLite file path"


def test_serve_refuses_a_postgresql_url_and_creates_nothing(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "ACCESSBOT_DATABASE": POSTGRES,
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
    assert done.returncode == 2
    assert f"ACCESSBOT_DATABASE: {REFUSAL}" in done.stderr
    assert list(tmp_path.iterdir()) == []  # no "postgresql:" folder, no key file


def test_check_refuses_a_postgresql_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ACCESSBOT_DATABASE", "postgres://db/accessbot")
    assert main(["check"]) == 2
    assert REFUSAL in capsys.readouterr().err
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
    assert settings.database_path == path


def test_a_sqlite_url_without_a_path_is_refused() -> None:
    with pytest.raises(ValueError, match=r"sqlite:///path/to/file\.sqlite3"):
        Settings(_env_file=None, ACCESSBOT_DATABASE="sqlite://")  # type: ignore[call-arg]
