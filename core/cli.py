"""The ``kliendihaldus`` command: demo, database, tenants, plugins, users and the worker.

Settings come from ``--config`` (default: ``$KLIENDIHALDUS_CONFIG`` or
``config/development.ini``); ``DATABASE_URL`` overrides the database in every command.
"""

from __future__ import annotations

import secrets
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import settings as settings_module
from core.db import ALL_TENANTS, make_engine, make_session_factory
from core.models import ROLES, Tenant, User
from core.plugins import PluginSet, StartupError
from core.security import passwords_from_settings
from core.tenancy import (
    PluginStateError,
    create_tenant,
    default_plugin_names,
    disable_plugin,
    enable_plugin,
    enabled_plugins,
    find_tenant,
)

DEFAULT_CONFIG = "config/development.ini"


class Context:
    """Settings, plugins and database access shared by the sub-commands."""

    def __init__(self, config_uri: str) -> None:
        self.config_uri = config_uri
        self._settings: dict[str, Any] | None = None
        self._plugins: PluginSet | None = None

    @property
    def settings(self) -> dict[str, Any]:
        """The validated settings of the ini file (plus environment overrides)."""
        if self._settings is None:
            self._settings = load_settings(self.config_uri)
        return self._settings

    @property
    def plugins(self) -> PluginSet:
        """The installed plugins, loaded."""
        if self._plugins is None:
            self._plugins = PluginSet.discover().load()
        return self._plugins

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session over all tenants, committed when the block succeeds."""
        engine = make_engine(self.settings["sqlalchemy.url"])
        factory = make_session_factory(engine)
        try:
            with factory() as session, session.begin():
                session.info[ALL_TENANTS] = True
                yield session
        finally:
            engine.dispose()


def load_settings(config_uri: str) -> dict[str, Any]:
    """Read ``[app:main]`` of an ini file and validate it."""
    from pyramid.paster import get_appsettings

    path = Path(config_uri.split("#")[0])
    if not path.exists():
        raise StartupError(f"Configuration file '{config_uri}' does not exist")
    return dict(settings_module.prepare(dict(get_appsettings(config_uri))))


def _tenant(session: Session, key: str) -> Tenant:
    tenant = find_tenant(session, key)
    if tenant is None:
        raise click.ClickException(f"No tenant '{key}' (give its slug, host name or id)")
    return tenant


@click.group()
@click.option("--config", "config_uri", envvar="KLIENDIHALDUS_CONFIG", default=DEFAULT_CONFIG,
              show_default=True, help="Settings file (ini).")
@click.pass_context
def cli(ctx: click.Context, config_uri: str) -> None:
    """Kliendihaldus: client management and sales administration."""
    ctx.obj = Context(config_uri)


# --- demo ------------------------------------------------------------------------------

@cli.command()
@click.option("--port", default=6543, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--no-serve", is_flag=True, help="Prepare the database and exit.")
@click.pass_obj
def demo(ctx: Context, port: int, host: str, no_serve: bool) -> None:
    """Create or upgrade the SQLite demo database, load demo data once, and serve."""
    from core import demo as demo_module

    if ctx.config_uri == DEFAULT_CONFIG and not Path(DEFAULT_CONFIG).exists():
        raise click.ClickException("Run the demo from the project folder (config/ is missing)")
    Path("var").mkdir(exist_ok=True)
    from core import migrate

    migrate.upgrade(ctx.settings["sqlalchemy.url"], PluginSet.discover())
    with ctx.session() as session:
        created = demo_module.load(session, ctx.plugins, ctx.settings)
    click.echo("Demo data loaded." if created else "Demo data already present.")
    if no_serve:
        return
    from waitress import serve

    from core import main

    app = main({}, **_raw_settings(ctx.config_uri))
    worker = demo_module.start_background_worker(ctx.settings, ctx.plugins)
    url = f"http://{host if host != '0.0.0.0' else '127.0.0.1'}:{port}/"  # noqa: S104
    click.echo(f"\n  Kliendihaldus demo: {url}")
    click.echo(f"  Log in as {demo_module.DEMO_LOGIN} / {demo_module.DEMO_PASSWORD}\n")
    try:
        serve(app, host=host, port=port, threads=8, _quiet=True)
    finally:
        worker.stop()


def _raw_settings(config_uri: str) -> dict[str, Any]:
    from pyramid.paster import get_appsettings

    return dict(get_appsettings(config_uri))


# --- db --------------------------------------------------------------------------------

@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(ctx: Context) -> None:
    """Apply every migration of the core and the installed plugins."""
    from core import migrate

    migrate.upgrade(ctx.settings["sqlalchemy.url"], PluginSet.discover())
    click.echo("Database is up to date.")


# --- tenants ---------------------------------------------------------------------------

@cli.group()
def tenant() -> None:
    """Tenants (customer companies)."""


@tenant.command("create")
@click.argument("name")
@click.option("--host", "hosts", multiple=True, required=True, help="Host name (repeatable).")
@click.option("--slug", help="Short identifier (default: from the first host).")
@click.option("--locale", type=click.Choice(["et", "en"]), default="et", show_default=True)
@click.option("--plugins", "plugin_names", default=None,
              help="Plugins to enable (default: setting kliendihaldus.default_plugins).")
@click.pass_obj
def tenant_create(ctx: Context, name: str, hosts: tuple[str, ...], slug: str | None,
                  locale: str, plugin_names: str | None) -> None:
    """Create a tenant reachable at HOST."""
    slug = slug or hosts[0].split(".")[0].lower()
    wanted = (plugin_names.replace(",", " ").split() if plugin_names is not None
              else settings_module.as_list(ctx.settings, "kliendihaldus.default_plugins"))
    names = default_plugin_names(ctx.plugins, wanted)
    unknown = [n for n in wanted if n not in ("builtin", "all") and n not in ctx.plugins.manifests]
    if unknown:
        raise click.ClickException(f"Unknown plugin(s): {', '.join(unknown)}")
    with ctx.session() as session:
        if session.scalar(sa.select(Tenant.id).where(Tenant.slug == slug)):
            raise click.ClickException(f"A tenant with slug '{slug}' already exists")
        for host in hosts:
            if find_tenant(session, host):
                raise click.ClickException(f"Host '{host}' already belongs to a tenant")
        created = create_tenant(session, ctx.plugins, name=name, slug=slug, hosts=list(hosts),
                                plugin_names=names, locale=locale)
        click.echo(f"Tenant '{created.slug}' (id {created.id}) created for {', '.join(hosts)}.")


@tenant.command("list")
@click.pass_obj
def tenant_list(ctx: Context) -> None:
    """List tenants with their hosts and enabled plugins."""
    with ctx.session() as session:
        tenants = session.scalars(sa.select(Tenant).order_by(Tenant.id)).all()
        if not tenants:
            click.echo("No tenants.")
        for t in tenants:
            plugins = ", ".join(sorted(enabled_plugins(session, t.id))) or "-"
            hosts = ", ".join(h.host for h in t.hosts) or "-"
            state = "" if t.active else " (inactive)"
            click.echo(f"{t.id:>4}  {t.slug:<20} {t.name}{state}\n      hosts: {hosts}\n"
                       f"      plugins: {plugins}")


# --- plugins ---------------------------------------------------------------------------

@cli.group()
def plugins() -> None:
    """Installed plugins and which tenants use them."""


@plugins.command("list")
@click.option("--tenant", "tenant_key", help="Show the state for this tenant.")
@click.pass_obj
def plugins_list(ctx: Context, tenant_key: str | None) -> None:
    """List installed plugins in dependency order."""
    enabled: frozenset[str] | None = None
    if tenant_key:
        with ctx.session() as session:
            enabled = enabled_plugins(session, _tenant(session, tenant_key).id)
    manifests = PluginSet.discover()
    for name in manifests.order:
        m = manifests.manifests[name]
        state = "" if enabled is None else ("  [enabled]" if name in enabled else "  [disabled]")
        deps = f"  depends: {', '.join(m.depends)}" if m.depends else ""
        click.echo(f"{name:<20} {m.version:<10} {m.label_for('en')}{state}{deps}")
    if not manifests.order:
        click.echo("No plugins installed.")


@plugins.command("enable")
@click.argument("name")
@click.option("--tenant", "tenant_key", required=True)
@click.pass_obj
def plugins_enable(ctx: Context, name: str, tenant_key: str) -> None:
    """Enable plugin NAME (and what it depends on) for a tenant."""
    with ctx.session() as session:
        t = _tenant(session, tenant_key)
        try:
            newly = enable_plugin(session, ctx.plugins, t, name)
        except PluginStateError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Enabled for {t.slug}: {', '.join(newly)}" if newly
               else f"'{name}' was already enabled for {t.slug}.")


@plugins.command("disable")
@click.argument("name")
@click.option("--tenant", "tenant_key", required=True)
@click.pass_obj
def plugins_disable(ctx: Context, name: str, tenant_key: str) -> None:
    """Disable plugin NAME for a tenant (its data is kept)."""
    if name not in PluginSet.discover().manifests:
        raise click.ClickException(f"Plugin '{name}' is not installed")
    with ctx.session() as session:
        t = _tenant(session, tenant_key)
        try:
            disable_plugin(session, ctx.plugins, t, name)
        except PluginStateError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Disabled for {t.slug}: {name} (data kept).")


# --- users -----------------------------------------------------------------------------

@cli.group()
def user() -> None:
    """Users of a tenant."""


@user.command("create")
@click.option("--tenant", "tenant_key", required=True)
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default=None, help="Full name (default: from the e-mail).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_obj
def user_create(ctx: Context, tenant_key: str, email: str, role: str, name: str | None,
                password_stdin: bool) -> None:
    """Create a user; prints a generated password unless one is given on stdin."""
    email = email.strip().lower()
    if "@" not in email:
        raise click.ClickException(f"'{email}' is not an e-mail address")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if len(password) < 10:
            raise click.ClickException("The password must be at least 10 characters long")
    else:
        password = secrets.token_urlsafe(12)
    hasher = passwords_from_settings(ctx.settings)
    with ctx.session() as session:
        t = _tenant(session, tenant_key)
        session.info["tenant_id"] = t.id
        if session.scalar(sa.select(User.id).where(User.tenant_id == t.id, User.email == email)):
            raise click.ClickException(f"{email} already exists in {t.slug}")
        session.add(User(tenant_id=t.id, email=email, role=role,
                         name=name or email.split("@")[0].replace(".", " ").title(),
                         password_hash=hasher.hash(password)))
    click.echo(f"User {email} ({role}) created in {t.slug}.")
    if not password_stdin:
        click.echo(f"Password: {password}")


# --- worker ----------------------------------------------------------------------------

@cli.command()
@click.option("--once", is_flag=True, help="Process what is due now and exit.")
@click.pass_obj
def worker(ctx: Context, once: bool) -> None:
    """Run queued jobs and deliver queued e-mail."""
    from core.worker import Worker

    w = Worker.from_settings(ctx.settings, ctx.plugins)
    if once:
        done = w.run_once()
        click.echo(f"Processed {done} item(s).")
    else:
        # SIGTERM (service managers) and Ctrl+C finish the current item, then stop.
        signal.signal(signal.SIGTERM, lambda *_: w.stop())
        signal.signal(signal.SIGINT, lambda *_: w.stop())
        click.echo(f"Worker {w.name} started; press Ctrl+C to stop.")
        w.run_forever()
        click.echo("Worker stopped.")


def main() -> None:
    """Console entry point: start-up errors print one line and exit with status 2."""
    try:
        cli.main(standalone_mode=False)
    except StartupError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
