"""Hooks of the tenant and plugin lifecycle."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.hookspecs._marker import hookspec

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.models import Tenant


@hookspec
def plugin_enabled(dbsession: Session, tenant: Tenant, plugin: str) -> None:
    """Called in the enabling transaction after ``plugin`` was enabled for ``tenant``.

    Broadcast to the core and the tenant's enabled plugins (including the one just
    enabled); an implementation usually acts only when ``plugin`` is its own name, e.g. to
    create the tenant's default catalogue rows. ``dbsession`` is scoped to the tenant.
    Enabling a plugin again after disabling it calls the hook again, so be idempotent.
    """


@hookspec
def demo_data(dbsession: Session, tenant: Tenant) -> None:
    """Fill a freshly created demo tenant with realistic data.

    Broadcast in dependency order (a plugin sees the data of the plugins it depends on).
    ``dbsession`` is scoped to ``tenant``; do not commit.
    """
