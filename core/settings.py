"""Reading and validating the application settings (ini file plus environment).

Environment variables override the ini file: ``DATABASE_URL`` replaces ``sqlalchemy.url``
and ``SESSION_SECRET`` replaces ``session.secret``. Invalid settings stop start-up with one
line naming the setting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from typing import Any

from core.plugins import StartupError

ENV_OVERRIDES = {
    "DATABASE_URL": "sqlalchemy.url",
    "SESSION_SECRET": "session.secret",
    "SMTP_HOST": "mail.smtp.host",
    "SMTP_PORT": "mail.smtp.port",
}

DEFAULTS: dict[str, str] = {
    "kliendihaldus.default_tenant": "",
    "kliendihaldus.default_plugins": "builtin",
    "session.secure": "false",
    "session.max_age_hours": "12",
    "security.argon2.time_cost": "3",
    "security.argon2.memory_cost": "65536",
    "security.login.max_failures": "5",
    "security.login.lockout_minutes": "15",
    "mail.backend": "smtp",
    "mail.default_sender": "Kliendihaldus <noreply@localhost>",
    "mail.smtp.host": "localhost",
    "mail.smtp.port": "25",
    "mail.smtp.username": "",
    "mail.smtp.password": "",
    "mail.smtp.starttls": "false",
    "mail.smtp.ssl": "false",
    "mail.smtp.timeout": "30",
    "mail.directory": "",
    "mail.max_attempts": "8",
    "jobs.poll_interval": "2",
    "jobs.batch_size": "10",
    "jobs.lock_timeout_minutes": "30",
    "jobs.retry_seconds": "30",
    "jobs.retry_max_seconds": "3600",
    "jobs.no_handler_delay_seconds": "300",
    "mail.batch_size": "20",
    "mail.lock_timeout_minutes": "30",
    "mail.retry_seconds": "60",
    "mail.retry_max_seconds": "3600",
    "retry.attempts": "3",
    "storage.path": "",
    "storage.max_upload_mb": "25",
    "debug.show_errors": "false",
}

_BOOLS = {"true": True, "yes": True, "on": True, "1": True,
          "false": False, "no": False, "off": False, "0": False}


def as_bool(settings: Mapping[str, Any], key: str) -> bool:
    """Read a yes/no setting; refuse anything else with a start-up error."""
    value = str(settings.get(key, DEFAULTS.get(key, "false"))).strip().lower()
    if value not in _BOOLS:
        raise StartupError(f"Setting '{key}' must be true or false, got '{value}'")
    return _BOOLS[value]


def as_int(settings: Mapping[str, Any], key: str, minimum: int = 0) -> int:
    """Read a whole-number setting of at least ``minimum``."""
    raw = str(settings.get(key, DEFAULTS.get(key, ""))).strip()
    try:
        value = int(raw)
    except ValueError:
        raise StartupError(f"Setting '{key}' must be a whole number, got '{raw}'") from None
    if value < minimum:
        raise StartupError(f"Setting '{key}' must be at least {minimum}, got {value}")
    return value


def as_list(settings: Mapping[str, Any], key: str) -> list[str]:
    """Read a whitespace- or comma-separated list setting."""
    raw = str(settings.get(key, DEFAULTS.get(key, "")))
    return [part for part in raw.replace(",", " ").split() if part]


def prepare(settings: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Apply defaults and environment overrides, then validate; returns ``settings``."""
    for key, value in DEFAULTS.items():
        settings.setdefault(key, value)
    for env, key in ENV_OVERRIDES.items():
        if os.environ.get(env):
            settings[key] = os.environ[env]
    url = str(settings.get("sqlalchemy.url") or "").strip()
    if not url:
        raise StartupError("Setting 'sqlalchemy.url' is missing (or set DATABASE_URL)")
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise StartupError(f"Setting 'sqlalchemy.url' must be a SQLite or PostgreSQL URL: {url}")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    settings["sqlalchemy.url"] = url
    secret = str(settings.get("session.secret") or "")
    if len(secret) < 32:
        raise StartupError("Setting 'session.secret' must be at least 32 characters long")
    if settings["mail.backend"] not in {"smtp", "directory"}:
        raise StartupError(
            f"Setting 'mail.backend' must be smtp or directory, got '{settings['mail.backend']}'"
        )
    if settings["mail.backend"] == "directory" and not settings["mail.directory"]:
        raise StartupError("Setting 'mail.directory' is required when mail.backend = directory")
    for key in ("session.secure", "mail.smtp.starttls", "mail.smtp.ssl", "debug.show_errors"):
        as_bool(settings, key)
    for key, minimum in (
        ("session.max_age_hours", 1),
        ("security.argon2.time_cost", 1),
        ("security.argon2.memory_cost", 32),
        ("security.login.max_failures", 1),
        ("security.login.lockout_minutes", 1),
        ("mail.smtp.port", 1),
        ("mail.smtp.timeout", 1),
        ("mail.max_attempts", 1),
        ("retry.attempts", 1),
        ("storage.max_upload_mb", 1),
        ("jobs.poll_interval", 1),
        ("jobs.batch_size", 1),
        ("jobs.lock_timeout_minutes", 1),
        ("jobs.retry_seconds", 1),
        ("jobs.retry_max_seconds", 1),
        ("jobs.no_handler_delay_seconds", 1),
        ("mail.batch_size", 1),
        ("mail.lock_timeout_minutes", 1),
        ("mail.retry_seconds", 1),
        ("mail.retry_max_seconds", 1),
    ):
        as_int(settings, key, minimum)
    return settings
