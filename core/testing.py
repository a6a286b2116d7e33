"""The test harness of the core and of every plugin (a pytest plugin, loaded automatically).

The database is chosen by ``KH_TEST_DATABASE``: ``sqlite`` (default; a fresh file per test
run) or ``postgresql`` (a fresh database on ``KH_TEST_PG_URL``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``, dropped at the end). Every test
process migrates its own database once; after each test all rows are deleted.

Fixtures: ``db_url``, ``app_settings``, ``plugin_set``, ``app``, ``dbsession``, ``tenant``
(a tenant with every installed plugin enabled, host ``acme.test``), ``make_tenant``,
``make_user``, ``browser`` (a logged-in WebTest client factory) and ``smtp_server``.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import tempfile
from collections.abc import Callable, Iterator
from configparser import ConfigParser
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.db import AppSession, Base, all_tenants, make_engine, make_session_factory
from core.models import Tenant, User
from core.plugins import PluginSet
from core.tenancy import create_tenant

PASSWORD = "correct horse battery"  # noqa: S105 - test users only
"""The password of users made by ``make_user`` unless another is given."""

TEST_INI = Path(__file__).resolve().parent.parent / "config" / "test.ini"
FALLBACK_SETTINGS = {
    "session.secret": "test-secret-0123456789abcdef0123456789abcdef",
    "security.argon2.time_cost": "1",
    "security.argon2.memory_cost": "64",
    "mail.backend": "smtp",
    "mail.smtp.host": "127.0.0.1",
    "mail.default_sender": "Kliendihaldus Test <test@kliendihaldus.test>",
}


def _ini_settings() -> dict[str, str]:
    if not TEST_INI.exists():
        return dict(FALLBACK_SETTINGS)
    parser = ConfigParser(interpolation=None)
    parser.read(TEST_INI, encoding="utf-8")
    return {k: v for k, v in parser["app:main"].items() if k != "use"}


def _pg_admin_url() -> str:
    return os.environ.get(
        "KH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated database for this test process (SQLite or PostgreSQL)."""
    from core import migrate

    kind = os.environ.get("KH_TEST_DATABASE", "sqlite")
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
        migrate.upgrade(url)
        yield url
        return
    if kind != "postgresql":
        raise pytest.UsageError("KH_TEST_DATABASE must be sqlite or postgresql")
    admin_url = _pg_admin_url()
    name = f"kh_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def app_settings(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Settings of the test application (``config/test.ini`` with the test database)."""
    settings = _ini_settings()
    settings["sqlalchemy.url"] = db_url
    settings["storage.path"] = str(tmp_path_factory.mktemp("files"))
    return settings


@pytest.fixture(scope="session")
def plugin_set() -> PluginSet:
    """The installed plugins, loaded."""
    return PluginSet.discover().load()


@pytest.fixture(scope="session")
def app(app_settings: dict[str, str]) -> Any:
    """The WSGI application, built once per test process."""
    from core import main

    return main({}, **app_settings)


