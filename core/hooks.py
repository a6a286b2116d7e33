"""The core's own hook implementations: its permissions, admin menu and dashboard widget."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request

from core.hookspecs import hookimpl
from core.hookspecs.types import MenuItem, Permission, Widget
from core.i18n import _

EVERYONE = ("manager", "sales", "accountant", "secretary")


@hookimpl
def permissions() -> list[Permission]:
    """The core's permissions."""
    return [
        Permission("core:dashboard:view", _("See the front page"), EVERYONE),
        Permission("core:modules:manage", _("Enable and disable modules")),
        Permission("core:users:manage", _("Manage users")),
        Permission("core:roles:manage", _("Grant permissions to roles")),
        Permission("core:audit:view", _("Read the audit log"), ("manager",)),
        Permission("core:outbox:view", _("See the outbox and background jobs"), ("manager",)),
        Permission("core:api:use", _("Use the API with personal tokens"), ("manager",)),
    ]


@hookimpl
def menu_items(request: Request) -> list[MenuItem]:
    """The front page in the main menu and the administration pages."""
    return [
        MenuItem("core.dashboard", _("Front page"), "home", "core:dashboard:view", order=0),
        MenuItem("core.modules", _("Modules"), "admin_modules", "core:modules:manage",
                 order=10, section="admin"),
        MenuItem("core.users", _("Users"), "admin_users", "core:users:manage",
                 order=20, section="admin"),
        MenuItem("core.roles", _("Roles and permissions"), "admin_roles", "core:roles:manage",
                 order=30, section="admin"),
        MenuItem("core.audit", _("Audit log"), "admin_audit", "core:audit:view",
                 order=40, section="admin"),
        MenuItem("core.outbox", _("Outbox and jobs"), "admin_outbox", "core:outbox:view",
                 order=50, section="admin"),
        MenuItem("core.api_tokens", _("API tokens"), "api_tokens", "core:api:use",
                 order=60, section="admin"),
    ]


@hookimpl
def dashboard_widgets(request: Request) -> list[Widget]:
    """A welcome box with the user's role and the tenant's modules."""
    return [
        Widget(
            name="core.welcome",
            title=_("Welcome"),
            template="core:templates/widgets/welcome.pt",
            data=_welcome_data,
            permission="core:dashboard:view",
            order=1000,
        )
    ]


def _welcome_data(request: Request) -> dict[str, Any]:
    plugins = request.registry["plugins"]
    return {
        "modules": [
            plugins.label(name, request.locale_name)
            for name in plugins.order
            if name in request.enabled_plugins
        ],
    }
