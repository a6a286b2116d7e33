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
    """A session over all tenants for arranging and checking data; commit it yourself.

    On SQLite a read opens a snapshot: call ``dbsession.rollback()`` (or ``commit()``)
    before checking what the application wrote after that read.
    """
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

    ``calls`` lists the ``(hook name, plugin name)`` of every implementation run, in order;
    ``hooks`` the names of the hooks called (also those without any implementation).
    """

    def __init__(self, target: Any) -> None:
        registry = getattr(target, "registry", None)
        if registry is not None:
            target = registry["plugins"]
        self.pm = getattr(target, "pm", target)
        self.calls: list[tuple[str, str]] = []
        self.hooks: list[str] = []
        self._undo: Callable[[], None] | None = None

    def _before(self, hook_name: str, hook_impls: Any, kwargs: Any) -> None:
        self.hooks.append(hook_name)
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

    def hook_called(self, hook: str) -> bool:
        """True when ``hook`` was called at all (even if no implementation ran)."""
        return hook in self.hooks


# --- the worker: a clock for tests, workers, and a real SMTP server ------------------------
# These imports are kept with the fixtures they serve.
import datetime as dt  # noqa: E402
import email  # noqa: E402
import threading  # noqa: E402
from email.message import EmailMessage  # noqa: E402
from email.policy import default as default_policy  # noqa: E402

from core.db import utcnow  # noqa: E402
from core.worker import Worker  # noqa: E402


class Clock:
    """A clock for :class:`core.worker.Worker` that tests move forward instead of sleeping.

    It reads the real time plus an offset, so rows stamped with the real time (a queued
    job's ``run_after``, a message's ``next_attempt_at``) are due at once; ``advance()``
    jumps ahead, e.g. past a retry delay or a lock timeout.
    """

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        """The current (shifted) time, timezone-aware."""
        return utcnow() + self.offset

    def advance(self, delta: dt.timedelta | None = None, **kwargs: float) -> dt.datetime:
        """Move forward by ``delta`` or by ``timedelta(**kwargs)``; returns the new time."""
        self.offset += delta if delta is not None else dt.timedelta(**kwargs)
        return self()


@pytest.fixture
def clock() -> Clock:
    """A :class:`Clock` starting at the real time."""
    return Clock()


@pytest.fixture
def make_worker(
    app_settings: dict[str, str], plugin_set: PluginSet, clock: Clock
) -> Iterator[Callable[..., Worker]]:
    """``make_worker(settings=None, plugins=None, now=None, name=None)``: a worker on the
    test database, using the ``clock`` fixture unless ``now`` is given; closed after the
    test."""
    workers: list[Worker] = []

    def factory(
        settings: dict[str, str] | None = None,
        plugins: PluginSet | None = None,
        now: Callable[[], dt.datetime] | None = None,
        name: str | None = None,
    ) -> Worker:
        worker = Worker(settings or app_settings, plugins or plugin_set, now or clock,
                        name=name)
        workers.append(worker)
        return worker

    yield factory
    for worker in workers:
        worker.close()


@dataclass(frozen=True)
class ReceivedMail:
    """A message the test SMTP server accepted: the envelope and the parsed e-mail."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: EmailMessage
    peer: tuple[str, int]
    """The client's address and port: one value per SMTP connection."""

    @property
    def message_id(self) -> str:
        """The ``Message-ID`` header."""
        return str(self.message["Message-ID"])


