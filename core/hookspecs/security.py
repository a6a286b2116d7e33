"""Hooks of the security model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.hookspecs._marker import hookspec

if TYPE_CHECKING:
    from core.hookspecs.types import Permission


@hookspec
def permissions() -> list[Permission]:
    """Declare the permissions this plugin checks, named ``plugin:resource:action``.

    Broadcast. Takes no arguments: the set is static per installed plugin. The roles page
    lists them for an admin to grant; ``default_roles`` are granted when the plugin is
    enabled for a tenant.
    """
