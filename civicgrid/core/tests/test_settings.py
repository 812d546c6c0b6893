"""Settings come from the environment; a bad value stops start-up with a clear message."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from config.env import ConfigError, env_bool, env_database, env_int

REPO = Path(__file__).resolve().parents[3]


def start(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICGRID_")}
    env.update(env_overrides)
    env["CIVICGRID_VAR_DIR"] = env.get("CIVICGRID_VAR_DIR", str(REPO / "var"))
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CIVICGRID_DEBUG", "perhaps", "CIVICGRID_DEBUG='perhaps' is not a boolean"),
        ("CIVICGRID_DATABASE_URL", "mysql://x@y/z", "unsupported database URL"),
        ("CIVICGRID_SECRET_KEY", "short", "at least 32 characters"),
        ("CIVICGRID_COVERAGE_MIN_STAFF", "three", "is not an integer"),
        ("CIVICGRID_LOCATOR_GAP_TOLERANCE_M", "-5", "must be at least 0"),
        ("CIVICGRID_CACHE_URL", "memcached://x:11211", "unsupported cache URL"),
    ],
)
def test_bad_environment_value_stops_start_up(name, value, message):
    result = start({name: value})
    assert result.returncode != 0
    assert "CivicGrid configuration error" in result.stderr
    assert message in result.stderr


def test_defaults_start_cleanly():
    result = start({})
    assert result.returncode == 0, result.stderr


def test_env_helpers(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    assert env_bool("X_BOOL", False) is True
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ConfigError):
        env_int("X_INT", 3, minimum=1)
    monkeypatch.setenv("X_DB", "postgres://u@127.0.0.1:5432/civic")
    config = env_database("X_DB", "sqlite:///x.sqlite3")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "civic"
    monkeypatch.setenv("X_DB", "postgres://u@127.0.0.1:5432")
    with pytest.raises(ConfigError, match="names no database"):
        env_database("X_DB", "sqlite:///x.sqlite3")


def test_time_zone_and_languages(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert ("en", "English") in settings.LANGUAGES


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
