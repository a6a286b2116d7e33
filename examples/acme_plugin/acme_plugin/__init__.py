"""ACME notes: an example company plugin for Kliendihaldus.

The package is found through the entry point ``acme = "acme_plugin"`` in the group
``kliendihaldus.plugins``; ``plugin.toml`` beside this file names the plugin and its hook
module (:mod:`acme_plugin.hooks`). :func:`includeme` adds the routes, views and static files.
"""

from __future__ import annotations

from pyramid.config import Configurator

from core.sdk import NO_PERMISSION_REQUIRED, translation_factory

_ = translation_factory("acme")
"""Translation strings of the plugin (domain ``acme``, catalogues in ``locale/``)."""

PLUGIN = "acme"


def includeme(config: Configurator) -> None:
    """Register the plugin's routes, views and static files with Pyramid."""
    config.add_route("acme_notes", "/acme/notes")
    config.add_route("acme_notes_digest", "/acme/notes/digest")
    config.add_route("acme_api_notes", "/api/v1/acme/notes")
    config.add_static_view(
        "acme/static", "acme_plugin:static", cache_max_age=3600,
        permission=NO_PERMISSION_REQUIRED,
    )
    config.scan("acme_plugin.views")
