"""Alembic wiring: one migration branch for the core and one per plugin.

``upgrade(settings)`` applies every head (``alembic upgrade heads``); the version folders
come from the installed plugins, so a plugin's migrations run as soon as it is installed,
whether or not a tenant has enabled it (enabling is data, the schema is not).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.db import Base, make_engine
from core.plugins import PluginSet, StartupError

CORE_VERSIONS = Path(__file__).parent / "migrations" / "versions"


def import_models(plugins: PluginSet) -> sa.MetaData:
    """Import the core's and every plugin's models; return the shared metadata."""
    import core.models  # noqa: F401 - registers the core tables

    plugins.load()
    return Base.metadata


def alembic_config(url: str, plugins: PluginSet) -> Config:
    """An Alembic configuration covering the core and every installed plugin."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    locations = [str(CORE_VERSIONS)]
    for name in plugins.order:
        folder = plugins.manifests[name].migrations_dir
        if folder is not None:
            locations.append(str(folder))
    cfg.set_main_option("path_separator", "os")
    import os

    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["plugins"] = plugins
    return cfg


def upgrade(url: str, plugins: PluginSet | None = None) -> None:
    """Bring the database at ``url`` to the newest schema of every installed plugin."""
    plugins = plugins or PluginSet.discover()
    import_models(plugins)
    cfg = alembic_config(url, plugins)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "heads")
    finally:
        engine.dispose()


def pending_heads(url: str, plugins: PluginSet) -> set[str]:
    """Heads of the migration scripts that the database at ``url`` has not reached."""
    cfg = alembic_config(url, plugins)
    script = ScriptDirectory.from_config(cfg)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    heads = set(script.get_heads())
    if not current:
        return heads
    reached: set[str] = set()
    for rev in current:
        reached.update(r.revision for r in script.iterate_revisions(rev, "base"))
    return heads - reached


def require_current_schema(registry: Any) -> None:
    """Stop start-up with a clear line when the database needs ``db upgrade`` first."""
    url = registry.settings["sqlalchemy.url"]
    try:
        missing = pending_heads(url, registry["plugins"])
    except sa.exc.OperationalError as exc:
        raise StartupError(f"Database at 'sqlalchemy.url' cannot be reached: {exc.orig}") from exc
    if missing:
        raise StartupError(
            "The database schema is not up to date: run `kliendihaldus db upgrade` first"
        )
