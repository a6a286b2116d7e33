"""Migrating an empty database gives exactly the models' schema (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from core import migrate
from core.db import Base, make_engine
from core.plugins import PluginSet


def test_migrated_schema_equals_models(db_url):
    # db_url is a database the harness created empty and migrated with `db upgrade`.
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_every_installed_plugin_branch_is_at_its_head(db_url):
    plugins = PluginSet.discover()
    assert migrate.pending_heads(db_url, plugins) == set()
    script = ScriptDirectory.from_config(migrate.alembic_config(db_url, plugins))
    assert len(script.get_revisions("core@head")) == 1


def test_upgrade_is_idempotent(db_url):
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables
