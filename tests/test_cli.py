"""The ``kliendihaldus`` command as an administrator uses it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def kh(db_url):
    """Run ``kliendihaldus ARGS`` against the test database; returns the finished process."""

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        env = dict(os.environ, DATABASE_URL=db_url)
        return subprocess.run(
            [sys.executable, "-m", "core", "--config", "config/test.ini", *args],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, input=stdin,
        )

    return run


def test_tenant_user_and_plugins_lifecycle(kh, browser, dbsession, plugin_set):
    created = kh("tenant", "create", "Näide OÜ", "--host", "naide.test", "--plugins", "")
    assert created.returncode == 0, created.stderr
    assert "Tenant 'naide'" in created.stdout

    listed = kh("tenant", "list")
    assert "naide" in listed.stdout and "naide.test" in listed.stdout

    duplicate = kh("tenant", "create", "Teine", "--host", "naide.test", "--slug", "teine")
    assert duplicate.returncode == 1
    assert "already belongs" in duplicate.stderr

    user = kh("user", "create", "--tenant", "naide", "--email", "Juku@Naide.test",
              "--role", "sales", "--name", "Juku Juurikas")
    assert user.returncode == 0, user.stderr
    password = re.search(r"Password: (\S+)", user.stdout).group(1)

    from core.models import Tenant

    tenant = dbsession.query(Tenant).filter_by(slug="naide").one()
    page = browser(tenant).login("juku@naide.test", password)
    assert "Juku" in page.text

    plugin = plugin_set.order[-1]
    enabled = kh("plugins", "enable", plugin, "--tenant", "naide.test")
    assert enabled.returncode == 0, enabled.stderr
    state = kh("plugins", "list", "--tenant", "naide")
    assert re.search(rf"^{plugin}\b.*\[enabled\]", state.stdout, re.M)
    disabled = kh("plugins", "disable", plugin, "--tenant", "naide")
    assert disabled.returncode == 0, disabled.stderr
    state = kh("plugins", "list", "--tenant", "naide")
    assert re.search(rf"^{plugin}\b.*\[disabled\]", state.stdout, re.M)


def test_password_from_stdin_and_bad_input(kh):
    kh("tenant", "create", "Näide OÜ", "--host", "naide.test")
    short = kh("user", "create", "--tenant", "naide", "--email", "a@naide.test",
               "--role", "sales", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 10" in short.stderr
    bad_role = kh("user", "create", "--tenant", "naide", "--email", "a@naide.test",
                  "--role", "boss")
    assert bad_role.returncode == 2
    no_tenant = kh("user", "create", "--tenant", "nobody", "--email", "a@x.test",
                   "--role", "sales")
    assert no_tenant.returncode == 1 and "No tenant 'nobody'" in no_tenant.stderr
    ok = kh("user", "create", "--tenant", "naide", "--email", "a@naide.test",
            "--role", "sales", "--password-stdin", stdin="a long enough password\n")
    assert ok.returncode == 0 and "Password:" not in ok.stdout
    again = kh("user", "create", "--tenant", "naide", "--email", "a@naide.test",
               "--role", "sales")
    assert again.returncode == 1 and "already exists" in again.stderr


def test_unknown_plugin_is_refused(kh):
    kh("tenant", "create", "Näide OÜ", "--host", "naide.test")
    result = kh("plugins", "enable", "no_such_plugin", "--tenant", "naide")
    assert result.returncode == 1
    assert "not installed" in result.stderr


def test_db_upgrade_reports_up_to_date(kh):
    result = kh("db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
