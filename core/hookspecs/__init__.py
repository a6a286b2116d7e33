"""Every hook specification of the product.

Plugins implement these with ``@hookimpl`` (from :mod:`core.sdk`). Hook calls made through
``request.hooks`` reach only the core and the plugins enabled for the request's tenant.
Each module groups the hooks of one subsystem; ``docs/plugins.md`` documents every one.
"""

from __future__ import annotations

import pluggy

from core.hookspecs import api, bank, crm, invoicing, jobs, lifecycle, security, web
from core.hookspecs._marker import PROJECT, hookspec

hookimpl = pluggy.HookimplMarker(PROJECT)

SPEC_MODULES = (web, security, lifecycle, jobs, api, crm, invoicing, bank)

__all__ = ["PROJECT", "SPEC_MODULES", "add_all", "hookimpl", "hookspec"]


def add_all(pm: pluggy.PluginManager) -> None:
    """Register every hookspec module on ``pm``."""
    for module in SPEC_MODULES:
        pm.add_hookspecs(module)
