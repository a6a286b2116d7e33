"""The core's pages: login, front page, account, administration, errors, health, API."""

from typing import Any


def includeme(config: Any) -> None:
    """Register the core's routes and scan its views."""
    config.add_route("home", "/")
    config.add_route("login", "/login")
    config.add_route("logout", "/logout")
    config.add_route("language", "/language")
    config.add_route("account", "/account")
    config.add_route("api_tokens", "/account/tokens")
    config.add_route("api_token_revoke", "/account/tokens/{id:\\d{1,9}}/revoke")
    config.add_route("admin_modules", "/admin/modules")
    config.add_route("admin_module_toggle", "/admin/modules/{name}")
    config.add_route("admin_users", "/admin/users")
    config.add_route("admin_user_new", "/admin/users/new")
    config.add_route("admin_user_edit", "/admin/users/{id:\\d{1,9}}")
    config.add_route("admin_roles", "/admin/roles")
    config.add_route("admin_audit", "/admin/audit")
    config.add_route("admin_outbox", "/admin/outbox")
    config.add_route("healthz", "/healthz")
    config.add_route("api_me", "/api/v1/me")
    config.add_route("api_openapi", "/api/v1/openapi.json")
    config.scan("core.views")
