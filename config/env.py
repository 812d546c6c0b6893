"""Typed readers for CIVICGRID_* environment variables.

A wrong value must stop start-up with a message that names the variable and says what is
expected, never fall back silently (a typo in production should not quietly run the demo).
"""

from __future__ import annotations

import datetime as dt
import os
from urllib.parse import urlparse


class ConfigError(Exception):
    """A setting read from the environment has a value we cannot use."""


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}.")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number.") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_time(name: str, default: str) -> dt.time:
    """A time of day written HH:MM (24-hour clock)."""
    raw = os.environ.get(name) or default
    try:
        return dt.time.fromisoformat(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a time of day: use HH:MM, e.g. 09:00.") from None


def env_choices(name: str, default: list[str], allowed: set[str]) -> list[str]:
    """A comma-separated list whose items must each be one of `allowed`."""
    values = env_list(name, default)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ConfigError(
            f"{name}={','.join(values)!r}: unknown {', '.join(unknown)}; "
            f"use any of {', '.join(sorted(allowed))}."
        )
    return values


def env_database(name: str, default: str) -> dict:
    """Parse a database URL (sqlite:///path or postgres://user@host:port/db)."""
    import dj_database_url

    raw = os.environ.get(name) or default
    scheme = urlparse(raw).scheme
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ConfigError(
            f"{name}={raw!r}: unsupported database URL. Use sqlite:///path/to/db.sqlite3 "
            "or postgres://user:password@host:5432/dbname."
        )
    try:
        config = dj_database_url.parse(raw, conn_max_age=60 if scheme != "sqlite" else 0)
    except Exception as exc:  # dj_database_url raises several types for malformed URLs
        raise ConfigError(f"{name}={raw!r} is not a valid database URL: {exc}") from None
    if scheme != "sqlite" and not config.get("NAME"):
        raise ConfigError(f"{name}={raw!r} names no database (add /dbname at the end).")
    return config


def env_cache(name: str, default: str = "") -> dict:
    """Parse a cache URL: empty (or locmem://) for one process's memory, redis://host:port/db
    for a cache every process shares (what rate limits need once there are several workers)."""
    raw = os.environ.get(name, default).strip()
    if raw in {"", "locmem://"}:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if urlparse(raw).scheme in {"redis", "rediss"}:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": raw}
    raise ConfigError(
        f"{name}={raw!r}: unsupported cache URL. Leave it empty for a per-process memory cache "
        "or use redis://host:6379/0."
    )
