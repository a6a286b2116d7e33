"""Alembic environment: runs the core's and the plugins' migrations on one connection."""

from alembic import context

from core.db import Base, make_engine
from core.migrate import import_models
from core.plugins import PluginSet

config = context.config
plugins = config.attributes.get("plugins") or PluginSet.discover()
import_models(plugins)
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run migrations online on the given connection (or one made from the URL)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run `kliendihaldus db upgrade`")
run_migrations()
