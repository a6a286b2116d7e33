"""The UI shell: layout and form macros for templates, the menu, flash messages, static files,
and the rule that every view declares a permission."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyramid.events import BeforeRender, NewResponse
from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import IRoutesMapper
from pyramid.renderers import get_renderer
from pyramid.request import Request

from core.hookspecs.types import MenuItem, Widget

LAYOUT = "core:templates/layout.pt"
log = logging.getLogger(__name__)
MACROS = "core:templates/macros.pt"


@dataclass(frozen=True)
class MenuEntry:
    """A menu item ready for the template."""

    label: str
    url: str
    active: bool
    icon: str | None


def flash(request: Request, message: Any, kind: str = "success", **mapping: Any) -> None:
    """Queue a message (``success``, ``info``, ``warning`` or ``error``) for the next page."""
    text = request.translate(message, mapping=mapping or None)
    request.session.flash({"kind": kind, "text": text})


def _collect_menu(request: Request) -> list[MenuItem]:
    items: list[MenuItem] = []
    for batch in request.hooks.menu_items(request=request):
        items.extend(batch or ())
    return sorted(items, key=lambda item: (item.order, item.name))


def menu(request: Request, section: str = "main") -> list[MenuEntry]:
    """The menu items of ``section`` the current user may use, translated, in order."""
    if request.tenant is None or request.user is None:
        return []
    matched = request.matched_route.name if request.matched_route else None
    routes = request.registry.getUtility(IRoutesMapper)
    entries = []
    for item in request.menu_items:
        if item.section != section:
            continue
        if routes.get_route(item.route) is None:
            log.error("Menu item %s names the unknown route %s; it is not shown",
                      item.name, item.route)
            continue
        if item.permission and not request.has_permission(item.permission):
            continue
        entries.append(
            MenuEntry(
                label=request.translate(item.label),
                url=request.route_url(item.route),
                active=item.route == matched,
                icon=item.icon,
            )
        )
    return entries


def dashboard_widgets(request: Request) -> list[Widget]:
    """Widgets of the enabled plugins that the current user may see, in order."""
    widgets: list[Widget] = []
    for batch in request.hooks.dashboard_widgets(request=request):
        widgets.extend(batch or ())
    widgets = [w for w in widgets if not w.permission or request.has_permission(w.permission)]
    return sorted(widgets, key=lambda w: (w.order, w.name))


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
"""Headers sent with every response: only the product's own scripts, styles and forms."""


def _add_security_headers(event: NewResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        event.response.headers.setdefault(name, value)


def _add_renderer_globals(event: BeforeRender) -> None:
    request = event.get("request")
    event["layout"] = get_renderer(LAYOUT).implementation()
    event["macros"] = get_renderer(MACROS).implementation().macros
    if request is not None:
        event.setdefault("t", request.translate)


def precompile_templates(registry: Any) -> int:
    """Compile every template of the core and the installed plugins now.

    Chameleon compiles a template on its first use; doing it at start-up keeps that cost
    off the first requests and avoids compiling in several threads at once (CPython 3.11's
    compiler is not safe for that). Returns the number of templates compiled.
    """
    import core

    packages = [(core.__name__, Path(core.__file__).parent)]
    packages += [(m.module, m.path) for m in registry["plugins"].manifests.values()]
    count = 0
    for package, folder in packages:
        for path in sorted(folder.rglob("*.pt")):
            if "tests" in path.relative_to(folder).parts:
                continue
            spec = f"{package}:{path.relative_to(folder).as_posix()}"
            get_renderer(spec, registry=registry).implementation().cook_check()
            count += 1
    return count


def require_permission_deriver(view: Callable, info: Any) -> Callable:
    """Refuse at start-up any view registered without an explicit permission."""
    if info.exception_only or (info.options.get("context") is not None and _is_exception(
        info.options.get("context")
    )):
        return view
    if info.options.get("permission") is None:
        name = getattr(info.original_view, "__qualname__", repr(info.original_view))
        route = info.options.get("route_name")
        raise ConfigurationError(
            f"View {name} (route {route!r}) has no permission; use NO_PERMISSION_REQUIRED "
            "explicitly for public views"
        )
    return view


def _is_exception(context: Any) -> bool:
    return isinstance(context, type) and issubclass(context, BaseException)


def includeme(config: Any) -> None:
    """Static files, renderer globals, menu helpers and the permission rule."""
    from pyramid.security import NO_PERMISSION_REQUIRED

    config.include("pyramid_chameleon")
    config.add_static_view(
        "static", "core:static", cache_max_age=3600, permission=NO_PERMISSION_REQUIRED
    )
    config.add_subscriber(_add_renderer_globals, BeforeRender)
    config.add_subscriber(_add_security_headers, NewResponse)
    config.add_request_method(_collect_menu, "menu_items", reify=True)
    config.add_request_method(menu, "menu")
    config.add_view_deriver(require_permission_deriver)