class SMTPTestServer:
    """A real SMTP server (aiosmtpd) on ``127.0.0.1:<port>`` that records what it accepts.

    ``messages`` lists the accepted :class:`ReceivedMail` in order. ``stop()`` and
    ``start()`` simulate an outage (the port stays the same). The server can be told to
    misbehave: ``fail_after(n)`` answers DATA with a temporary ``421`` after ``n`` more
    accepted messages, ``go_down_after(n)`` accepts ``n`` more messages and then crashes
    (the connection is cut at the next command and the port refuses connections until
    ``start()``), ``reject_recipient(address)`` refuses RCPT permanently (``550``),
    ``drop_after_data(n)`` closes the connection without answering after receiving the
    next messages' content (the client cannot know whether they were accepted);
    ``behave()`` ends all of that. ``require_login(username, password)`` refuses mail
    (``530``) from clients that did not log in (AUTH PLAIN/LOGIN, offered without TLS).
    ``on_data(callback)`` calls ``callback(received)`` for
    every accepted message before answering, e.g. to look at the database at that moment.
    """

    TEMPORARY_FAILURE = "421 4.3.0 Service not available, try again later"
    NO_SUCH_USER = "550 5.1.1 No such user here"

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port()
        self._lock = threading.Lock()
        self._control_lock = threading.Lock()
        self._messages: list[ReceivedMail] = []
        self._controller: Any = None
        self._stopper: threading.Thread | None = None
        self._on_data: Callable[[ReceivedMail], None] | None = None
        self.behave()

    # Control ------------------------------------------------------------------------------

    def start(self) -> SMTPTestServer:
        """Listen (again) on the same port (restarting it if it runs)."""
        from aiosmtpd.controller import Controller

        self.stop()  # also waits for a crash (go_down_after) to finish shutting down
        controller = Controller(self._Handler(self), hostname=self.host, port=self.port,
                                authenticator=self._authenticate, auth_require_tls=False)
        controller.start()
        with self._control_lock:
            self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening: clients get "connection refused" until ``start()``."""
        stopper = self._stopper
        if stopper is not None and stopper is not threading.current_thread():
            stopper.join()  # a crash (go_down_after) is shutting the server down
            self._stopper = None
        with self._control_lock:
            controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._controller is not None

    def behave(self) -> None:
        """Accept every message again (undo ``fail_after``, ``reject_recipient`` etc.)."""
        with self._lock:
            self._accept_budget: int | None = None
            self._failure_reply = self.TEMPORARY_FAILURE
            self._rejected: dict[str, str] = {}
            self._drops = 0
            self._crash_budget: int | None = None
            self._credentials: tuple[str, str] | None = None

    def fail_after(self, n: int, reply: str = TEMPORARY_FAILURE) -> None:
        """Accept ``n`` more messages, then answer every DATA with ``reply``."""
        with self._lock:
            self._accept_budget = n
            self._failure_reply = reply

    def go_down_after(self, n: int) -> None:
        """Accept ``n`` more messages, then crash: cut the connection at the next command
        and stop listening (``start()`` brings the server back)."""
        with self._lock:
            self._crash_budget = n

    def require_login(self, username: str, password: str) -> None:
        """Accept mail only from clients logged in with these credentials."""
        with self._lock:
            self._credentials = (username, password)

    def reject_recipient(self, address: str, reply: str = NO_SUCH_USER) -> None:
        """Refuse ``address`` at RCPT TO with ``reply``."""
        with self._lock:
            self._rejected[address.lower()] = reply

    def on_data(self, callback: Callable[[ReceivedMail], None] | None) -> None:
        """Call ``callback(received)`` (in the server's thread) for each accepted message,
        before the server answers; None removes it. Exceptions are reported to the client
        as a 5xx error, so keep assertions for later."""
        self._on_data = callback

    def drop_after_data(self, n: int = 1) -> None:
        """For the next ``n`` messages: record the content, then hang up without a reply."""
        with self._lock:
            self._drops = n

    # Results ------------------------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMail]:
        """The accepted messages, oldest first (a copy)."""
        with self._lock:
            return list(self._messages)

    @property
    def message_ids(self) -> list[str]:
        """The ``Message-ID`` of every accepted message, oldest first."""
        return [received.message_id for received in self.messages]

    def clear(self) -> None:
        """Forget the messages received so far."""
        with self._lock:
            self._messages.clear()

    # Server side --------------------------------------------------------------------------

    def _crash_now(self) -> bool:
        """Whether the server is to go down at this command (then it starts doing so)."""
        with self._lock:
            if self._crash_budget is None or self._crash_budget > 0:
                return False
            self._crash_budget = None
            # Stopping joins the server's thread, so it is done from another thread.
            self._stopper = threading.Thread(target=self.stop, daemon=True)
            self._stopper.start()
            return True

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        """aiosmtpd authenticator: the credentials given to ``require_login``."""
        from aiosmtpd.smtp import AuthResult, LoginPassword

        with self._lock:
            expected = self._credentials
        given = None
        if isinstance(auth_data, LoginPassword):
            given = (auth_data.login.decode(), auth_data.password.decode())
        return AuthResult(success=expected is not None and given == expected, handled=False)

    def _login_missing(self, session: Any) -> bool:
        with self._lock:
            return self._credentials is not None and not session.authenticated

    def _rcpt_reply(self, address: str) -> str | None:
        with self._lock:
            return self._rejected.get(address.lower())

    def _data_reply(
        self, mail_from: str, rcpt_tos: list[str], data: bytes, peer: tuple[str, int]
    ) -> str | None:
        """Record the message unless failing; None means: hang up without answering."""
        with self._lock:
            if self._accept_budget is not None:
                if self._accept_budget <= 0:
                    return self._failure_reply
                self._accept_budget -= 1
            if self._crash_budget is not None:
                self._crash_budget -= 1
            # Parsed with Python's line endings; ``data`` keeps the bytes as received.
            parsed = email.message_from_bytes(data.replace(b"\r\n", b"\n"),
                                              policy=default_policy)
            assert isinstance(parsed, EmailMessage)
            received = ReceivedMail(mail_from, list(rcpt_tos), data, parsed, tuple(peer[:2]))
            self._messages.append(received)
            hang_up = self._drops > 0
            if hang_up:
                self._drops -= 1
        callback = self._on_data
        if callback is not None:
            callback(received)
        return None if hang_up else "250 2.0.0 Message accepted for delivery"

    class _Handler:
        """aiosmtpd handler hooks delegating to the server object."""

        def __init__(self, owner: SMTPTestServer) -> None:
            self.owner = owner

        async def handle_MAIL(
            self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
        ) -> str:
            """Accept the sender, unless the server is to go down now."""
            if self.owner._crash_now():
                server.transport.abort()
                return "421 4.3.2 going down"
            if self.owner._login_missing(session):
                return "530 5.7.0 Authentication required"
            envelope.mail_from = address
            envelope.mail_options.extend(options)
            return "250 2.1.0 OK"

        async def handle_RCPT(
            self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
        ) -> str:
            """Accept the recipient unless it is to be rejected."""
            reply = self.owner._rcpt_reply(address)
            if reply is not None:
                return reply
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"

        async def handle_DATA(
            self, server: Any, session: Any, envelope: Any
        ) -> str:
            """Record the message (or fail, or hang up) as the owner was told."""
            reply = self.owner._data_reply(
                envelope.mail_from, envelope.rcpt_tos, envelope.original_content, session.peer
            )
            if reply is None:
                server.transport.abort()
                return "250 2.0.0 never seen by the client"
            return reply


@pytest.fixture
def smtp_server() -> Iterator[SMTPTestServer]:
    """A running :class:`SMTPTestServer` on a free port, stopped after the test."""
    server = SMTPTestServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_settings(app_settings: dict[str, str], smtp_server: SMTPTestServer) -> dict[str, str]:
    """``app_settings`` with SMTP delivery to ``smtp_server`` (a copy; no TLS, no login)."""
    return {
        **app_settings,
        "mail.backend": "smtp",
        "mail.smtp.host": smtp_server.host,
        "mail.smtp.port": str(smtp_server.port),
        "mail.smtp.starttls": "false",
        "mail.smtp.ssl": "false",
        "mail.smtp.username": "",
        "mail.smtp.password": "",
        "mail.smtp.timeout": "10",
    }


# --- a real browser against a live server ---------------------------------------------

CHROMIUM = os.environ.get("KH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
"""Flags for a headless Chromium on a machine without network access beyond loopback."""


@dataclass
class LiveServer:
    """The application served over HTTP on a free loopback port (waitress, in a thread)."""

    app: Any
    host: str = "127.0.0.1"
    port: int = 0
    server: Any = field(default=None, init=False)
    thread: Any = field(default=None, init=False)

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> LiveServer:
        """Start serving."""
        import threading

        from waitress.server import create_server

        self.server = create_server(self.app, host=self.host, port=self.port or free_port(),
                                    threads=4)
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.close()
        self.thread.join(timeout=5)

    def log_in(self, page: Any, email: str, password: str = PASSWORD) -> None:
        """Log in through the login form in the browser ``page``; waits for the front page."""
        page.goto(self.url + "/login")
        page.fill("#f-email", email)
        page.fill("#f-password", password)
        page.click("button.primary")
        page.wait_for_url(self.url + "/")


@pytest.fixture
def live_server(app: Any) -> Iterator[LiveServer]:
    """The test application on ``http://127.0.0.1:<port>``; tenants on host ``127.0.0.1``."""
    server = LiveServer(app).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def chromium_page() -> Iterator[Any]:
    """A Playwright page in Debian's headless Chromium (``/usr/bin/chromium``).

    The browser comes from the system's package (``make test`` installs it), never from a
    download; a missing browser fails the test with a clear message.
    """
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `make system-packages`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="et-EE")
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def drain_concurrently(workers: list[Any], timeout: float = 300) -> list[BaseException]:
    """Run ``run_once`` of every worker in its own thread until each finds nothing to do.

    The threads start together (a barrier) so the workers really compete for the same rows.
    Returns the exceptions raised in the threads (empty when all went well).
    """
    import threading

    start = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def drain(worker: Any) -> None:
        try:
            start.wait()
            while worker.run_once():
                pass
        except BaseException as exc:  # returned to the test, which asserts on it
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors
