"""Kliendihaldus core: the app factory and the framework every plugin plugs into."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.router import Router

from core import settings as settings_module
from core.plugins import PluginSet


def make_config(
    settings: dict[str, Any], plugins: PluginSet | None = None
) -> Configurator:
    """Build the configurator with the core and every installed plugin wired in."""
    settings = dict(settings_module.prepare(dict(settings)))
    plugin_set = (plugins or PluginSet.discover()).load()
    config = Configurator(settings=settings)
    config.registry["plugins"] = plugin_set
    config.include("core.db")
    config.include("core.i18n")
    config.include("core.tenancy")
    config.include("core.security")
    config.include("core.web")
    config.include("core.audit")
    config.include("core.mail")
    config.include("core.views")
    config.commit()
    for name in plugin_set.order:
        module = plugin_set.modules[name]
        locale_dir = plugin_set.manifests[name].locale_dir
        if locale_dir is not None:
            config.add_translation_dirs(str(locale_dir))
        if hasattr(module, "includeme"):
            config.include(module)
            config.commit()
    return config


def main(global_config: dict[str, Any] | None = None, **settings: Any) -> Router:
    """The WSGI application factory (``paste.app_factory`` entry point)."""
    config = make_config(settings)
    from core.migrate import require_current_schema

    require_current_schema(config.registry)
    app = config.make_wsgi_app()
    from core.web import precompile_templates

    precompile_templates(config.registry)
    return app
