"""Who may see which clients, and loading a client for a view.

A tenant setting, "salespeople see only their own clients", limits users without the
``crm_register:client:view_all`` permission to the clients whose responsible salesperson
they are. The same rule covers those clients' contacts, activities and documents: every
query for them goes through :func:`visible_clients` or :func:`require_client`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request

from plugins.crm_register.models import Client
from plugins.crm_register.permissions import CLIENT_VIEW_ALL

MAX_ID = 2**31 - 1
"""Ids above this cannot exist (and would overflow PostgreSQL's integer)."""

OWN_CLIENTS_ONLY = "crm_register.own_clients_only"
"""Key in ``Tenant.settings``: when true, salespeople see only their own clients."""


def own_clients_only(request: Request) -> bool:
    """True when the current user is limited to the clients they are responsible for."""
    settings = request.tenant.settings or {}
    return bool(settings.get(OWN_CLIENTS_ONLY)) and not request.has_permission(CLIENT_VIEW_ALL)


def client_filter(request: Request) -> sa.ColumnElement[bool]:
    """The WHERE condition selecting the clients the user may see."""
    if own_clients_only(request):
        return Client.salesperson_id == request.user.id
    return sa.true()


def visible_clients(request: Request) -> sa.Select[tuple[Client]]:
    """``SELECT`` of the clients the current user may see."""
    return sa.select(Client).where(client_filter(request))


def visible_client_ids(request: Request) -> sa.Select[tuple[int]]:
    """Sub-select of the ids of the clients the current user may see (for joins)."""
    return sa.select(Client.id).where(client_filter(request))


def require_client(request: Request, client_id: Any = None) -> Client:
    """The client of the ``client_id`` matchdict (or argument); 404 when not visible."""
    raw = client_id if client_id is not None else request.matchdict.get("client_id", "")
    try:
        key = int(raw)
    except (TypeError, ValueError):
        raise HTTPNotFound() from None
    if not 0 < key <= MAX_ID:
        raise HTTPNotFound()
    client = request.dbsession.scalar(visible_clients(request).where(Client.id == key))
    if client is None:
        raise HTTPNotFound()
    return client