@pytest.fixture(scope="session")
def _engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _wipe(engine: sa.Engine) -> None:
    tables = [t for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    engine = request.getfixturevalue("_engine") if "db_url" in request.fixturenames else None
    yield
    if engine is not None:
        _wipe(engine)


@pytest.fixture
def dbsession(_engine: sa.Engine) -> Iterator[AppSession]:
    """A session over all tenants for arranging and checking data; commit it yourself."""
    factory = make_session_factory(_engine)
    session = factory()
    session.info["all_tenants"] = True
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@pytest.fixture
def make_tenant(
    _engine: sa.Engine, plugin_set: PluginSet
) -> Callable[..., Tenant]:
    """Create (and commit) a tenant: ``make_tenant("ACME", host="acme.test", plugins=[...])``.

    By default every installed plugin is enabled.
    """

    def factory(
        name: str = "Test OÜ", host: str | None = None, plugins: list[str] | None = None,
        locale: str = "et",
    ) -> Tenant:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "t"
        host = host or f"{slug}.test"
        names = list(plugin_set.order) if plugins is None else plugins
        session = make_session_factory(_engine)()
        with session, session.begin(), all_tenants(session):
            tenant = create_tenant(session, plugin_set, name=name, slug=slug, hosts=[host],
                                   plugin_names=names, locale=locale)
            session.flush()
            session.expunge(tenant)
        return tenant

    return factory


@pytest.fixture
def tenant(make_tenant: Callable[..., Tenant]) -> Tenant:
    """A tenant at ``acme.test`` with every installed plugin enabled."""
    return make_tenant("Acme OÜ", host="acme.test")


@pytest.fixture
def make_user(_engine: sa.Engine, app_settings: dict[str, str]) -> Callable[..., User]:
    """Create (and commit) a user: ``make_user(tenant, role="sales", email=...)``."""
    from core.security import passwords_from_settings

    hasher = passwords_from_settings(app_settings)
    counter = iter(range(1, 10_000))

    def factory(tenant: Tenant, role: str = "admin", email: str | None = None,
                password: str = PASSWORD, name: str | None = None, **extra: Any) -> User:
        n = next(counter)
        email = email or f"{role}{n}@{tenant.slug}.test"
        session = make_session_factory(_engine)()
        with session, session.begin():
            session.info["tenant_id"] = tenant.id
            user = User(email=email, name=name or f"{role.title()} User {n}", role=role,
                        password_hash=hasher.hash(password), **extra)
            session.add(user)
            session.flush()
            session.expunge(user)
        return user

    return factory


@dataclass
class Browser:
    """A WebTest client bound to a tenant's host, optionally logged in."""

    app: Any
    host: str
    client: Any = field(init=False)

    def __post_init__(self) -> None:
        import webtest

        self.client = webtest.TestApp(self.app, extra_environ={"HTTP_HOST": self.host})

    def login(self, email: str, password: str = PASSWORD) -> Any:
        """Log in through the login form; returns the response after the redirect."""
        form = self.client.get("/login").forms[0]
        form["email"] = email
        form["password"] = password
        response = form.submit()
        assert response.status_int == 303, response.text[:500]
        return response.follow(status="*")

    @property
    def csrf_token(self) -> str:
        """The CSRF token of the current session (loads a page when needed)."""
        page = self.client.get("/account", status="*")
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match, "no CSRF token on the account page"
        return match.group(1)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@pytest.fixture
def browser(app: Any) -> Callable[..., Browser]:
    """``browser(tenant)`` or ``browser(tenant, user)``: a WebTest client (logged in)."""

    def factory(tenant: Tenant, user: User | None = None, password: str = PASSWORD) -> Browser:
        b = Browser(app, tenant.hosts[0].host if tenant.hosts else f"{tenant.slug}.test")
        if user is not None:
            b.login(user.email, password)
        return b

    return factory


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tmp_dir() -> Path:
    """A new temporary folder (removed by the OS, not by the tests)."""
    return Path(tempfile.mkdtemp(prefix="kh-"))


class HookCalls:
    """Records which plugins' hook implementations run, as a context manager.

    ``with HookCalls(app) as calls: ...`` watches the plugin manager of the ``app`` fixture
    (or of a :class:`~core.plugins.PluginSet`, or a ``pluggy.PluginManager``) through
    pluggy's call monitoring, so it sees the real calls made through ``request.hooks``::

        with HookCalls(app) as calls:
            browser(tenant, user).get("/")
        assert calls.called("acme", "dashboard_widgets")
        assert "acme" not in calls.plugins()
    """

    def __init__(self, target: Any) -> None:
        registry = getattr(target, "registry", None)
        if registry is not None:
            target = registry["plugins"]
        self.pm = getattr(target, "pm", target)
        self.calls: list[tuple[str, str]] = []
        self._undo: Callable[[], None] | None = None

    def _before(self, hook_name: str, hook_impls: Any, kwargs: Any) -> None:
        self.calls.extend((hook_name, impl.plugin_name) for impl in hook_impls)

    def _after(self, outcome: Any, hook_name: str, hook_impls: Any, kwargs: Any) -> None:
        return None

    def __enter__(self) -> HookCalls:
        self._undo = self.pm.add_hookcall_monitoring(self._before, self._after)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._undo is not None:
            self._undo()
            self._undo = None

    def plugins(self, hook: str | None = None) -> set[str]:
        """Names of the plugins (``"core"`` included) whose implementations of ``hook``
        (of any hook when None) were called."""
        return {plugin for name, plugin in self.calls if hook is None or name == hook}

    def called(self, plugin: str, hook: str | None = None) -> bool:
        """True when an implementation of ``plugin`` (for ``hook``, if given) was called."""
        return plugin in self.plugins(hook)
