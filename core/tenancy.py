"""Tenants: resolving the tenant of a request and enabling plugins per tenant."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from sqlalchemy.orm import Session

from core.db import tenant_scope
from core.hookspecs.types import Permission
from core.models import RolePermission, Tenant, TenantHost, TenantPlugin
from core.plugins import CORE, PluginSet, dependants, dependency_closure

TENANT_FREE_PREFIXES = ("/static/", "/healthz")
"""Paths served without resolving a tenant."""


class PluginStateError(ValueError):
    """Enabling or disabling a plugin was refused; ``args[0]`` is a user-facing reason."""

    def __init__(self, message: str, *, plugin: str, others: list[str] | None = None) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.others = others or []


def normalize_host(host: str) -> str:
    """Lower-case host name without the port."""
    host = host.strip().lower()
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.split(":")[0]


def resolve_tenant(dbsession: Session, host: str, default_slug: str = "") -> Tenant | None:
    """The active tenant for ``host``, else the default tenant (embedded setup), else None."""
    tenant = dbsession.scalar(
        sa.select(Tenant).join(TenantHost).where(TenantHost.host == normalize_host(host))
    )
    if tenant is None and default_slug:
        tenant = dbsession.scalar(sa.select(Tenant).where(Tenant.slug == default_slug))
    if tenant is None or not tenant.active:
        return None
    return tenant


def find_tenant(dbsession: Session, key: str) -> Tenant | None:
    """A tenant by slug, host or numeric id (for the command line)."""
    tenant = dbsession.scalar(sa.select(Tenant).where(Tenant.slug == key))
    if tenant is None:
        tenant = dbsession.scalar(
            sa.select(Tenant).join(TenantHost).where(TenantHost.host == normalize_host(key))
        )
    if tenant is None and key.isdigit():
        tenant = dbsession.get(Tenant, int(key))
    return tenant


def enabled_plugins(dbsession: Session, tenant_id: int) -> frozenset[str]:
    """Names of the plugins enabled for the tenant."""
    with tenant_scope(dbsession, tenant_id):
        rows = dbsession.scalars(
            sa.select(TenantPlugin.plugin).where(TenantPlugin.enabled.is_(True))
        )
        return frozenset(rows)


def _grant_defaults(dbsession: Session, tenant_id: int, permissions: list[Permission]) -> None:
    for permission in permissions:
        for role in permission.default_roles:
            if role == "admin":
                continue
            exists = dbsession.scalar(
                sa.select(RolePermission.id).where(
                    RolePermission.role == role, RolePermission.permission == permission.name
                )
            )
            if exists is None:
                dbsession.add(
                    RolePermission(tenant_id=tenant_id, role=role, permission=permission.name)
                )


def enable_plugin(
    dbsession: Session, plugins: PluginSet, tenant: Tenant, name: str
) -> list[str]:
    """Enable ``name`` and its dependencies for ``tenant``; returns the newly enabled names.

    The first time a plugin is enabled for a tenant its permissions' default grants are
    given; later re-enabling keeps whatever an admin decided since.
    """
    if name not in plugins.manifests:
        raise PluginStateError(f"Plugin '{name}' is not installed", plugin=name)
    newly: list[str] = []
    with tenant_scope(dbsession, tenant.id):
        rows = {
            row.plugin: row for row in dbsession.scalars(sa.select(TenantPlugin))
        }
        for plugin in dependency_closure(plugins.manifests, name):
            row = rows.get(plugin)
            if row is not None and row.enabled:
                continue
            if row is None:
                dbsession.add(TenantPlugin(tenant_id=tenant.id, plugin=plugin, enabled=True))
                _grant_defaults(dbsession, tenant.id, plugins.permissions_of(plugin))
            else:
                row.enabled = True
            newly.append(plugin)
        dbsession.flush()
        if newly:
            hooks = plugins.hooks_for(enabled_plugins(dbsession, tenant.id))
            for plugin in newly:
                hooks.plugin_enabled(dbsession=dbsession, tenant=tenant, plugin=plugin)
    return newly


def disable_plugin(dbsession: Session, plugins: PluginSet, tenant: Tenant, name: str) -> None:
    """Disable ``name`` for ``tenant``; refused while an enabled plugin depends on it.

    Nothing is deleted: enabling the plugin again brings back all of its data.
    """
    with tenant_scope(dbsession, tenant.id):
        enabled = enabled_plugins(dbsession, tenant.id)
        if name not in enabled:
            return
        blocking = [p for p in dependants(plugins.manifests, name) if p in enabled]
        if blocking:
            raise PluginStateError(
                f"Plugin '{name}' is needed by {', '.join(blocking)}", plugin=name, others=blocking
            )
        row = dbsession.scalar(sa.select(TenantPlugin).where(TenantPlugin.plugin == name))
        if row is not None:
            row.enabled = False
        dbsession.flush()


def create_tenant(
    dbsession: Session,
    plugins: PluginSet,
    *,
    name: str,
    slug: str,
    hosts: list[str],
    plugin_names: list[str],
    locale: str = "et",
    timezone: str = "Europe/Tallinn",
) -> Tenant:
    """Create a tenant with its host names and enable ``plugin_names`` for it."""
    tenant = Tenant(name=name, slug=slug, locale=locale, timezone=timezone, settings={})
    tenant.hosts = [TenantHost(host=normalize_host(h)) for h in hosts]
    dbsession.add(tenant)
    dbsession.flush()
    with tenant_scope(dbsession, tenant.id):
        _grant_defaults(dbsession, tenant.id, plugins.permissions_of(CORE))
    for plugin in plugin_names:
        enable_plugin(dbsession, plugins, tenant, plugin)
    return tenant


def default_plugin_names(plugins: PluginSet, setting: list[str]) -> list[str]:
    """Expand the ``kliendihaldus.default_plugins`` setting (``builtin`` = the shipped ones)."""
    names: list[str] = []
    for item in setting:
        if item == "builtin":
            names.extend(
                n for n in plugins.order if plugins.manifests[n].module.startswith("plugins.")
            )
        elif item == "all":
            names.extend(plugins.order)
        elif item in plugins.manifests:
            names.append(item)
    return list(dict.fromkeys(names))


def tenant_tween_factory(handler: Callable[[Request], Response], registry: Any) -> Callable:
    """Tween that resolves the tenant (404 for unknown hosts) and scopes the session."""

    def tenant_tween(request: Request) -> Response:
        if request.path.startswith(TENANT_FREE_PREFIXES):
            return handler(request)
        if request.tenant is None:
            raise HTTPNotFound()
        return handler(request)

    return tenant_tween


def _request_tenant(request: Request) -> Tenant | None:
    tenant = resolve_tenant(
        request.dbsession,
        request.host,
        request.registry.settings.get("kliendihaldus.default_tenant", ""),
    )
    if tenant is not None:
        request.dbsession.info["tenant_id"] = tenant.id
    return tenant


def _request_enabled_plugins(request: Request) -> frozenset[str]:
    if request.tenant is None:
        return frozenset()
    return enabled_plugins(request.dbsession, request.tenant.id)


def _request_hooks(request: Request) -> Any:
    return request.registry["plugins"].hooks_for(request.enabled_plugins)


def plugin_enabled_deriver(view: Callable, info: Any) -> Callable:
    """View deriver: views of a plugin answer 404 when the plugin is off for the tenant."""
    plugins: PluginSet = info.registry["plugins"]
    package = getattr(info.package, "__name__", "") or ""
    owner = plugins.plugin_of_module(package)
    if owner is None:
        return view

    def plugin_gate(context: Any, request: Request) -> Any:
        if owner not in request.enabled_plugins:
            raise HTTPNotFound()
        return view(context, request)

    return plugin_gate


def includeme(config: Any) -> None:
    """Wire tenant resolution, ``request.tenant``, ``request.hooks`` and the plugin gate."""
    from pyramid.tweens import EXCVIEW
    from pyramid.viewderivers import INGRESS

    config.add_request_method(_request_tenant, "tenant", reify=True)
    config.add_request_method(_request_enabled_plugins, "enabled_plugins", reify=True)
    config.add_request_method(_request_hooks, "hooks", reify=True)
    config.add_tween("core.tenancy.tenant_tween_factory", under=EXCVIEW)
    config.add_view_deriver(plugin_enabled_deriver, under=INGRESS, over="secured_view")
